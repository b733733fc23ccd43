/**
 * `apxs-ts debug`: the target root's httpd in one process (`-X`, which every
 * series from 1.3 to 2.4 has) in the foreground, under gdb with a breakpoint
 * on the module's handler (or `--break FUNCTION`), or under valgrind with
 * suppressions for httpd's and APR's own noise (templates/debug/httpd.supp),
 * so that what valgrind reports is the module's.
 *
 * The batch form (`request`) is what makes it scriptable: it sends one
 * request once the server listens, and returns the backtrace at the
 * breakpoint (gdb's `bt`, parsed) or valgrind's errors and summary; the
 * httpd it started is ended (it is this process's own child, nothing else is
 * ever signalled). The interactive form returns the command line to run with
 * the terminal.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { ApxsError } from '../core/errors.js';
import { failpoint } from '../core/failpoint.js';
import { withLock } from '../core/lock.js';
import { which } from '../core/fs.js';
import { isAlive, nowMs, readPidFile, sleep } from '../core/proc.js';
import { templatesRoot } from '../core/templates.js';
import { httpdCommand, type HttpdCommand } from '../httpd/invoke.js';
import { readServerInfo } from '../httpd/server-info.js';
import type { ServerRoot } from '../httpd/server-root.js';
import { parseGdbBacktrace, type Frame } from '../ctl/crashes.js';
import { serverState } from '../ctl/server-state.js';
import { readModuleProject } from '../module/compile.js';
import { fetchPage, type PageResult } from './page.js';

export interface DebugOptions {
  sr: ServerRoot;
  /** The module directory: its sources name the default breakpoint. */
  dir: string;
  breakAt?: string;
  valgrind?: boolean;
  /** Batch form: this path is requested once the server listens. */
  request?: string;
  timeoutSec?: number;
}

export interface ValgrindError {
  kind: string;
  frames: Frame[];
  /** The first frame with a file and line. */
  top: Frame | undefined;
}

export interface DebugResult {
  tool: 'gdb' | 'valgrind';
  command: string[];
  request: PageResult | undefined;
  /** gdb: the backtrace at the breakpoint (empty: it was not reached). */
  breakAt?: string;
  hit?: boolean;
  backtrace?: Frame[];
  /** valgrind: errors after suppressions, and its ERROR SUMMARY line. */
  errors?: ValgrindError[];
  errorCount?: number;
  summary?: string;
  log: string | undefined;
}

/**
 * The C function the module hooks as its handler: 2.x `ap_hook_handler(fn, ...)`, 1.3 `{ "name", fn
 * }` in its handler_rec.
 */
export function handlerFunction(sources: string[], stem: string): string {
  for (const text of sources) {
    const m =
      /ap_hook_handler\s*\(\s*([A-Za-z_]\w*)/.exec(text) ??
      /handler_rec[^;]*?\{\s*"[^"]+"\s*,\s*([A-Za-z_]\w*)\s*\}/s.exec(text);
    if (m) return m[1]!;
  }
  return `${stem.replace(/^mod_/, '')}_handler`;
}

/**
 * The one-process httpd command, with the run directories Debian's envvars names made (as ctl start
 * does).
 */
async function oneProcess(sr: ServerRoot): Promise<HttpdCommand> {
  const cmd = await httpdCommand(sr, ['-X']);
  for (const v of ['APACHE_RUN_DIR', 'APACHE_LOCK_DIR', 'APACHE_LOG_DIR']) {
    if (cmd.env[v]) await fs.mkdir(cmd.env[v]!, { recursive: true });
  }
  return cmd;
}

async function tool(name: string, pkg: string): Promise<string> {
  const found = await which([name]);
  if (!found)
    throw new ApxsError('TOOL_MISSING', `${name} is not installed`, {
      hint: `apt-get install -y ${pkg}`,
    });
  return found;
}

export const SUPPRESSIONS = () => path.join(templatesRoot(), 'debug', 'httpd.supp');

/**
 * What is httpd's alone: a sanitizer runtime preloaded into gdb itself hangs it before httpd
 * starts.
 */
const INFERIOR_ONLY = ['LD_PRELOAD', 'ASAN_OPTIONS', 'UBSAN_OPTIONS'];

/**
 * The environment the tool runs with: the user's, httpd's, and none of `unset` (gdb hands those to
 * httpd by `set environment`).
 */
export function toolEnv(c: { env: Record<string, string>; unset: string[] }): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...c.env };
  for (const k of c.unset) delete env[k];
  return env;
}

export async function debugCommand(o: DebugOptions): Promise<{
  file: string;
  args: string[];
  env: Record<string, string>;
  unset: string[];
  breakAt: string | undefined;
}> {
  const info = await readServerInfo(o.sr);
  const { running, parents } = await serverState(o.sr, info.pidFile);
  if (running || parents.length) {
    throw new ApxsError(
      'IN_USE',
      `httpd of ${o.sr.root} is running (pid ${running?.pid ?? parents[0]}): ` +
        'a second one could not listen on its port',
      {
        hint: `stop it first: apxs-ts ctl stop --server-root ${o.sr.root}`,
      },
    );
  }
  const cmd = await oneProcess(o.sr);
  if (o.valgrind) {
    if (/libasan\.so/.test(cmd.env.LD_PRELOAD ?? '')) {
      throw new ApxsError(
        'UNSUPPORTED',
        `a module in ${o.sr.modulesDir} was built with --sanitize address, ` +
          'and valgrind cannot run a process that has AddressSanitizer in it',
        {
          hint:
            'rebuild it without --sanitize (apxs-ts build && apxs-ts install) for ' +
            'valgrind; with ASan, its reports come from apxs-ts ctl crashes or dev',
        },
      );
    }
    const vg = await tool('valgrind', 'valgrind');
    const log = path.join(o.sr.stateDir, 'valgrind.log');
    await fs.mkdir(o.sr.stateDir, { recursive: true });
    return {
      file: vg,
      args: [
        '--error-limit=no',
        '--vgdb=no',
        '--num-callers=30',
        '--track-origins=yes',
        '--leak-check=no',
        `--suppressions=${SUPPRESSIONS()}`,
        `--log-file=${log}`,
        cmd.file,
        ...cmd.args,
      ],
      env: cmd.env,
      unset: [],
      breakAt: undefined,
    };
  }
  const gdb = await tool('gdb', 'gdb');
  const project = await readModuleProject(o.dir);
  const texts = await Promise.all(
    project.sources.map((s) => fs.readFile(path.join(project.dir, s), 'utf8')),
  );
  const breakAt = o.breakAt ?? handlerFunction(texts, project.module.stem);
  const batch = o.request !== undefined;
  // The sanitizer runtime, its options and any preload of the user's go to httpd only, never to gdb
  // itself.
  const inferior = INFERIOR_ONLY.map((k) => [k, cmd.env[k] ?? process.env[k]] as const).filter(
    ([, v]) => v !== undefined && v !== '',
  );
  return {
    file: gdb,
    // Pending: the module is loaded by httpd at run time, after gdb reads the binary.
    args: [
      '-nx',
      '-q',
      ...(batch ? ['-batch'] : []),
      '-ex',
      'set breakpoint pending on',
      '-ex',
      'set pagination off',
      '-ex',
      'set startup-with-shell off',
      ...inferior.flatMap(([k, v]) => ['-ex', `set environment ${k}=${v}`]),
      '-ex',
      `break ${breakAt}`,
      '-ex',
      'run',
      ...(batch ? ['-ex', 'bt', '-ex', 'kill'] : []),
      '--args',
      cmd.file,
      ...cmd.args,
    ],
    env: cmd.env,
    unset: INFERIOR_ONLY,
    breakAt,
  };
}

/** Waits until something accepts connections on the server's first Listen address. */
async function listening(url: string, deadline: number, alive: () => boolean): Promise<boolean> {
  const u = new URL(url);
  while (nowMs() < deadline && alive()) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(
        { host: u.hostname === 'localhost' ? '127.0.0.1' : u.hostname, port: Number(u.port || 80) },
        () => (s.destroy(), resolve(true)),
      );
      s.on('error', () => resolve(false));
    });
    if (ok) return true;
    await sleep(100);
  }
  return false;
}

const VG_ERROR = /^==\d+== ?(.*)$/;

/**
 * valgrind's log: each error's kind and frames (`at 0x..: fn (file.c:12)`, `by 0x..: fn (in
 * /lib/x.so)`), and the ERROR SUMMARY.
 */
export function parseValgrindLog(text: string): {
  errors: ValgrindError[];
  errorCount: number | undefined;
  summary: string | undefined;
} {
  const errors: ValgrindError[] = [];
  let cur: ValgrindError | undefined;
  let summary: string | undefined;
  for (const line of text.split('\n')) {
    const m = VG_ERROR.exec(line);
    if (!m) {
      cur = undefined;
      continue;
    }
    const body = m[1]!;
    if (!body.trim()) {
      cur = undefined;
      continue;
    }
    if (body.startsWith('ERROR SUMMARY:')) summary = body;
    const f = /^\s*(?:at|by) (0x[0-9A-F]+): (.+?) \((?:(.+):(\d+)|in (.+))\)$/.exec(body);
    if (f && cur) {
      cur.frames.push({
        pc: f[1]!,
        fn: f[2] === '???' ? undefined : f[2],
        file: f[3],
        line: f[4] ? Number(f[4]) : undefined,
        object: f[5],
      });
      continue;
    }
    if (/^\s*(Address|Uninitialised value was created|Block was alloc'd)/.test(body)) {
      cur = undefined; // the origin's frames, not the error's
      continue;
    }
    if (
      !/^\s/.test(body) &&
      /uninitialised|Invalid (read|write|free)|Mismatched free|Syscall param|overlap|Conditional jump/i.test(
        body,
      )
    ) {
      cur = { kind: body.trim(), frames: [], top: undefined };
      errors.push(cur);
    }
  }
  for (const e of errors) e.top = e.frames.find((f) => f.file && f.line !== undefined);
  const n = summary ? /ERROR SUMMARY: (\d+) errors/.exec(summary)?.[1] : undefined;
  return { errors, errorCount: n === undefined ? undefined : Number(n), summary };
}

/**
 * One debug (or ctl) at a time on a root: the running check in debugCommand
 * cannot see a second debug whose httpd has not written its pid file yet, and
 * that second one would then find the first's server listening, send its
 * request there and report a breakpoint never reached. The ctl lock is held
 * for the whole session; a second is refused at once, naming the holder.
 */
async function exclusive<T>(sr: ServerRoot, fn: () => Promise<T>): Promise<T> {
  await fs.mkdir(sr.stateDir, { recursive: true });
  try {
    return await withLock(path.join(sr.stateDir, 'ctl.lock'), fn, { timeoutMs: 1000 });
  } catch (err) {
    if (err instanceof ApxsError && err.code === 'LOCKED') {
      throw new ApxsError(
        'IN_USE',
        `another apxs-ts debug or ctl is using ${sr.root}: ${err.message}`,
        {
          hint: 'wait for it to end (or end it), then run this again',
          cause: err,
          data: err.data,
        },
      );
    }
    throw err;
  }
}

/** The batch form: start under the tool, request once, collect, end the child. */
export function debugBatch(o: DebugOptions & { request: string }): Promise<DebugResult> {
  return exclusive(o.sr, () => debugBatchLocked(o));
}

/** Ctrl-C, or a TERM/HUP to this process alone: nothing the batch started may outlive it. */
interface Interrupt {
  signal?: NodeJS.Signals;
  abort?: () => Promise<void>;
}
const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

async function debugBatchLocked(o: DebugOptions & { request: string }): Promise<DebugResult> {
  const intr: Interrupt = {};
  const onSignal = (sig: NodeJS.Signals) => {
    intr.signal = sig;
    void intr.abort?.();
  };
  for (const sig of STOP_SIGNALS) process.on(sig, onSignal);
  try {
    const r = await debugRun(o, intr).catch((err: unknown) => {
      if (!intr.signal) throw err;
      return undefined;
    });
    if (intr.signal || !r)
      throw new ApxsError(
        'INTERRUPTED',
        `debug interrupted (${intr.signal}): ${o.valgrind ? 'valgrind' : 'gdb'} and httpd ended`,
      );
    return r;
  } finally {
    for (const sig of STOP_SIGNALS) process.off(sig, onSignal);
  }
}

async function debugRun(
  o: DebugOptions & { request: string },
  intr: Interrupt,
): Promise<DebugResult> {
  const info = await readServerInfo(o.sr);
  if (!info.healthUrl)
    throw new ApxsError('NOT_FOUND', 'the server has no Listen address to send the request to');
  const c = await debugCommand(o);
  const timeoutMs = (o.timeoutSec ?? 120) * 1000;
  const deadline = nowMs() + timeoutMs;
  const log = o.valgrind
    ? c.args.find((a) => a.startsWith('--log-file='))!.slice('--log-file='.length)
    : undefined;
  if (log) await fs.rm(log, { force: true });
  const child = spawn(c.file, c.args, { env: toolEnv(c), stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.on('close', () => {
      exited = true;
      resolve();
    });
  });
  child.on('error', () => undefined);
  // gdb killed alone leaves httpd, its tracee, running on the port: the whole tree goes, all of it
  // this process's own descendants.
  const endTree = async () => {
    if (exited || child.pid === undefined) return;
    const tree = await descendants(child.pid);
    child.kill('SIGKILL');
    for (const pid of tree) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  };
  const killTimer = setTimeout(() => void endTree(), timeoutMs);
  intr.abort = endTree;
  if (intr.signal) await endTree();
  try {
    failpoint('debug:spawned');
    if (!(await listening(info.healthUrl, deadline, () => !exited))) {
      throw new ApxsError(
        'START_FAILED',
        `httpd under ${o.valgrind ? 'valgrind' : 'gdb'} did not listen on ${info.healthUrl}`,
        { details: out.split('\n').slice(-15) },
      );
    }
    failpoint('debug:listening');
    const url = new URL(o.request, info.healthUrl).href;
    // Under gdb the breakpoint holds the request until gdb has printed bt and killed httpd: no
    // answer is expected then.
    const request = await fetchPage(url, { timeoutMs: o.valgrind ? 60_000 : 30_000 });
    if (o.valgrind) {
      // our own child: httpd -X ends on SIGTERM, and valgrind writes its summary
      child.kill('SIGTERM');
      await exit;
      const text = await fs.readFile(log!, 'utf8').catch(() => '');
      const v = parseValgrindLog(text);
      return {
        tool: 'valgrind',
        command: [c.file, ...c.args],
        request,
        errors: v.errors,
        errorCount: v.errorCount,
        summary: v.summary,
        log,
      };
    }
    const hitWait = nowMs() + 30_000;
    while (!exited && nowMs() < hitWait) await sleep(50);
    await endTree();
    await exit;
    const backtrace = parseGdbBacktrace(out);
    return {
      tool: 'gdb',
      command: [c.file, ...c.args],
      request,
      breakAt: c.breakAt,
      hit: backtrace.some((f) => f.fn === c.breakAt),
      backtrace,
      log: undefined,
    };
  } finally {
    clearTimeout(killTimer);
    if (!exited) {
      await endTree();
      await exit;
    }
    // gdb's kill leaves httpd's pid file behind: removed when the pid in it is dead (it was our
    // child's).
    const pid = await readPidFile(info.pidFile);
    if (pid !== undefined && !(await isAlive(pid))) await fs.rm(info.pidFile, { force: true });
  }
}

/** Every descendant of `pid` (/proc/PID/task/TID/children), deepest last. */
async function descendants(pid: number): Promise<number[]> {
  const out: number[] = [];
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift()!;
    const tasks = await fs.readdir(`/proc/${p}/task`).catch(() => [] as string[]);
    for (const t of tasks) {
      const kids = (await fs.readFile(`/proc/${p}/task/${t}/children`, 'utf8').catch(() => ''))
        .split(/\s+/)
        .filter(Boolean)
        .map(Number);
      for (const k of kids) {
        if (out.includes(k)) continue;
        out.push(k);
        queue.push(k);
      }
    }
  }
  return out;
}

/** The interactive form: gdb (or valgrind) with the terminal; resolves with its exit code. */
export function debugInteractive(
  o: DebugOptions,
): Promise<{ exitCode: number; command: string[] }> {
  return exclusive(o.sr, () => debugInteractiveLocked(o));
}

async function debugInteractiveLocked(
  o: DebugOptions,
): Promise<{ exitCode: number; command: string[] }> {
  const c = await debugCommand(o);
  const child = spawn(c.file, c.args, { env: toolEnv(c), stdio: 'inherit' });
  // Ctrl-C belongs to gdb (it stops httpd there); this process waits for gdb to end.
  const ignore = () => undefined;
  process.on('SIGINT', ignore);
  try {
    const code = await new Promise<number>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (n) => resolve(n ?? 1));
    });
    return { exitCode: code, command: [c.file, ...c.args] };
  } finally {
    process.off('SIGINT', ignore);
  }
}
