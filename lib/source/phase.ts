/**
 * One build phase (configure, make, make install): its whole output goes to
 * a log file line by line, the caller sees the latest line as it happens,
 * and a failure names the phase, the exit code, the first real error lines
 * of the log, a hint when the error is a known one, and the log's path.
 * On Ctrl-C (SIGINT, SIGTERM, SIGHUP) or a timeout the whole process tree
 * (make, its shells, the compilers) is ended, not only the command.
 */
import { constants as fsConstants, createWriteStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { ApxsError } from '../core/errors.js';
import { commandLine } from '../core/run.js';
import { failpoint } from '../core/failpoint.js';

export interface PhaseEvent {
  phase: string;
  elapsedMs: number;
  line: string;
}

const ERROR_LINE =
  /(^|\s)(error:|configure: error:|\*\*\* \[|fatal error|undefined reference|multiple definition|No such file or directory|command not found)/i;

interface KnownError {
  pattern: RegExp;
  hint: string;
}

const KNOWN: KnownError[] = [
  {
    pattern: /APR not found|apr-1-config/i,
    hint: 'install the APR development files: apt-get install -y libapr1-dev libaprutil1-dev',
  },
  { pattern: /APR-util not found|apu-1-config/i, hint: 'apt-get install -y libaprutil1-dev' },
  {
    pattern: /pcre2?-config for libpcre2? not found|pcre-config/i,
    hint: 'apt-get install -y libpcre2-dev (httpd 2.4.53 and later) or libpcre3-dev (older)',
  },
  {
    pattern: /conflicting types for .getline/,
    hint: 'httpd 1.3 defines its own getline(); apxs-ts renames it (legacy fix "getline")',
  },
  {
    pattern: /_sys_siglist/,
    hint: 'glibc 2.32 removed _sys_siglist; apxs-ts drops the define (legacy fix "sys_siglist")',
  },
  {
    pattern: /multiple definition of .ap_os_is_path_absolute/,
    hint: 'httpd 1.3 needs -fgnu89-inline (legacy fix "gnu89-inline")',
  },
  { pattern: /no acceptable C compiler/i, hint: 'apt-get install -y gcc' },
  { pattern: /expat\.h: No such file/i, hint: 'apt-get install -y libexpat1-dev' },
];

export function scrapeErrors(log: string, max = 8): string[] {
  return log
    .split('\n')
    .filter((l) => ERROR_LINE.test(l))
    .slice(0, max)
    .map((l) => l.trim());
}

export function hintFor(log: string): string | undefined {
  return KNOWN.find((k) => k.pattern.test(log))?.hint;
}

export interface PhaseOptions {
  cwd: string;
  env?: Record<string, string>;
  logFile: string;
  onEvent?: (e: PhaseEvent) => void;
  /** Ends the phase and everything it started after this long. */
  timeoutMs?: number;
  /** Between SIGTERM to the process group and SIGKILL (default 5 s). */
  graceMs?: number;
}

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * The phase runs under `sh -c ORPHAN_GUARD apxs-ts-phase PID CMD ARGS...`:
 * the command, and beside it a watcher that looks at apxs-ts's pid twice a
 * second and, once it is gone, kills the whole process group. A kill -9 of
 * apxs-ts cannot be caught, and without this its make would go on to finish
 * make install on its own (Node has no PR_SET_PDEATHSIG). The watcher's
 * stdio is /dev/null, so that it never holds the output pipe open.
 */
export const ORPHAN_GUARD =
  'p=$1; shift; ' +
  // Alive: /proc/PID/stat is there and its state (after the last ") ") is not Z: a killed
  // apxs-ts is a zombie until its parent reaps it, and kill -0 would still succeed on it.
  'alive() { s=$(cat /proc/$p/stat 2>/dev/null) || ' +
  'return 1; s=${s##*") "}; [ "${s%% *}" != Z ]; }; ' +
  '( while alive; do sleep 0.5; done; kill -KILL 0 ) </dev/null >/dev/null 2>&1 & w=$!; ' +
  '"$@"; s=$?; kill "$w" 2>/dev/null; exit $s';

/** Whether `file` can be run from `cwd` (a path), or is found in PATH (a name). */
async function runnable(file: string, cwd: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  const candidates = file.includes('/')
    ? [path.resolve(cwd, file)]
    : (env.PATH ?? '')
        .split(':')
        .filter(Boolean)
        .map((d) => path.join(d, file));
  for (const c of candidates) {
    if (
      await fs.access(c, fsConstants.X_OK).then(
        () => fs.stat(c).then((st) => st.isFile()),
        () => false,
      )
    )
      return true;
  }
  return false;
}

export async function runPhase(
  phase: string,
  file: string,
  args: string[],
  opts: PhaseOptions,
): Promise<{ elapsedMs: number }> {
  await fs.mkdir(path.dirname(opts.logFile), { recursive: true });
  // Asked before the spawn: under the guard's shell a missing command is only an exit 127.
  if (!(await runnable(file, opts.cwd, { ...process.env, ...(opts.env ?? {}) }))) {
    await fs.writeFile(
      opts.logFile,
      `$ ${commandLine(file, args)}\n[apxs-ts: ${file} not found]\n`,
    );
    throw new ApxsError('TOOL_MISSING', `${phase} failed: ${file} not found`, {
      hint: 'install it, or check PATH',
      details: [`full log: ${opts.logFile}`],
      data: { phase, log: opts.logFile },
    });
  }
  const log = createWriteStream(opts.logFile);
  const started = Date.now();
  const cmd = commandLine(file, args);
  log.write(`$ ${cmd}\n`);
  // execa is imported here and only here: loading it takes longer than a
  // no-op module `build` (which uses child_process), and nothing beside a
  // configure or make of seconds to minutes.
  const { execa } = await import('execa');
  let ended: { why: string; signal?: NodeJS.Signals } | undefined;
  let force: NodeJS.Timeout | undefined;
  let pid: number | undefined;
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      if (pid !== undefined) process.kill(-pid, signal);
    } catch {
      // ESRCH: the group is gone already.
    }
  };
  const endTree = (why: string, signal?: NodeJS.Signals) => {
    if (ended) return;
    ended = { why, signal };
    killGroup('SIGTERM');
    force = setTimeout(() => killGroup('SIGKILL'), opts.graceMs ?? 5000);
  };
  const onSignal = (signal: NodeJS.Signals) => endTree(`interrupted (${signal})`, signal);
  // Listening before the spawn: a Ctrl-C in between would otherwise kill us
  // by default and leave the phase running (seen under load in the test).
  for (const s of SIGNALS) process.on(s, onSignal);
  const timer = opts.timeoutMs
    ? setTimeout(
        () => endTree(`timed out after ${Math.round(opts.timeoutMs! / 1000)} s`),
        opts.timeoutMs,
      )
    : undefined;
  // detached: the phase leads a process group of its own, so one kill(-pid)
  // reaches make's children and the compilers too, and a Ctrl-C at the
  // terminal comes to us (which ends that group) rather than half of it.
  // execa's result type follows the options of the call below: TypeScript infers it from the
  // assignment.
  // biome-ignore lint/suspicious/noImplicitAnyLet: inferred from the assignment below
  let result;
  try {
    const child = execa(
      'sh',
      ['-c', ORPHAN_GUARD, 'apxs-ts-phase', String(process.pid), file, ...args],
      {
        cwd: opts.cwd,
        env: opts.env ?? {},
        extendEnv: true,
        stdin: 'ignore',
        all: true,
        buffer: false,
        reject: false,
        detached: true,
        stripFinalNewline: false,
      },
    );
    pid = child.pid;
    if (ended) killGroup('SIGTERM');
    const step = `source:${phase.replace(/ /g, '-')}-line`;
    for await (const line of child.iterable({ from: 'all', preserveNewlines: true })) {
      log.write(line);
      // Each line of output: where the kill tests stop apxs-ts (source:make-install-line@30 = at
      // the 30th).
      failpoint(step);
      const text = line.trim();
      if (text)
        opts.onEvent?.({ phase, elapsedMs: Date.now() - started, line: text.slice(0, 200) });
    }
    result = await child;
  } finally {
    if (timer) clearTimeout(timer);
    for (const s of SIGNALS) process.off(s, onSignal);
    if (ended) {
      // The leader is gone; whatever of its group is left is ended now, not later.
      if (force) clearTimeout(force);
      killGroup('SIGKILL');
    }
  }
  if (ended)
    log.write(`\n[apxs-ts: ${phase} ${ended.why}: ended ${cmd} and every process it started]\n`);
  await new Promise<void>((r) => log.end(r));
  const code = result.exitCode;
  if (code === undefined && !result.signal) {
    // It never ran (execa reports the spawn error on the result).
    const missing = (result as { code?: string }).code === 'ENOENT';
    throw new ApxsError(
      missing ? 'TOOL_MISSING' : 'CHILD_FAILED',
      missing
        ? `${phase} failed: ${file} not found`
        : `${phase} failed: ${cmd} could not run: ${result.originalMessage ?? result.message}`,
      {
        hint: missing ? 'install it, or check PATH' : undefined,
        details: [`full log: ${opts.logFile}`],
        data: { phase, log: opts.logFile },
      },
    );
  }
  if (ended || code !== 0) {
    const text = await fs.readFile(opts.logFile, 'utf8');
    const errors = scrapeErrors(text);
    const how = code === undefined ? `was killed by ${result.signal}` : `exited with ${code}`;
    const message = ended
      ? `${phase} ${ended.why}: ${cmd} and every process it started were ended`
      : `${phase} failed: ${cmd} ${how}`;
    throw new ApxsError(ended?.signal ? 'INTERRUPTED' : 'CHILD_FAILED', message, {
      details: [
        ...(errors.length && !ended ? errors : text.trimEnd().split('\n').slice(-8)),
        `full log: ${opts.logFile}`,
      ],
      hint: ended ? undefined : hintFor(text),
      data: {
        phase,
        exitCode: code ?? null,
        ...(result.signal ? { signal: result.signal } : {}),
        ...(ended ? { ended: ended.why } : {}),
        log: opts.logFile,
      },
    });
  }
  return { elapsedMs: Date.now() - started };
}
