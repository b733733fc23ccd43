/**
 * apxs-ts's on-disk caches, all of them: one directory ($XDG_CACHE_HOME/apxs-ts),
 * one file per entry named `NAME-HASH.json` (HASH of the key), holding
 * `{"key": KEY, "value": VALUE}`. The hash only names the file; the key
 * stored in it decides: an entry is used only when its key is the key asked
 * and its value passes the caller's check. A missing, torn, hand-edited or
 * foreign entry (one another user could have written: lib/core/trust.ts) is
 * a miss, never an error. Entries are written through writeFileAtomic (temp,
 * fsync, rename: a reader sees the old entry or the new one), and a failed
 * write (read-only, full) only costs the next run its recomputation.
 */
import { closeSync, constants as fsc, fstatSync, openSync, readSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from './atomic-file.js';
import { whyUntrusted } from './trust.js';

/**
 * The largest entry read (a libstdc++ symbol list is a few hundred KiB): a bigger file is a miss,
 * not read.
 */
const MAX_ENTRY = 16 * 1024 * 1024;

/**
 * An entry's text when it is a regular file of at most MAX_ENTRY bytes.
 * Opened without following a symlink at the name and without blocking (a
 * FIFO planted as an entry would hang a plain read; /dev/zero would never end).
 */
function readEntryText(file: string): string | undefined {
  let fd: number;
  try {
    fd = openSync(file, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK);
  } catch {
    return undefined;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.size > MAX_ENTRY) return undefined;
    // one byte more: a file that grew since the stat is no entry
    const buf = Buffer.alloc(st.size + 1);
    let n = 0;
    for (let got = 1; got > 0 && n < buf.length; n += got)
      got = readSync(fd, buf, n, buf.length - n, null);
    return n > st.size ? undefined : buf.toString('utf8', 0, n);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * apxs-ts's per-user cache: $XDG_CACHE_HOME/apxs-ts (default ~/.cache/apxs-ts).
 * A relative XDG_CACHE_HOME is ignored, as the XDG spec says: it would put the
 * cache in whatever directory a run starts in (a cloned repository's entries).
 */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg =
    env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : undefined;
  return path.join(xdg || path.join(env.HOME || os.homedir(), '.cache'), 'apxs-ts');
}

/**
 * A 16-hex-digit file name for a cache key (two 32-bit FNV-1a style hashes).
 * A collision costs nothing but a miss: the entry also holds its key.
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

/** The file of the entry `name` / `key`. */
export function cacheFile(name: string, key: string, env: NodeJS.ProcessEnv = process.env): string {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new Error(`bad cache name ${JSON.stringify(name)}`);
  return path.join(cacheDir(env), `${name}-${shortHash(key)}.json`);
}

/**
 * A file's JSON object, or undefined when it is missing, unreadable, torn, no object, or not to be
 * trusted.
 */
export function readTrustedJson(file: string): object | undefined {
  if (whyUntrusted(file)) return undefined;
  const text = readEntryText(file);
  if (text === undefined) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === 'object' && v !== null ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The value cached for `name` / `key` when `valid` accepts it, else
 * undefined. Synchronous: one small local file (and the trust rule's stats).
 */
export function readCache<T>(
  name: string,
  key: string,
  valid: (v: unknown) => v is T,
  env: NodeJS.ProcessEnv = process.env,
): T | undefined {
  const entry = readTrustedJson(cacheFile(name, key, env)) as
    | { key?: unknown; value?: unknown }
    | undefined;
  return entry?.key === key && valid(entry.value) ? entry.value : undefined;
}

/** Keeps `value` for `name` / `key`; a write that fails is no error. */
export async function writeCache(
  name: string,
  key: string,
  value: unknown,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const file = cacheFile(name, key, env);
  try {
    await mkdir(path.dirname(file), { recursive: true });
    // A directory another user controls (or planted as a link) is not written
    // into: they choose what its names are, and where they lead.
    if (whyUntrusted(path.dirname(file), env)) return;
    await writeFileAtomic(file, JSON.stringify({ key, value }), { replaceName: true });
  } catch {
    // read-only or full: recomputed next time
  }
}

/**
 * The cached value of `name` / `key`, else `compute()`'s, kept when `keep`
 * says it may be (an answer that can change soon is not).
 */
export async function cached<T>(
  name: string,
  key: string,
  valid: (v: unknown) => v is T,
  compute: () => Promise<T>,
  opts: { keep?: (v: T) => boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<T> {
  const env = opts.env ?? process.env;
  const hit = readCache(name, key, valid, env);
  if (hit !== undefined) return hit;
  const value = await compute();
  if (opts.keep?.(value) ?? true) await writeCache(name, key, value, env);
  return value;
}

/** A check for `valid`: a record of strings. */
export function isStringRecord(v: unknown): v is Record<string, string> {
  return (
    typeof v === 'object' &&
    v !== null &&
    !Array.isArray(v) &&
    Object.values(v).every((x) => typeof x === 'string')
  );
}

/**
 * A file that belongs to the entry `name` / `key` but is no JSON (a
 * precompiled header): `NAME-HASH` + `suffix` beside the entry's JSON, in a
 * cache directory made when missing. Undefined when that directory cannot
 * be made or is not to be trusted: then the caller does without the cache.
 * The entry's JSON says what the file must be (its identity); a file that
 * does not match it is a miss.
 */
export async function cacheSidecar(
  name: string,
  key: string,
  suffix: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  if (!/^[.a-z0-9-]*$/.test(suffix)) throw new Error(`bad cache suffix ${JSON.stringify(suffix)}`);
  const file = cacheFile(name, key, env).replace(/\.json$/, suffix);
  try {
    await mkdir(path.dirname(file), { recursive: true });
  } catch {
    return undefined;
  }
  return whyUntrusted(path.dirname(file), env) ? undefined : file;
}
