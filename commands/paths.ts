/**
 * The one rule for a path the user names: when it does not exist, that is
 * bad input (BAD_PATH, exit 2), whichever command and option took it. lib/
 * cannot tell a path the user typed from one it found or computed, so it
 * throws NOT_FOUND (or NO_SERVER_ROOT for a server root) naming the path;
 * commands/index.ts asks `asBadPath` whether that path is one the command
 * line named, and is missing, and re-codes the error then. Something that
 * vanishes while apxs-ts runs inside a path that exists (a module's .so, a
 * log) stays NOT_FOUND, exit 1. A command that reports a missing path as
 * part of a larger answer (doctor) checks the named path with
 * `namedPathMustExist` first, for the same error.
 */
import { lstatSync } from 'node:fs';
import path from 'node:path';
import { ApxsError } from '../lib/core/errors.js';

/** Errors that say a path is not there. */
const MISSING = new Set(['NOT_FOUND', 'NO_SERVER_ROOT', 'UNKNOWN_SERVER_ROOT']);

const missing = (p: string) => {
  try {
    lstatSync(p);
    return false;
  } catch {
    return true;
  }
};

const within = (p: string, dir: string) => p === dir || p.startsWith(`${dir}${path.sep}`);

/** The values on the command line: bare words and option values, `--opt=value` split. */
function commandLineValues(args: string[]): string[] {
  const out: string[] = [];
  for (const a of args) {
    if (!a.startsWith('-')) out.push(a);
    else if (a.startsWith('--') && a.includes('=')) out.push(a.slice(a.indexOf('=') + 1));
  }
  return out.filter((v) => v !== '');
}

/** The paths an error names: its data's path-like fields, an errno's path. */
function pathsOf(e: ApxsError): string[] {
  const out: string[] = [];
  for (const k of ['path', 'file', 'root', 'configFile', 'dir']) {
    const v = e.data?.[k];
    if (typeof v === 'string' && v) out.push(path.resolve(v));
  }
  const errnoPath = (e.cause as NodeJS.ErrnoException | undefined)?.path;
  if (typeof errnoPath === 'string') out.push(path.resolve(errnoPath));
  return out;
}

/**
 * BAD_PATH for `e` when it says a path is missing and that path is one the
 * command line named (or lies below one, or above one: the missing part is
 * what the user typed); undefined otherwise.
 */
export function asBadPath(
  e: ApxsError,
  args: string[],
  cwd = process.cwd(),
): ApxsError | undefined {
  if (!MISSING.has(e.code)) return undefined;
  const named = pathsOf(e);
  for (const value of commandLineValues(args)) {
    const abs = path.resolve(cwd, value);
    if (!missing(abs)) continue;
    const related =
      named.some((p) => within(p, abs) || (within(abs, p) && missing(p))) ||
      e.message.includes(abs);
    if (!related) continue;
    const message =
      e.message.includes(value) || e.message.includes(abs)
        ? e.message
        : `${value} does not exist: ${e.message}`;
    return new ApxsError('BAD_PATH', message, {
      hint: e.hint ?? 'check the path you gave',
      cause: e,
      data: { ...(e.data ?? {}), path: abs },
      details: e.details,
    });
  }
  return undefined;
}

/** BAD_PATH (exit 2) when `value`, a path the user named for `what`, does not exist. */
export function namedPathMustExist(value: string, what: string, cwd = process.cwd()): void {
  const abs = path.resolve(cwd, value);
  if (missing(abs)) {
    throw new ApxsError('BAD_PATH', `${what} ${abs} does not exist`, {
      hint: 'check the path you gave',
      data: { path: abs },
    });
  }
}
