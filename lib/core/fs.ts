/**
 * Small file-system and environment helpers, one of each: every other module
 * imports these rather than writing its own.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApxsError, isErrno, type ErrorCode } from './errors.js';

export async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
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
    text = await fs.readFile(file, 'utf8');
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
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'apxs-ts');
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

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The first of `candidates` that names a group in /etc/group (or `fallback`). */
export async function firstGroup(candidates: string[], fallback: string, groupFile = '/etc/group'): Promise<string> {
  const names = new Set((await fs.readFile(groupFile, 'utf8').catch(() => '')).split('\n').map((l) => l.split(':')[0]));
  return candidates.find((g) => names.has(g)) ?? fallback;
}
