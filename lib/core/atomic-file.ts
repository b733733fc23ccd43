/**
 * Atomic writes for files users own: temp file in the same directory, fsync,
 * rename over the target (the symlink's target, not the link), mode and owner
 * kept. Where rename cannot work (a bind-mounted file, as /etc/hosts is in
 * containers) we fall back to rewriting the file in place with its complete
 * content, which is the best the kernel allows there.
 */
import { promises as fs, constants as fsc } from 'node:fs';
import path from 'node:path';
import { isErrno, permissionError } from './errors.js';
import { escapeRegExp } from './fs.js';

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

export async function writeFileAtomic(
  file: string,
  data: string | Uint8Array,
  opts: { mode?: number } = {},
): Promise<WriteResult> {
  const target = await resolveTarget(file);
  const dir = path.dirname(target);
  let mode = opts.mode ?? 0o644;
  let owner: { uid: number; gid: number } | undefined;
  try {
    const st = await fs.stat(target);
    mode = st.mode & 0o7777;
    owner = { uid: st.uid, gid: st.gid };
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw permissionError(target, err) ?? err;
  }
  const tmp = path.join(dir, `.${path.basename(target)}.apxs-ts-${process.pid}-${Date.now().toString(36)}.tmp`);
  let handle: fs.FileHandle | undefined;
  try {
    handle = await fs.open(tmp, 'wx', mode);
    await handle.writeFile(data);
    await handle.chmod(mode); // umask must not change the mode we keep
    if (owner && process.getuid?.() === 0) await handle.chown(owner.uid, owner.gid);
    await handle.sync();
    await handle.close();
    handle = undefined;
    try {
      await fs.rename(tmp, target);
    } catch (err) {
      if (isErrno(err, 'EBUSY') || isErrno(err, 'EXDEV') || isErrno(err, 'EPERM')) {
        await fs.rm(tmp, { force: true });
        await writeInPlace(target, data);
        return { path: target, method: 'in-place' };
      }
      throw err;
    }
    await fsyncDir(dir);
    return { path: target, method: 'rename' };
  } catch (err) {
    await handle?.close().catch(() => undefined);
    await fs.rm(tmp, { force: true }).catch(() => undefined);
    throw permissionError(target, err) ?? err;
  }
}

/** Rewrite an existing file's bytes without replacing its inode. */
async function writeInPlace(target: string, data: string | Uint8Array): Promise<void> {
  const handle = await fs.open(target, 'r+');
  try {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    await handle.write(buf, 0, buf.length, 0);
    await handle.truncate(buf.length);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Reads a file, or undefined if it does not exist. */
export async function readIfExists(file: string): Promise<Buffer | undefined> {
  try {
    return await fs.readFile(file);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
}

function stamp(d = new Date()): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/**
 * Copies a file to `<dir>/<basename>.<timestamp>.bak` (dir defaults to the
 * file's) and returns that path. With `keep`, only that many of the newest
 * backups of this file stay: a hosts file edited daily should not fill /etc.
 */
export async function backupFile(file: string, dir?: string, keep?: number): Promise<string | undefined> {
  const content = await readIfExists(file);
  if (content === undefined) return undefined;
  const where = dir ?? path.dirname(file);
  await fs.mkdir(where, { recursive: true });
  // 'wx' and a retry with the next suffix: two writers backing up in the
  // same second must each get a name of their own, not EEXIST.
  const base = `${path.basename(file)}.${stamp()}`;
  let dest = path.join(where, `${base}.bak`);
  for (let i = 1; ; i++) {
    try {
      await fs.writeFile(dest, content, { flag: 'wx' });
      break;
    } catch (err) {
      if (!isErrno(err, 'EEXIST') || i > 1000) throw err;
      dest = path.join(where, `${base}-${i}.bak`);
    }
  }
  if (keep !== undefined) {
    const re = new RegExp(`^${escapeRegExp(path.basename(file))}\\.\\d{8}T\\d{6}Z(-\\d+)?\\.bak$`);
    // Timestamps sort as text; a -N suffix marks a later backup of the same second.
    const mine = (await fs.readdir(where)).filter((f) => re.test(f)).sort((a, b) => a.replace(/\.bak$/, '').localeCompare(b.replace(/\.bak$/, ''), 'en', { numeric: true }));
    for (const old of mine.slice(0, Math.max(0, mine.length - keep))) await fs.rm(path.join(where, old), { force: true });
  }
  return dest;
}
