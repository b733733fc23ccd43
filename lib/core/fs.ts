/**
 * Small file-system and environment helpers, one of each: every other module
 * imports these rather than writing its own.
 */
import { access, open, readFile, stat } from 'node:fs/promises';
import { constants, readdirSync, readFileSync, statSync, type Stats } from 'node:fs';
import path from 'node:path';
import { ApxsError, isErrno, type ErrorCode } from './errors.js';

/**
 * A file's bytes, refusing what is not a regular file: a FIFO planted where
 * a config or the hosts file is expected would block the read forever (no
 * writer), a device such as /dev/zero would never end. Opened non-blocking
 * (a FIFO's open returns at once) and checked on the open descriptor, so a
 * swap between a check and the read changes nothing. A directory throws
 * EISDIR and a missing file ENOENT, as fs.readFile does.
 */
export async function readRegular(file: string): Promise<Buffer> {
  const h = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const st = await h.stat();
    if (st.isDirectory())
      throw Object.assign(new Error(`EISDIR: illegal operation on a directory, read '${file}'`), {
        code: 'EISDIR',
        path: file,
      });
    if (!st.isFile())
      throw new ApxsError('BAD_INPUT', `${file} is not a regular file (a FIFO, socket or device)`, {
        hint: 'apxs-ts reads only regular files there: put the file itself back (or remove it)',
        data: { path: file },
      });
    return await h.readFile();
  } finally {
    await h.close();
  }
}

// The async helpers here use fs.promises; the sync ones (statOrUndefined,
// readTextIfAny, readDirIfAny) are for /proc and a few small local files
// read where no await is possible or wanted, and return values, not Promises.
export async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}

/** A path's stat, or undefined when it cannot be had (missing, ENOTDIR, EACCES, ELOOP, ...). */
export async function statIfAny(p: string): Promise<Stats | undefined> {
  return stat(p).catch(() => undefined);
}

/** statIfAny, synchronously. */
export function statOrUndefined(p: string): Stats | undefined {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}

/**
 * A small local file's text (a /proc file, a pid file, a cache), or undefined when it cannot be
 * read.
 */
export function readTextIfAny(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** A directory's entries, or none when it cannot be read (a process gone from /proc). */
export function readDirIfAny(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

/** The first of `paths` that exists. */
export async function firstExisting(paths: string[]): Promise<string | undefined> {
  for (const p of paths) if (await exists(p)) return p;
  return undefined;
}

/**
 * A JSON file's content, or undefined when there is no such file; bad JSON is an error naming the
 * file.
 */
export async function readJson<T>(
  file: string,
  code: ErrorCode = 'BAD_INPUT',
  view?: { readText(file: string): Promise<string | undefined> },
): Promise<T | undefined> {
  let text: string;
  try {
    // `view`: an edit's transaction, whose reads see what it wrote (lib/core/file-view.ts).
    const t = view ? await view.readText(file) : await readFile(file, 'utf8');
    if (t === undefined) return undefined;
    text = t;
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new ApxsError(code, `${file} is not valid JSON: ${(err as Error).message}`, {
      hint: `fix or remove ${file}`,
    });
  }
}

/** Where `names` would be found on $PATH, in PATH order (absolute names stand for themselves). */
export function pathCandidates(names: string[], env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs = (env.PATH ?? '').split(':').filter(Boolean);
  return names.flatMap((n) => (path.isAbsolute(n) ? [n] : dirs.map((d) => path.join(d, n))));
}

/** The first of `names` found on $PATH, as an absolute path. */
export async function which(
  names: string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  return firstExisting(pathCandidates(names, env));
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The first of `candidates` that names a group in /etc/group (or `fallback`). */
export async function firstGroup(
  candidates: string[],
  fallback: string,
  groupFile = '/etc/group',
): Promise<string> {
  const text = await readFile(groupFile, 'utf8').catch(() => ''); // no group file: the fallback
  const names = new Set(text.split('\n').map((l) => l.split(':')[0]));
  return candidates.find((g) => names.has(g)) ?? fallback;
}
