/**
 * Atomic writes for files users own: temp file in the same directory, fsync,
 * rename over the target (the symlink's target, not the link), mode and owner
 * kept. Where rename cannot work (a bind-mounted file, as /etc/hosts is in
 * containers) we fall back to rewriting the file in place with its complete
 * content, which is the best the kernel allows there.
 */
import { promises as fs, constants as fsc } from 'node:fs';
import path from 'node:path';
import { ApxsError, fileError, isErrno } from './errors.js';
import { failpoint } from './failpoint.js';
import { escapeRegExp, readRegular } from './fs.js';

export interface WriteResult {
  path: string;
  /** 'rename' normally; 'in-place' when the target could not be replaced. */
  method: 'rename' | 'in-place';
}

async function resolveTarget(file: string): Promise<string> {
  try {
    return await fs.realpath(file);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) {
      // A dangling symlink still points somewhere we should write to.
      try {
        const link = await fs.readlink(file);
        return path.resolve(path.dirname(file), link);
      } catch {
        return path.resolve(file);
      }
    }
    throw err;
  }
}

async function fsyncDir(dir: string): Promise<void> {
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(dir, fsc.O_RDONLY);
    await handle.sync();
  } catch {
    // Some filesystems refuse fsync on directories; the rename is still atomic.
  } finally {
    await handle?.close();
  }
}

/**
 * The errno of a failed write as the error a user can act on, naming the
 * path (NO_SPACE, READ_ONLY, PERMISSION_DENIED); others (ENOENT for a caller
 * to handle) as they are.
 */
export function writeError(file: string, err: unknown): unknown {
  if (
    err instanceof Error &&
    ['EACCES', 'EPERM', 'ENOSPC', 'EDQUOT', 'EROFS'].includes(
      (err as NodeJS.ErrnoException).code ?? '',
    )
  )
    return fileError(file, err) ?? err;
  return err;
}

export async function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
  /**
   * durable: false (a cache whose loss costs a rebuild, never a wrong result): no fsync of the
   * file or its directory; the rename still makes the new content appear whole or not at all.
   */
  opts: { mode?: number; replaceName?: boolean; durable?: boolean } = {},
): Promise<WriteResult> {
  const durable = opts.durable ?? true;
  // replaceName (apxs-ts's own files, the cache): the name itself is replaced, a
  // symlink there included, never its target; the new file is the writer's.
  const target = opts.replaceName ? path.resolve(file) : await resolveTarget(file);
  const dir = path.dirname(target);
  let mode = opts.mode ?? 0o644;
  let owner: { uid: number; gid: number } | undefined;
  try {
    if (opts.replaceName) throw Object.assign(new Error('not kept'), { code: 'ENOENT' });
    const st = await fs.stat(target);
    mode = st.mode & 0o7777;
    owner = { uid: st.uid, gid: st.gid };
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw writeError(target, err);
  }
  const tmp = path.join(
    dir,
    `.${path.basename(target)}.apxs-ts-${process.pid}-${Date.now().toString(36)}.tmp`,
  );
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(tmp, 'wx', mode);
    // In two halves, so a kill test can land mid-write (a torn temp file).
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    await handle.writeFile(buf.subarray(0, buf.length >> 1));
    failpoint('atomic:mid-write');
    await handle.writeFile(buf.subarray(buf.length >> 1));
    await handle.chmod(mode); // umask must not change the mode we keep
    if (owner && process.getuid?.() === 0) await handle.chown(owner.uid, owner.gid);
    if (durable) await handle.sync();
    await handle.close();
    handle = undefined;
    failpoint('atomic:before-rename');
    try {
      await fs.rename(tmp, target);
    } catch (err) {
      // Not for replaceName: writing in place would go through a symlink at the name.
      if (
        !opts.replaceName &&
        (isErrno(err, 'EBUSY') || isErrno(err, 'EXDEV') || isErrno(err, 'EPERM'))
      ) {
        await fs.rm(tmp, { force: true });
        await writeInPlace(target, data);
        return { path: target, method: 'in-place' };
      }
      throw err;
    }
    if (durable) await fsyncDir(dir);
    return { path: target, method: 'rename' };
  } catch (err) {
    await handle?.close().catch(() => undefined);
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw writeError(target, err);
  }
}

/**
 * Rewrites an existing file's bytes without replacing its inode (a bind mount, or a file a rename
 * would make ours).
 */
export async function writeInPlace(target: string, data: string | Uint8Array): Promise<void> {
  const handle = await fs.open(target, 'r+');
  try {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    // One write, so a kill leaves the old bytes or the new ones (not one half of each) as far as
    // the kernel allows. Under a test's failpoint, two halves: the test stops it between them,
    // which is what a reader can see while the kernel copies the one write in.
    const half = process.env.APXS_TS_FAILPOINT ? buf.length >> 1 : buf.length;
    await handle.write(buf, 0, half, 0);
    failpoint('atomic:in-place-mid-write');
    if (half < buf.length) await handle.write(buf, half, buf.length - half, half);
    await handle.truncate(buf.length);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Reads a file, or undefined if it does not exist. */
export async function readIfExists(file: string): Promise<Buffer | undefined> {
  try {
    return await readRegular(file);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
}

function stamp(d = new Date()): string {
  return d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

interface Owner {
  mode: number;
  uid: number;
  gid: number;
}

/**
 * Writes a complete, verified copy of `content` at `dest`, which must not
 * exist (EEXIST otherwise): a temp file with the original's mode and owner,
 * fsynced, read back and compared, then hard-linked into place. A copy that
 * did not verify, or a full disk, leaves nothing behind (never a 0-byte
 * backup); errors name the path.
 */
async function writeVerifiedCopy(content: Buffer, dest: string, owner: Owner): Promise<void> {
  const tmp = `${dest}.tmp`;
  let handle: fs.FileHandle | undefined;
  try {
    await fs.rm(tmp, { force: true }); // left by a copy killed half way
    handle = await fs.open(tmp, 'wx', owner.mode);
    await handle.writeFile(content);
    await handle.chmod(owner.mode); // umask must not widen a 0600 original's copy
    if (process.getuid?.() === 0) await handle.chown(owner.uid, owner.gid);
    await handle.sync();
    await handle.close();
    handle = undefined;
    if (!(await fs.readFile(tmp)).equals(content))
      throw new Error(`${dest}: the copy read back differs from the original`);
    failpoint('copy:before-link');
    await fs.link(tmp, dest);
  } catch (err) {
    await handle?.close().catch(() => undefined);
    throw isErrno(err, 'EEXIST') ? err : writeError(dest, err);
  } finally {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
  }
  await fsyncDir(path.dirname(dest));
}

async function ownerOf(file: string): Promise<Owner> {
  const st = await fs.stat(file);
  return { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
}

/** Makes `dir` (0700: backups can hold what only root may read) and tightens it if it is there. */
async function privateDir(dir: string): Promise<void> {
  try {
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw writeError(dir, err);
  }
  await notALink(dir);
  try {
    await fs.chmod(dir, 0o700);
  } catch (err) {
    throw writeError(dir, err);
  }
}

/**
 * Refuses a directory of apxs-ts's own (the state dir, its backups) that is a
 * symlink: whoever can write the server root could point it at /etc, and the
 * next run (root's) would chmod that 0700 and write its journal, lock and
 * copies of configs there.
 */
export async function notALink(dir: string): Promise<void> {
  const st = await fs.lstat(dir).catch((err: unknown) => {
    throw writeError(dir, err);
  });
  if (st.isDirectory()) return;
  throw new ApxsError(
    'UNSAFE_CONFIG',
    `${dir} is ${st.isSymbolicLink() ? 'a symlink' : 'not a directory'}: ` +
      'apxs-ts keeps its journal, lock and backups only in a directory of its own',
    {
      hint:
        'look at it, then move it away (apxs-ts makes ' +
        `${path.basename(dir)} again); nothing was changed`,
      data: { path: dir },
    },
  );
}

/**
 * Removes the temp files of backups of `name` that a writer killed half way
 * left (`NAME.<stamp>.bak.tmp`): the caller holds the lock that serializes
 * backups of that file, so no live writer owns one. Only regular files of
 * this process's user go, so a name planted by another user is left alone.
 */
async function removeDeadCopyTemps(dir: string, name: string): Promise<void> {
  const re = new RegExp(`^${escapeRegExp(name)}\\.\\d{8}T\\d{6}Z(-\\d+)?\\.bak\\.tmp$`);
  const uid = process.getuid?.();
  for (const f of await fs.readdir(dir).catch(() => [] as string[])) {
    if (!re.test(f)) continue;
    const st = await fs.lstat(path.join(dir, f)).catch(() => undefined);
    if (st?.isFile() && st.uid === uid)
      await fs.rm(path.join(dir, f), { force: true }).catch(() => undefined);
  }
}

/**
 * Copies a file to `<dir>/<basename>.<timestamp>.bak` (dir defaults to the
 * file's; a given dir is made 0700) and returns that path. The copy keeps
 * the original's mode and owner and is verified before this returns. With
 * `keep`, only that many of the newest backups of this file stay: a hosts
 * file edited daily should not fill /etc. Callers hold the lock that
 * serializes edits of `file`.
 */
export async function backupFile(
  file: string,
  dir?: string,
  keep?: number,
): Promise<string | undefined> {
  const content = await readIfExists(file);
  if (content === undefined) return undefined;
  const owner = await ownerOf(file);
  const where = dir ?? path.dirname(file);
  if (dir) await privateDir(dir);
  await removeDeadCopyTemps(where, path.basename(file));
  // A unique name per writer: two writers backing up in the same second each get their own.
  const base = `${path.basename(file)}.${stamp()}`;
  let dest = path.join(where, `${base}.bak`);
  for (let i = 1; ; i++) {
    try {
      await writeVerifiedCopy(content, dest, owner);
      break;
    } catch (err) {
      if (!isErrno(err, 'EEXIST') || i > 1000) throw err;
      dest = path.join(where, `${base}-${i}.bak`);
    }
  }
  if (keep !== undefined) {
    const re = new RegExp(`^${escapeRegExp(path.basename(file))}\\.\\d{8}T\\d{6}Z(-\\d+)?\\.bak$`);
    // Timestamps sort as text; a -N suffix marks a later backup of the same second.
    // Only backups like the one just written (a regular file of its owner): in a shared
    // sticky dir another user could plant future-dated names that would push ours out
    // and have apxs-ts delete files it did not create (#16 attack).
    const made = await fs.lstat(dest);
    const ours = async (f: string) => {
      const st = await fs.lstat(path.join(where, f)).catch(() => undefined);
      return !!st && st.isFile() && st.uid === made.uid;
    };
    const named = (await fs.readdir(where)).filter((f) => re.test(f));
    const flags = await Promise.all(named.map(ours));
    const mine = named
      .filter((_, i) => flags[i])
      .sort((a, b) =>
        a.replace(/\.bak$/, '').localeCompare(b.replace(/\.bak$/, ''), 'en', { numeric: true }),
      );
    for (const old of mine.slice(0, Math.max(0, mine.length - keep)))
      await fs.rm(path.join(where, old), { force: true });
  }
  return dest;
}

/**
 * The path of the copy `undoCopy` makes of `file`: beside its real target
 * (same file system, so putting it back is a rename that needs no free space).
 */
export async function undoCopyPath(file: string, id: string): Promise<string> {
  const target = await resolveTarget(file);
  return path.join(path.dirname(target), `.${path.basename(target)}.apxs-ts-undo-${id}`);
}

/** The name undoCopyPath gives (id: pid-hex8-step), with the copied file's name in group 1. */
const UNDO_COPY_NAME = /^\.(.+)\.apxs-ts-undo-\d+-[0-9a-f]{8}-\d+$/;

/**
 * Whether `copy` is a path undoCopyPath could have given for `file`: an undo
 * copy's name, in the directory of `file` or of its real target. A journal
 * naming any other file as a copy (a hand-edited or hostile one: /etc/shadow
 * renamed over a config) is not followed.
 */
export async function isUndoCopyOf(copy: string, file: string): Promise<boolean> {
  const m = UNDO_COPY_NAME.exec(path.basename(copy));
  if (!m || !path.isAbsolute(copy) || path.normalize(copy) !== copy) return false;
  const original = path.join(path.dirname(copy), m[1]!);
  const realDir = await fs.realpath(path.dirname(file)).catch(() => undefined);
  const candidates = [
    file,
    await resolveTarget(file).catch(() => file),
    realDir && path.join(realDir, path.basename(file)),
  ];
  return candidates.includes(original);
}

/**
 * Writes the verified copy of `file` (of `content`, when the caller read it) at `copy` (from
 * undoCopyPath), mode and owner kept.
 */
export async function undoCopy(file: string, copy: string, content?: Buffer): Promise<void> {
  const target = await resolveTarget(file);
  await writeVerifiedCopy(content ?? (await fs.readFile(target)), copy, await ownerOf(target));
}

/**
 * Puts a copy made by undoCopy back in place of `file` by rename: no free
 * space needed. A file that cannot be replaced (a bind mount) is rewritten
 * in place from the copy. A copy already gone was already put back.
 */
export async function restoreCopy(copy: string, file: string): Promise<boolean> {
  const content = await readIfExists(copy);
  if (content === undefined) return false;
  const target = await resolveTarget(file);
  try {
    await fs.rename(copy, target);
  } catch (err) {
    if (!(isErrno(err, 'EBUSY') || isErrno(err, 'EXDEV') || isErrno(err, 'EPERM')))
      throw writeError(target, err);
    await writeInPlace(target, content);
    await fs.rm(copy, { force: true });
  }
  await fsyncDir(path.dirname(target));
  return true;
}

/**
 * Moves a copy made by undoCopy into `dir` (0700) as the file's timestamped
 * backup; returns its path. A hard link, so it needs no space, unless `dir`
 * is on another file system (then a verified copy, which may not fit).
 */
export async function keepCopyAsBackup(copy: string, file: string, dir: string): Promise<string> {
  await privateDir(dir);
  const base = `${path.basename(file)}.${stamp()}`;
  let crossDevice = false;
  for (let i = 0; i <= 1000; i++) {
    const dest = path.join(dir, i === 0 ? `${base}.bak` : `${base}-${i}.bak`);
    try {
      if (crossDevice) await writeVerifiedCopy(await fs.readFile(copy), dest, await ownerOf(copy));
      else await fs.link(copy, dest); // link, not rename: never over another writer's backup
      await fs.rm(copy, { force: true });
      return dest;
    } catch (err) {
      if (isErrno(err, 'EXDEV') && !crossDevice) {
        crossDevice = true;
        i--;
        continue;
      }
      if (!isErrno(err, 'EEXIST')) throw writeError(dest, err);
    }
  }
  throw new Error(`${dir}: no free backup name for ${file}`);
}
