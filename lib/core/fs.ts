/**
 * Small file-system and environment helpers, one of each: every other module
 * imports these rather than writing its own.
 */
import { access, readFile, stat } from 'node:fs/promises';
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, writeSync, type Stats } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApxsError, isErrno, type ErrorCode } from './errors.js';
import { whyUntrusted } from './trust.js';
import { failpoint } from './failpoint.js';

// The async helpers here use fs.promises; the sync ones (statOrUndefined,
// readTextIfAny, readDirIfAny) are for /proc and a few small local files
// read where no await is possible or wanted, and return values, not Promises.
export async function exists(p: string): Promise<boolean> {
  return access(p).then(() => true, () => false);
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

/** A small local file's text (a /proc file, a pid file, a cache), or undefined when it cannot be read. */
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

/** A cache file's JSON object, or undefined when it is missing, unreadable, torn or no object: a cache is recomputed, never an error. */
export function readCacheJson<T extends object>(file: string): T | undefined {
  // One another user could have written (a compiler name, an address) is no cache of ours: recomputed (#16).
  if (whyUntrusted(file)) return undefined;
  const text = readTextIfAny(file);
  if (text === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null ? (v as T) : undefined;
  } catch {
    return undefined;
  }
}

/** Writes buf[from, to) to fd, however many write(2) calls that takes. */
function writeAll(fd: number, buf: Buffer, from: number, to: number): void {
  while (from < to) from += writeSync(fd, buf, from, to - from);
}

/**
 * Writes a cache file: a temp file renamed into place (readers see the old
 * or the new one), not fsynced. A cache, not a record: a failed write only
 * costs the next run its recomputation.
 */
export function writeCacheFile(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    const buf = Buffer.from(text);
    const fd = openSync(tmp, 'w');
    try {
      // In two halves, so a kill test can land mid-write (a torn temp file).
      const half = buf.length >> 1;
      writeAll(fd, buf, 0, half);
      failpoint('cache:mid-write');
      writeAll(fd, buf, half, buf.length);
    } finally {
      closeSync(fd);
    }
    failpoint('cache:before-rename');
    renameSync(tmp, file);
  } catch { /* read-only or full: recomputed next time */ }
}

/** The first of `paths` that exists. */
export async function firstExisting(paths: string[]): Promise<string | undefined> {
  for (const p of paths) if (await exists(p)) return p;
  return undefined;
}

/** A JSON file's content, or undefined when there is no such file; bad JSON is an error naming the file. */
export async function readJson<T>(file: string, code: ErrorCode = 'BAD_INPUT'): Promise<T | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new ApxsError(code, `${file} is not valid JSON: ${(err as Error).message}`, { hint: `fix or remove ${file}` });
  }
}

/** apxs-ts's per-user cache: $XDG_CACHE_HOME/apxs-ts (default ~/.cache/apxs-ts). */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.XDG_CACHE_HOME || path.join(env.HOME || os.homedir(), '.cache'), 'apxs-ts');
}

/** Where `names` would be found on $PATH, in PATH order (absolute names stand for themselves). */
export function pathCandidates(names: string[], env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs = (env.PATH ?? '').split(':').filter(Boolean);
  return names.flatMap((n) => (path.isAbsolute(n) ? [n] : dirs.map((d) => path.join(d, n))));
}

/** The first of `names` found on $PATH, as an absolute path. */
export async function which(names: string[], env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  return firstExisting(pathCandidates(names, env));
}

/**
 * A 16-hex-digit name for a cache key (two 32-bit FNV-1a style hashes). Not
 * node:crypto, whose load cost ~2 ms of every ctl status and no-op build: a
 * cache file also holds its key, which the reader compares.
 */
export function shortHash(key: string): string {
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15);
  }
  return (a >>> 0).toString(16).padStart(8, '0') + (b >>> 0).toString(16).padStart(8, '0');
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The first of `candidates` that names a group in /etc/group (or `fallback`). */
export async function firstGroup(candidates: string[], fallback: string, groupFile = '/etc/group'): Promise<string> {
  const text = await readFile(groupFile, 'utf8').catch(() => ''); // no group file: the fallback
  const names = new Set(text.split('\n').map((l) => l.split(':')[0]));
  return candidates.find((g) => names.has(g)) ?? fallback;
}
