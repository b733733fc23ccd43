/**
 * What `install --force` replaced, kept to be put back: a module of the
 * same name apxs-ts did not install (Debian's mod_info.so with its
 * mods-available/info.load and info.conf, their mods-enabled links and
 * a2enmod's markers) is saved byte for byte (mode, link target, or "was not
 * there") in the root's state dir before the first forced install writes
 * over it, and `uninstall` writes it all back instead of deleting it. A
 * reinstall over apxs-ts's own module keeps the first save. Everything goes
 * through the edit transaction, so a rolled-back install leaves no save and
 * a rolled-back uninstall leaves the save in place.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { EditTransaction } from '../core/edit-transaction.js';
import { ApxsError } from '../core/errors.js';
import { failpoint } from '../core/failpoint.js';
import { disk, type FileView } from '../core/file-view.js';
import { readJson } from '../core/fs.js';
import { isMarkerPath } from '../httpd/debian-state.js';
import type { ServerRoot } from '../httpd/server-root.js';
import { sha256 } from '../core/sha256.js';

interface SavedPath {
  path: string;
  /** absent: nothing was there; file: its bytes are in `blob`; link: a symlink to `target`. */
  kind: 'absent' | 'file' | 'link';
  mode?: number;
  blob?: string;
  /** sha256 of the blob's bytes as saved: checked before they are written back. */
  sha256?: string;
  target?: string;
}

interface Saved {
  module: string;
  paths: SavedPath[];
}

const dir = (sr: ServerRoot) => path.join(sr.stateDir, 'replaced');
const recordFile = (sr: ServerRoot, module: string) => path.join(dir(sr), `${module}.json`);
const blobFile = (sr: ServerRoot, module: string, i: number) =>
  path.join(dir(sr), `${module}.${i}.bin`);

export async function hasSaved(
  sr: ServerRoot,
  module: string,
  view: FileView = disk,
): Promise<boolean> {
  return !!(await readJson<Saved>(recordFile(sr, module), 'BAD_INPUT', view));
}

/**
 * Saves what is at `paths` now, unless a save for `module` is already kept. Returns the paths that
 * held something.
 */
export async function saveReplaced(
  tx: EditTransaction,
  sr: ServerRoot,
  module: string,
  paths: string[],
): Promise<string[]> {
  if (await hasSaved(sr, module, tx)) return [];
  await tx.mkdir(dir(sr), 0o700);
  const saved: SavedPath[] = [];
  for (const [i, p] of paths.entries()) {
    const kind = await tx.lstat(p);
    if (kind === 'absent') saved.push({ path: p, kind: 'absent' });
    else if (kind === 'link')
      saved.push({ path: p, kind: 'link', target: (await tx.readlink(p))! });
    else {
      const blob = blobFile(sr, module, i);
      const bytes = (await tx.read(p)) ?? (await fs.readFile(p));
      // The mode as on disk (a plan's overlay keeps no modes; nothing replaced is written by this
      // edit before it is saved).
      const mode = await fs.stat(p).then(
        (st) => st.mode & 0o7777,
        () => undefined,
      );
      await tx.write(blob, bytes, 0o600);
      saved.push({ path: p, kind: 'file', mode, blob, sha256: sha256(bytes) });
    }
  }
  await tx.write(
    recordFile(sr, module),
    JSON.stringify({ module, paths: saved } satisfies Saved, null, 2) + '\n',
    0o600,
  );
  return saved.filter((s) => s.kind !== 'absent').map((s) => s.path);
}

/**
 * Puts every saved path back as it was (but those in `keep`) and drops the save. Returns the paths
 * restored to something. `expected` is what saveReplaced is given for `module` (its .so and
 * moduleFiles): root writes these bytes into the system's module dir, so a save that names any
 * other path, a blob outside its own name, or bytes that are not the ones saved (swapped,
 * truncated) is refused and nothing is written.
 */
export async function restoreReplaced(
  tx: EditTransaction,
  sr: ServerRoot,
  module: string,
  expected: string[],
  keep: string[] = [],
): Promise<string[]> {
  const saved = await readJson<Saved>(recordFile(sr, module), 'BAD_INPUT', tx);
  if (!saved) return [];
  const blobs = new Map<string, Buffer>();
  for (const [i, s] of (Array.isArray(saved.paths) ? saved.paths : []).entries()) {
    const bad = (why: string) =>
      new ApxsError(
        'UNSAFE_CONFIG',
        `the save of what install --force replaced for ${module} ` +
          `is not as apxs-ts wrote it: ${why}; nothing restored`,
        {
          hint:
            `check ${dir(sr)}; to uninstall without putting anything back, ` +
            `move ${recordFile(sr, module)} away (then reinstall the package's ` +
            'files yourself, e.g. apt-get install --reinstall)',
          data: { record: recordFile(sr, module), path: s?.path },
        },
      );
    if (saved.module !== module) throw bad(`it is for ${String(saved.module)}`);
    if (!s || typeof s.path !== 'string') throw bad('a path is missing');
    // a2enmod's markers in another state dir (the install ran with another APACHE_STATE_DIRECTORY):
    // only empty marker files, or their absence, go back there.
    const marker = !expected.includes(s.path) && isMarkerPath(s.path, 'module', module);
    if (!expected.includes(s.path) && !marker)
      throw bad(`it names ${s.path}, not one of the module's files`);
    if (s.kind === 'link' && (marker || typeof s.target !== 'string'))
      throw bad(`no link expected at ${s.path}`);
    if (s.kind !== 'file') continue;
    if (s.blob !== blobFile(sr, module, i))
      throw bad(`the bytes of ${s.path} are said to be in ${String(s.blob)}`);
    const bytes = await tx.read(s.blob).catch(() => undefined);
    if (!bytes || sha256(bytes) !== s.sha256)
      throw bad(`${s.blob} (for ${s.path}) is ${bytes ? 'not the bytes saved' : 'missing'}`);
    if (marker && bytes.length > 0) throw bad(`the marker ${s.path} is not empty`);
    blobs.set(s.path, bytes);
  }
  const restored: string[] = [];
  for (const s of saved.paths) {
    // `keep`: a path someone else wrote since (a package upgrade's .so): theirs, newer than the
    // saved bytes.
    if (keep.includes(s.path)) continue;
    if (s.kind === 'absent') {
      await tx.remove(s.path);
    } else if (s.kind === 'link') {
      await tx.mkdir(path.dirname(s.path));
      await tx.symlink(s.target!, s.path);
      restored.push(s.path);
    } else {
      await tx.mkdir(path.dirname(s.path));
      await tx.write(s.path, blobs.get(s.path)!, s.mode);
      if (s.mode !== undefined) await tx.chmod(s.path, s.mode);
      restored.push(s.path);
      failpoint('uninstall:after-restore-one');
    }
  }
  // The record before its blobs: killed in between, what is left is unreferenced bytes in the state
  // dir, never a record whose saved bytes are gone. Killed before, the record is whole and the next
  // uninstall restores again.
  await tx.remove(recordFile(sr, module));
  for (const s of saved.paths) if (s.blob) await tx.remove(s.blob);
  return restored;
}
