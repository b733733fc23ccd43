/**
 * Child processes. Callers that report a failure do it the same way: the
 * command line, its exit code, the last lines of its output, and the path of
 * a log file holding all of it (lib/build.ts, lib/source/phase.ts).
 */

import { spawn } from 'node:child_process';
import { constants as osConstants } from 'node:os';
import { ApxsError } from './errors.js';

export interface RunResult {
  command: string;
  exitCode: number;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved as the child wrote them. */
  all: string;
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  timeoutMs?: number;
  input?: string;
  /** Aborting it kills the child (SIGKILL): its result is no longer wanted. */
  signal?: AbortSignal;
}

export function quoteArg(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

export function commandLine(file: string, args: readonly string[]): string {
  return [file, ...args].map(quoteArg).join(' ');
}

export function lastLines(text: string, n: number): string[] {
  const lines = text.replace(/\s+$/, '').split('\n');
  return lines.slice(Math.max(0, lines.length - n)).filter((l) => l.length > 0);
}

/**
 * Runs a command and returns its output whatever its exit code. Plain
 * child_process rather than execa: importing execa takes longer than a
 * whole no-op `build`.
 */
export function runCapture(
  file: string,
  args: readonly string[],
  opts: RunOptions = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      cwd: opts.cwd,
      env: opts.env ? { ...process.env, ...opts.env } : process.env,
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const all: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => {
      out.push(b);
      all.push(b);
    });
    child.stderr!.on('data', (b: Buffer) => {
      err.push(b);
      all.push(b);
    });
    let timedOut = false;
    const timer = opts.timeoutMs
      ? setTimeout(() => {
          timedOut = true;
          child.kill('SIGKILL');
        }, opts.timeoutMs)
      : undefined;
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    const abort = () => child.kill('SIGKILL');
    opts.signal?.addEventListener('abort', abort, { once: true });
    child.once('close', () => opts.signal?.removeEventListener('abort', abort));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      const missing = e.code === 'ENOENT';
      reject(
        new ApxsError(
          missing ? 'TOOL_MISSING' : 'CHILD_FAILED',
          missing ? `${file} not found` : `${commandLine(file, args)} could not run: ${e.message}`,
          {
            hint: missing ? 'install it, or check PATH' : undefined,
            cause: e,
          },
        ),
      );
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const text = Buffer.concat(all).toString('utf8');
      resolve({
        command: commandLine(file, args),
        exitCode: code ?? (signal ? 128 + (osConstants.signals[signal] ?? 0) : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        all: timedOut ? `${text}\n[killed after ${opts.timeoutMs} ms]` : text,
      });
    });
  });
}
