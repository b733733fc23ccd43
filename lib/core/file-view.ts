/**
 * How an edit reads files: `disk` reads them as they are; an
 * EditTransaction is a FileView too, and under --check (plan mode) it
 * answers from what the edit would have written so far (an in-memory
 * overlay over the disk). Every read an edit makes inside its callback goes
 * through the transaction, so that a second step sees what the first one
 * "wrote" and --check reports the same changes and diffs a real run makes.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { isErrno } from './errors.js';
import { readRegular } from './fs.js';

/** What is at a path, not following a final symlink. */
export type FsEntry =
  | { kind: 'file'; data: Buffer }
  | { kind: 'link'; target: string }
  | { kind: 'dir' }
  | { kind: 'absent' };

export type EntryKind = FsEntry['kind'];

export interface FileView {
  /**
   * The bytes of `file` (a symlink followed), or undefined when there is none (or it is a
   * directory).
   */
  read(file: string): Promise<Buffer | undefined>;
  readText(file: string): Promise<string | undefined>;
  /** What is at `file` without following a final symlink ('absent': nothing). */
  lstat(file: string): Promise<EntryKind>;
  /** A symlink's target, or undefined when `file` is not a symlink. */
  readlink(file: string): Promise<string | undefined>;
  /** Whether something is at `file`, a symlink followed (fs.stat's sense). */
  exists(file: string): Promise<boolean>;
  /** What is at `file`, symlinks followed ('absent': nothing, or a dangling link). */
  stat(file: string): Promise<EntryKind>;
  /** The names in `dir` ([] when there is no such directory). */
  readdir(dir: string): Promise<string[]>;
}

/** The entry at `file` on disk, without following a final symlink. */
export async function diskEntry(file: string): Promise<FsEntry> {
  const st = await fs.lstat(file).catch((err: unknown) => {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return undefined;
    throw err;
  });
  if (!st) return { kind: 'absent' };
  if (st.isSymbolicLink()) return { kind: 'link', target: await fs.readlink(file) };
  if (st.isDirectory()) return { kind: 'dir' };
  return { kind: 'file', data: await readRegular(file) };
}

const gone = (err: unknown) =>
  isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR') || isErrno(err, 'EISDIR');

export const disk: FileView = {
  async read(file) {
    try {
      return await readRegular(file);
    } catch (err) {
      if (gone(err)) return undefined;
      throw err;
    }
  },
  async readText(file) {
    return (await this.read(file))?.toString('utf8');
  },
  async lstat(file) {
    const st = await fs.lstat(file).catch(() => undefined);
    if (!st) return 'absent';
    return st.isSymbolicLink() ? 'link' : st.isDirectory() ? 'dir' : 'file';
  },
  async readlink(file) {
    return fs.readlink(file).catch(() => undefined);
  },
  async exists(file) {
    return fs.stat(file).then(
      () => true,
      () => false,
    );
  },
  async stat(file) {
    const st = await fs.stat(file).catch(() => undefined);
    return !st ? 'absent' : st.isDirectory() ? 'dir' : 'file';
  },
  async readdir(dir) {
    return fs.readdir(dir).catch(() => [] as string[]);
  },
};

/**
 * A FileView over the disk with `overlay` (absolute path -> entry) laid on
 * top: what a plan would have written. Symlinks are followed through both.
 */
export function overlayView(
  overlay: Map<string, FsEntry>,
  /**
   * Directories the plan makes: empty, whatever the disk holds there (a directory planned away,
   * then made again).
   */
  made: Set<string> = new Set(),
): FileView & {
  entry(file: string): Promise<FsEntry>;
  /**
   * The path a write to `file` lands on: its symlinks (planned or on disk) followed, as
   * writeFileAtomic follows them.
   */
  target(file: string): Promise<string>;
} {
  /** Whether a directory above `p` is planned away: then nothing under it is there. */
  const underGone = (p: string): boolean => {
    for (let d = path.dirname(p); d !== path.dirname(d); d = path.dirname(d))
      if (overlay.get(d)?.kind === 'absent' || made.has(d)) return true;
    return false;
  };
  const entry = async (file: string): Promise<FsEntry> =>
    overlay.get(path.resolve(file)) ??
    (underGone(path.resolve(file)) ? { kind: 'absent' } : await diskEntry(file));
  /**
   * The last path of `file`'s symlink chain and what is there (at most 16 hops, as the kernel's
   * ELOOP).
   */
  const resolve = async (file: string): Promise<{ at: string; e: FsEntry }> => {
    let p = path.resolve(file);
    for (let hops = 0; hops < 16; hops++) {
      const e = overlay.get(p);
      if (!e) {
        if (underGone(p)) return { at: p, e: { kind: 'absent' } };
        // Not planned: the disk's own answer, unless it is a link into something planned.
        const st = await fs.lstat(p).catch(() => undefined);
        if (!st?.isSymbolicLink()) return { at: p, e: await diskEntry(p) };
        p = path.resolve(path.dirname(p), await fs.readlink(p));
        continue;
      }
      if (e.kind !== 'link') return { at: p, e };
      p = path.resolve(path.dirname(p), e.target);
    }
    return { at: p, e: { kind: 'absent' } };
  };
  const follow = async (file: string) => (await resolve(file)).e;
  return {
    entry,
    async target(file) {
      return (await resolve(file)).at;
    },
    async read(file) {
      const e = await follow(file);
      return e.kind === 'file' ? e.data : undefined;
    },
    async readText(file) {
      return (await this.read(file))?.toString('utf8');
    },
    async lstat(file) {
      return (await entry(file)).kind;
    },
    async readlink(file) {
      const e = await entry(file);
      return e.kind === 'link' ? e.target : undefined;
    },
    async exists(file) {
      return (await follow(file)).kind !== 'absent';
    },
    async stat(file) {
      return (await follow(file)).kind;
    },
    async readdir(dir) {
      const abs = path.resolve(dir);
      const gone = overlay.get(abs)?.kind === 'absent' || made.has(abs) || underGone(abs);
      const names = new Set(gone ? [] : await disk.readdir(abs));
      for (const [p, e] of overlay) {
        if (path.dirname(p) !== abs) continue;
        if (e.kind === 'absent') names.delete(path.basename(p));
        else names.add(path.basename(p));
      }
      return [...names];
    },
  };
}
