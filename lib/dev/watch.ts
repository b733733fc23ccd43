/**
 * Watching a module directory for saves: fs.watch on the directory and its
 * visible subdirectories (not the files: an editor that saves by writing a
 * new file and renaming it over the old one would leave a file watch on the
 * deleted inode), only names a build reads, and debounced, because one save
 * is several events (vim: write, rename, chmod; a formatter: a second write).
 */
import { watch, promises as fs, type FSWatcher } from 'node:fs';
import path from 'node:path';

/**
 * Sources, headers and the manifest; not the .so, the build's own files or editors' swap and backup
 * files.
 */
const WATCHED = /\.(c|cc|cpp|cxx|C|h|hh|hpp|hxx|inc|def)$|^apxs-ts-module\.json$/;

export function isWatchedName(name: string): boolean {
  return !name.startsWith('.') && !name.endsWith('~') && WATCHED.test(name);
}

export interface SaveWatcher {
  close(): void;
}

/**
 * Calls `onSave(files)` once `debounceMs` have passed without another event,
 * with the names that changed in that time (relative to `dir`).
 */
export async function watchSaves(
  dir: string,
  debounceMs: number,
  onSave: (files: string[]) => void,
): Promise<SaveWatcher> {
  const subdirs = (await fs.readdir(dir, { withFileTypes: true }))
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name);
  const pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  const watchers: FSWatcher[] = [];
  for (const rel of ['', ...subdirs]) {
    const w = watch(path.join(dir, rel), { persistent: true }, (_event, name) => {
      if (!name || !isWatchedName(path.basename(name.toString()))) return;
      pending.add(path.join(rel, name.toString()));
      clearTimeout(timer);
      timer = setTimeout(() => {
        const files = [...pending].sort();
        pending.clear();
        onSave(files);
      }, debounceMs);
    });
    // A subdirectory removed under us ends its watch, not the loop.
    w.on('error', () => w.close());
    watchers.push(w);
  }
  return {
    close() {
      clearTimeout(timer);
      for (const w of watchers) w.close();
    },
  };
}
