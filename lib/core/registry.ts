/**
 * A small per-user list apxs-ts keeps in its cache dir (the sandboxes it
 * made, the source prefixes it built outside the default place): read
 * whole, changed under a lock (two `sandbox create` at once must not lose
 * one), written atomically (a kill mid-write leaves the old list or the new
 * one, never half of one).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from './atomic-file.js';
import { fileError } from './errors.js';
import { readJson } from './fs.js';
import { assertTrusted } from './trust.js';
import { withLock } from './lock.js';

interface RegistryFile<T> {
  entries: T[];
}

/**
 * The entries; none when the file is not there yet. A file that is not JSON is an error naming it.
 */
export async function readRegistry<T>(file: string): Promise<T[]> {
  // Its entries name directories apxs-ts stops servers in and deletes: only the user's (or root's)
  // own list (#16).
  assertTrusted(file, "apxs-ts's list");
  const data = await readJson<RegistryFile<T>>(file);
  return Array.isArray(data?.entries) ? data.entries : [];
}

/**
 * Replaces the entries by what `change` makes of them, under the registry's lock; the file is
 * written only when they differ.
 */
export async function updateRegistry<T>(file: string, change: (entries: T[]) => T[]): Promise<T[]> {
  try {
    await fs.mkdir(path.dirname(file), { recursive: true });
  } catch (err) {
    throw fileError(path.dirname(file), err) ?? err;
  }
  return withLock(`${file}.lock`, async () => {
    const before = await readRegistry<T>(file);
    const after = change(before);
    if (JSON.stringify(after) !== JSON.stringify(before)) {
      await writeFileAtomic(
        file,
        JSON.stringify({ entries: after } satisfies RegistryFile<T>, null, 2) + '\n',
      );
    }
    return after;
  });
}
