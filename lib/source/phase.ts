/**
 * One build phase (configure, make, make install): its whole output goes to
 * a log file, the caller sees the latest line as it happens, and a failure
 * names the phase, the exit code, the first real error lines of the log, a
 * hint when the error is a known one, and the log's path.
 */
import { spawn } from 'node:child_process';
import { createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { ApxsError } from '../core/errors.js';
import { commandLine } from '../core/run.js';

export interface PhaseEvent {
  phase: string;
  elapsedMs: number;
  line: string;
}

const ERROR_LINE = /(^|\s)(error:|configure: error:|\*\*\* \[|fatal error|undefined reference|multiple definition|No such file or directory|command not found)/i;

interface KnownError {
  pattern: RegExp;
  hint: string;
}

const KNOWN: KnownError[] = [
  { pattern: /APR not found|apr-1-config/i, hint: 'install the APR development files: apt-get install -y libapr1-dev libaprutil1-dev' },
  { pattern: /APR-util not found|apu-1-config/i, hint: 'apt-get install -y libaprutil1-dev' },
  { pattern: /pcre2?-config for libpcre2? not found|pcre-config/i, hint: 'apt-get install -y libpcre2-dev (httpd 2.4.53 and later) or libpcre3-dev (older)' },
  { pattern: /conflicting types for .getline/, hint: 'httpd 1.3 defines its own getline(); apxs-ts renames it (legacy fix "getline")' },
  { pattern: /_sys_siglist/, hint: 'glibc 2.32 removed _sys_siglist; apxs-ts drops the define (legacy fix "sys_siglist")' },
  { pattern: /multiple definition of .ap_os_is_path_absolute/, hint: 'httpd 1.3 needs -fgnu89-inline (legacy fix "gnu89-inline")' },
  { pattern: /no acceptable C compiler/i, hint: 'apt-get install -y gcc' },
  { pattern: /expat\.h: No such file/i, hint: 'apt-get install -y libexpat1-dev' },
];

export function scrapeErrors(log: string, max = 8): string[] {
  return log.split('\n').filter((l) => ERROR_LINE.test(l)).slice(0, max).map((l) => l.trim());
}

export function hintFor(log: string): string | undefined {
  return KNOWN.find((k) => k.pattern.test(log))?.hint;
}

export async function runPhase(
  phase: string, file: string, args: string[],
  opts: { cwd: string; env?: Record<string, string>; logFile: string; onEvent?: (e: PhaseEvent) => void },
): Promise<{ elapsedMs: number }> {
  await fs.mkdir(path.dirname(opts.logFile), { recursive: true });
  const log = createWriteStream(opts.logFile);
  const started = Date.now();
  log.write(`$ ${commandLine(file, args)}\n`);
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(file, args, { cwd: opts.cwd, env: { ...process.env, ...(opts.env ?? {}) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let partial = '';
    const onData = (b: Buffer) => {
      log.write(b);
      const text = partial + b.toString('utf8');
      const lines = text.split('\n');
      partial = lines.pop() ?? '';
      const last = lines.filter((l) => l.trim()).pop();
      if (last) opts.onEvent?.({ phase, elapsedMs: Date.now() - started, line: last.slice(0, 200) });
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('error', reject);
    child.on('close', (c) => resolve(c ?? 1));
  });
  await new Promise<void>((r) => log.end(r));
  if (code !== 0) {
    const text = await fs.readFile(opts.logFile, 'utf8');
    const errors = scrapeErrors(text);
    throw new ApxsError('CHILD_FAILED', `${phase} failed: ${commandLine(file, args)} exited with ${code}`, {
      details: [...(errors.length ? errors : text.trimEnd().split('\n').slice(-8)), `full log: ${opts.logFile}`],
      hint: hintFor(text),
      data: { phase, exitCode: code, log: opts.logFile },
    });
  }
  return { elapsedMs: Date.now() - started };
}
