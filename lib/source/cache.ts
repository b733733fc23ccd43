/**
 * The tarball cache: checked before the first network request (a cache that
 * cannot be written would otherwise show up as a failed download after the
 * retries), and the only place source ever deletes a file: a tarball the
 * user pointed at elsewhere is theirs, whatever the checks say.
 */
import { constants, promises as fs } from 'node:fs';
import path from 'node:path';
import { ApxsError, isErrno } from '../core/errors.js';

/**
 * The errno of a failed file operation in the cache as an error naming the path; undefined for the
 * others (network errors).
 */
export function cacheFsError(p: string, err: unknown): ApxsError | undefined {
  if (!isErrno(err)) return undefined;
  const data = { path: p, errno: err.code };
  switch (err.code) {
    case 'EACCES':
    case 'EPERM':
      return new ApxsError('PERMISSION_DENIED', `permission denied writing the cache ${p}`, {
        hint: 'pass --cache-dir a directory you can write, or fix its permissions',
        data,
        cause: err,
      });
    case 'EROFS':
      return new ApxsError('READ_ONLY', `the cache ${p} is on a read-only file system`, {
        hint: 'pass --cache-dir a directory on a writable file system',
        data,
        cause: err,
      });
    case 'ENOTDIR':
    case 'EEXIST':
      return new ApxsError(
        'BAD_INPUT',
        `the cache ${p} is not a directory: part of the path is a file`,
        {
          hint: 'pass --cache-dir a directory (it is created when missing)',
          data,
          cause: err,
        },
      );
    case 'EISDIR':
      return new ApxsError('BAD_INPUT', `${p} is a directory, where the cache keeps a file`, {
        hint: `remove ${p}, or pass another --cache-dir`,
        data,
        cause: err,
      });
    case 'ENOSPC':
    case 'EDQUOT':
      return new ApxsError('NO_SPACE', `no space left for ${p}`, {
        hint: 'free some space, or pass --cache-dir on another file system',
        data,
        cause: err,
      });
    default:
      return undefined;
  }
}

/**
 * Fails at once when `dir` cannot be the cache: a file (or a path through
 * a file) is a bad argument, an unwritable or read-only place is denied.
 * With create the directory is made; without (dry runs, and before the
 * prerequisites are known) nothing is written and the nearest existing
 * ancestor must be writable.
 */
export async function checkCacheDir(dir: string, opts: { create: boolean }): Promise<string> {
  const abs = path.resolve(dir);
  let existing = abs;
  for (;;) {
    try {
      const st = await fs.stat(existing);
      if (!st.isDirectory()) {
        throw new ApxsError(
          'BAD_INPUT',
          existing === abs
            ? `the cache ${abs} is a file, not a directory`
            : `the cache ${abs} cannot be made: ${existing} is a file`,
          {
            hint: 'pass --cache-dir a directory (it is created when missing)',
            data: { path: abs, file: existing },
          },
        );
      }
      break;
    } catch (err) {
      if (err instanceof ApxsError) throw err;
      if (!isErrno(err, 'ENOENT') && !isErrno(err, 'ENOTDIR')) throw cacheFsError(abs, err) ?? err;
      const up = path.dirname(existing);
      if (up === existing) break;
      existing = up;
    }
  }
  try {
    if (opts.create) await fs.mkdir(abs, { recursive: true });
    // access() answers EROFS for a read-only mount even to root, and EACCES to everyone else.
    await fs.access(opts.create ? abs : existing, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw cacheFsError(abs, err) ?? err;
  }
  return abs;
}

/**
 * Whether `file` lives under `dir` (symlinked directories resolved, so neither name can fool the
 * other).
 */
export async function isInside(file: string, dir: string): Promise<boolean> {
  const real = async (p: string) => fs.realpath(p).catch(() => path.resolve(p));
  const rel = path.relative(
    await real(dir),
    path.join(await real(path.dirname(file)), path.basename(file)),
  );
  return rel !== '' && rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel);
}

/** Deletes `file` if, and only if, it is in the cache; says whether it did. */
export async function removeFromCache(file: string, cacheDir: string): Promise<boolean> {
  if (!(await isInside(file, cacheDir))) return false;
  await fs.rm(file, { force: true });
  return true;
}
