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
import { failpoint } from '../core/failpoint.js';
import { readJson } from '../core/fs.js';
import type { ServerRoot } from '../httpd/server-root.js';

interface SavedPath {
  path: string;
  /** absent: nothing was there; file: its bytes are in `blob`; link: a symlink to `target`. */
  kind: 'absent' | 'file' | 'link';
  mode?: number;
  blob?: string;
  target?: string;
}

interface Saved {
  module: string;
  paths: SavedPath[];
}

const dir = (sr: ServerRoot) => path.join(sr.stateDir, 'replaced');
const recordFile = (sr: ServerRoot, module: string) => path.join(dir(sr), `${module}.json`);

export async function hasSaved(sr: ServerRoot, module: string): Promise<boolean> {
  return !!(await readJson<Saved>(recordFile(sr, module)));
}

/** Saves what is at `paths` now, unless a save for `module` is already kept. Returns the paths that held something. */
export async function saveReplaced(tx: EditTransaction, sr: ServerRoot, module: string, paths: string[]): Promise<string[]> {
  if (await hasSaved(sr, module)) return [];
  await tx.mkdir(dir(sr), 0o700);
  const saved: SavedPath[] = [];
  for (const [i, p] of paths.entries()) {
    const st = await fs.lstat(p).catch(() => undefined);
    if (!st) saved.push({ path: p, kind: 'absent' });
    else if (st.isSymbolicLink()) saved.push({ path: p, kind: 'link', target: await fs.readlink(p) });
    else {
      const blob = path.join(dir(sr), `${module}.${i}.bin`);
      await tx.write(blob, await fs.readFile(p), 0o600);
      saved.push({ path: p, kind: 'file', mode: st.mode & 0o7777, blob });
    }
  }
  await tx.write(recordFile(sr, module), JSON.stringify({ module, paths: saved } satisfies Saved, null, 2) + '\n', 0o600);
  return saved.filter((s) => s.kind !== 'absent').map((s) => s.path);
}

/** Puts every saved path back as it was and drops the save. Returns the paths restored to something. */
export async function restoreReplaced(tx: EditTransaction, sr: ServerRoot, module: string): Promise<string[]> {
  const saved = await readJson<Saved>(recordFile(sr, module));
  if (!saved) return [];
  const restored: string[] = [];
  for (const s of saved.paths) {
    if (s.kind === 'absent') {
      await tx.remove(s.path);
    } else if (s.kind === 'link') {
      await tx.mkdir(path.dirname(s.path));
      await tx.symlink(s.target!, s.path);
      restored.push(s.path);
    } else {
      await tx.mkdir(path.dirname(s.path));
      await tx.write(s.path, await fs.readFile(s.blob!), s.mode);
      if (s.mode !== undefined) await fs.chmod(s.path, s.mode);
      restored.push(s.path);
      failpoint('uninstall:after-restore-one');
    }
  }
  // The record before its blobs: killed in between, what is left is unreferenced bytes in the state dir, never a
  // record whose saved bytes are gone. Killed before, the record is whole and the next uninstall restores again.
  await tx.remove(recordFile(sr, module));
  for (const s of saved.paths) if (s.blob) await tx.remove(s.blob);
  return restored;
}
