/**
 * The crashes of a server apxs-ts started (`ctl crashes`, `ctl status`,
 * `dev`): the children its error log says died by a signal since the start
 * (2.x: `AH00052: child pid N exit signal Segmentation fault (11)`, 1.3 the
 * same without the AH number), each with a symbolized backtrace from what the
 * crash left in `<state dir>/crashes/<pid>/` (crash-capture.ts): gdb in batch
 * mode on its core when both are there, else addr2line on the frames the
 * recorder wrote. Symbolized once: the result is kept beside the frames, so
 * that a later rebuild of the module cannot change what an old crash says.
 */
import { constants as fsc, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { readCache, writeCache } from '../core/cache.js';
import { statIfAny, which } from '../core/fs.js';
import { runCapture } from '../core/run.js';
import type { ServerRoot } from '../httpd/server-root.js';
import { corePatternAdvice, type CorePattern } from './core-pattern.js';
import { crashDir, readCrashRun, type CrashRun } from './crash-capture.js';

export interface Frame {
  /** The function, or undefined when nothing names it. */
  fn: string | undefined;
  file: string | undefined;
  line: number | undefined;
  /** The shared object or executable the frame is in. */
  object: string | undefined;
  pc: string;
}

export interface Crash {
  pid: number;
  signal: string;
  signo: number | undefined;
  /** The error log line that reported it (undefined: only the recorder's directory says so). */
  logLine: string | undefined;
  frames: Frame[];
  /** The first frame with a file and line: where the crash is in code someone built with -g. */
  top: Frame | undefined;
  core: string | undefined;
  symbolizedBy: 'gdb' | 'addr2line' | 'sanitizer' | 'none';
  /**
   * The sanitizer's headline (`ERROR: AddressSanitizer: heap-buffer-overflow on address ...`), when
   * one reported it.
   */
  report?: string;
  note: string | undefined;
}

export interface CrashReport {
  serverRoot: string;
  /** Whether the running server was started by apxs-ts with crash capture (ctl start). */
  captured: boolean;
  since: string | undefined;
  crashes: Crash[];
  /** All crashes since the start (crashes holds them all, or only the last with lastOnly). */
  count: number;
  corePattern: CorePattern;
}

/** `child pid N exit signal NAME (NO)`: every series' parent says it this way. */
const EXIT_SIGNAL = /child pid (\d+) exit signal ([^(\n]*?) ?\((\d+)\)/;

const SIGNAL_NAMES: Record<number, string> = {
  4: 'Illegal instruction',
  6: 'Aborted',
  7: 'Bus error',
  8: 'Floating point exception',
  11: 'Segmentation fault',
};

/** The lines of `file` after `offset` (all of them: a crash loop writes many). */
async function logAfter(file: string | undefined, offset: number): Promise<string[]> {
  if (!file) return [];
  // O_NONBLOCK: a log swapped for a FIFO would block the open until a writer came; only a regular
  // file is read.
  const fh = await fs.open(file, fsc.O_RDONLY | fsc.O_NONBLOCK).catch(() => undefined);
  if (!fh) return [];
  try {
    const st = await fh.stat();
    if (!st.isFile()) return [];
    const size = st.size;
    const start = size < offset ? 0 : offset; // rotated or truncated: read it all
    const len = Math.min(size - start, 8 * 1024 * 1024);
    const buf = Buffer.alloc(len);
    await fh.read(buf, 0, len, size - len);
    return buf.toString('utf8').split('\n');
  } finally {
    await fh.close();
  }
}

/**
 * One gdb `bt` line: '#0 0x.. in fn ' + '(args) at file:line' / `#1 fn (args) at file:line` / ('...
 * from ' + '/lib/x.so').
 */
const GDB_FRAME =
  /^#\d+\s+(?:(0x[0-9a-f]+) in )?(\S+) \(.*?\)(?: at (.+):(\d+))?(?: from (\S+))?\s*$/;

export function parseGdbBacktrace(out: string): Frame[] {
  const frames: Frame[] = [];
  // gdb prints the current frame once as it loads the core, then the whole `bt`: read from the
  // last #0.
  const lines = out.split('\n');
  const start = lines.map((l) => l.startsWith('#0 ')).lastIndexOf(true);
  for (const l of lines.slice(Math.max(0, start))) {
    const m = GDB_FRAME.exec(l);
    if (!m) continue;
    frames.push({
      pc: m[1] ?? '',
      fn: m[2] === '??' ? undefined : m[2],
      file: m[3],
      line: m[4] ? Number(m[4]) : undefined,
      object: m[5],
    });
  }
  return frames;
}

async function gdbBacktrace(gdb: string, httpd: string, core: string): Promise<Frame[]> {
  const res = await runCapture(
    gdb,
    ['-batch', '-nx', '-q', '-ex', 'set pagination off', '-ex', 'bt', httpd, core],
    { timeoutMs: 60_000 },
  );
  return parseGdbBacktrace(res.stdout);
}

interface RawFrame {
  pc: bigint;
  base: bigint;
  sym: string;
  object: string;
}

/** The recorder's `frames` file: its handler's own frames and the signal trampoline dropped. */
export function parseFrames(
  text: string,
  recorder: (object: string) => boolean,
): { signo: number | undefined; frames: RawFrame[] } {
  const signo = /^signal (\d+)$/m.exec(text)?.[1];
  const all: RawFrame[] = [];
  for (const l of text.split('\n')) {
    const m = /^frame (0x[0-9a-f]+) (0x[0-9a-f]+) (\S+) (.+)$/.exec(l);
    if (m) all.push({ pc: BigInt(m[1]!), base: BigInt(m[2]!), sym: m[3]!, object: m[4]! });
  }
  // [recorder frames..., the kernel's return trampoline (in libc), the faulting frame, its
  // callers...]
  let i = 0;
  while (i < all.length && recorder(all[i]!.object)) i++;
  return { signo: signo ? Number(signo) : undefined, frames: i > 0 ? all.slice(i + 1) : all };
}

/** ET_DYN (a shared object or a PIE): addresses in it are relative to where it was loaded. */
async function isDyn(file: string): Promise<boolean> {
  const fh = await fs.open(file, 'r').catch(() => undefined);
  if (!fh) return true;
  try {
    const b = Buffer.alloc(18);
    await fh.read(b, 0, 18, 0);
    return b.readUInt16LE(16) === 3;
  } finally {
    await fh.close();
  }
}

async function addr2lineFrames(addr2line: string | undefined, raw: RawFrame[]): Promise<Frame[]> {
  const frames: Frame[] = raw.map((r) => ({
    pc: `0x${r.pc.toString(16)}`,
    fn: r.sym === '?' ? undefined : r.sym,
    file: undefined,
    line: undefined,
    object: r.object === '?' ? undefined : r.object,
  }));
  if (!addr2line) return frames;
  const byObject = new Map<string, number[]>();
  raw.forEach((r, i) => {
    if (r.object !== '?') byObject.set(r.object, [...(byObject.get(r.object) ?? []), i]);
  });
  for (const [object, idx] of byObject) {
    const dyn = await isDyn(object);
    // The faulting frame's pc is the instruction itself; the others are return addresses, whose
    // call is the byte before.
    const addrs = idx.map((i) => {
      const r = raw[i]!;
      const rel = (dyn ? r.pc - r.base : r.pc) - (i === 0 ? 0n : 1n);
      return `0x${rel.toString(16)}`;
    });
    const res = await runCapture(addr2line, ['-f', '-C', '-e', object, ...addrs], {
      timeoutMs: 30_000,
    });
    if (res.exitCode !== 0) continue;
    const out = res.stdout.split('\n');
    idx.forEach((i, k) => {
      const fn = out[2 * k];
      const loc = /^(.*):(\d+)(?: \(discriminator \d+\))?$/.exec(out[2 * k + 1] ?? '');
      const f = frames[i]!;
      if (fn && fn !== '??') f.fn = fn;
      if (loc && loc[1] !== '??' && loc[2] !== '0') {
        f.file = loc[1];
        f.line = Number(loc[2]);
      }
    });
  }
  return frames;
}

/**
 * The core in `dir`: a regular file of the crashed child's uid (the kernel ' + 'writes it as ' +
 * 'that user), ' + 'never anyone else's.
 */
async function coreIn(dir: string, uid: number): Promise<string | undefined> {
  for (const n of await fs.readdir(dir).catch(() => [] as string[])) {
    if (!/^core(\.\d+)?$/.test(n)) continue;
    const st = await fs.lstat(path.join(dir, n)).catch(() => undefined);
    if (st?.isFile() && st.uid === uid) return path.join(dir, n);
  }
  return undefined;
}

/**
 * Where core_pattern hands cores to systemd-coredump and coredumpctl is
 * installed: this crash's core, written beside its frames (`coredumpctl dump
 * PID`). Not exercised by the tests: this machine's pattern is "core".
 */
async function coreFromCoredumpctl(
  dir: string,
  pattern: CorePattern,
  coredumpctl: string | undefined,
): Promise<string | undefined> {
  if (!coredumpctl || pattern.kind !== 'pipe' || !/systemd-coredump/.test(pattern.handler ?? ''))
    return undefined;
  // Into a directory of our own, not the crash directory: that one is httpd's User's, who could
  // have put a symlink named `core` there for this dump to write through.
  const mine = await fs.mkdtemp(path.join(os.tmpdir(), 'apxs-ts-core-')).catch(() => undefined);
  if (!mine) return undefined;
  const out = path.join(mine, 'core');
  const res = await runCapture(
    coredumpctl,
    ['dump', path.basename(dir), '--output', out, '--no-pager'],
    { timeoutMs: 60_000 },
  ).catch(() => undefined);
  if (res?.exitCode === 0 && (await fs.stat(out).catch(() => undefined))?.size) return out;
  await fs.rm(mine, { recursive: true, force: true });
  return undefined;
}

/**
 * Whether `dir` (`<crash dir>/<pid>`) is the directory a child of this
 * server made: the crash directory is 1733, so anyone can make one. It must
 * be a real directory (not a symlink) writable by its owner only, holding a
 * regular `frames` file of the same owner whose first line is this start's
 * token (run.json, 0600). Its owner then is the uid whose core and sanitizer
 * report are believed. Undefined: nothing in it is read.
 */
async function ownerIfOurs(dir: string, run: CrashRun): Promise<number | undefined> {
  return (await checkDir(dir, run)).uid;
}

/**
 * ownerIfOurs, with why not: an empty frames file in a directory that is otherwise right is a full
 * disk, not a forgery.
 */
async function checkDir(dir: string, run: CrashRun): Promise<{ uid?: number; empty?: boolean }> {
  if (!run.token) return {};
  const st = await fs.lstat(dir).catch(() => undefined);
  if (!st?.isDirectory() || st.mode & 0o022) return {};
  const frames = path.join(dir, 'frames');
  const fst = await fs.lstat(frames).catch(() => undefined);
  if (!fst?.isFile() || fst.uid !== st.uid) return {};
  if (fst.size === 0) return { empty: true };
  const text = await readSmall(frames);
  return text?.split('\n', 1)[0] === `token ${run.token}` ? { uid: st.uid } : {};
}

/** A regular file (never a symlink, FIFO or device) owned by `uid`, at most `max` bytes read. */
async function readOwned(
  file: string,
  uids: number[],
  max = 1024 * 1024,
): Promise<string | undefined> {
  const st = await fs.lstat(file).catch(() => undefined);
  if (!st?.isFile() || !uids.includes(st.uid)) return undefined;
  return readSmall(file, max);
}

async function readSmall(file: string, max = 1024 * 1024): Promise<string | undefined> {
  const fh = await fs
    .open(file, fsc.O_RDONLY | fsc.O_NOFOLLOW | fsc.O_NONBLOCK)
    .catch(() => undefined);
  if (!fh) return undefined;
  try {
    if (!(await fh.stat()).isFile()) return undefined;
    const buf = Buffer.alloc(max);
    const { bytesRead } = await fh.read(buf, 0, max, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await fh.close();
  }
}

const me = () => [process.geteuid?.() ?? 0, 0];

interface Cached {
  distrusted?: boolean;
  frames: Frame[];
  core: string | undefined;
  symbolizedBy: Crash['symbolizedBy'];
  note: string | undefined;
  signo: number | undefined;
  report?: string;
}

const isCached = (v: unknown): v is Cached =>
  typeof v === 'object' &&
  v !== null &&
  Array.isArray((v as Cached).frames) &&
  typeof (v as Cached).symbolizedBy === 'string';

/**
 * A sanitizer's frame: `#0 0x7f.. in fn /src/mod_x.c:30` (a column may follow), or `#3 0x55..
 * (/usr/sbin/apache2+0x6b35f)`.
 */
const SAN_FRAME =
  /^\s*#\d+ (0x[0-9a-f]+) (?:in (\S+) (?:(.+?):(\d+)(?::\d+)?|\((.+?)\+0x[0-9a-f]+\))|\((.+?)\+0x[0-9a-f]+\))\s*$/;

/** An ASan or UBSan report: its headline and the frames of its first stack (where the error is). */
export function parseSanitizerReport(
  text: string,
): { report: string; frames: Frame[] } | undefined {
  const lines = text.split('\n');
  const head = lines.findIndex((l) => /ERROR: AddressSanitizer|runtime error:/.test(l));
  if (head < 0) return undefined;
  const frames: Frame[] = [];
  for (const l of lines.slice(head + 1)) {
    const m = SAN_FRAME.exec(l);
    if (!m) {
      if (frames.length) break; // the first stack ends at its blank line
      continue;
    }
    frames.push({
      pc: m[1]!,
      fn: m[2],
      file: m[3],
      line: m[4] ? Number(m[4]) : undefined,
      object: m[5] ?? m[6],
    });
  }
  return { report: lines[head]!.replace(/^=+\d+=+/, '').trim(), frames };
}

/**
 * The report a sanitizer wrote for `pid` into the crash directory (log_path=DIR/asan →
 * DIR/asan.PID), by the crashed child's uid.
 */
async function sanitizerReport(
  crashes: string,
  pid: number,
  uid: number,
): Promise<{ report: string; frames: Frame[] } | undefined> {
  for (const kind of ['asan', 'ubsan']) {
    const text = await readOwned(path.join(crashes, `${kind}.${pid}`), [uid]);
    const r = text ? parseSanitizerReport(text) : undefined;
    if (r) return r;
  }
  return undefined;
}

/**
 * The backtrace of the crash of `pid`: from its cache, else gdb on its core, else addr2line on its
 * frames.
 */
async function explain(
  dir: string,
  run: CrashRun,
  pattern: CorePattern,
  tools: { gdb?: string; addr2line?: string; coredumpctl?: string },
): Promise<Cached> {
  const { uid, empty } = await checkDir(dir, run);
  if (empty) {
    return {
      distrusted: true,
      frames: [],
      core: undefined,
      symbolizedBy: 'none',
      signo: undefined,
      note:
        `the crash recorder could not write ${path.join(dir, 'frames')} (is ` +
        `the disk of ${path.dirname(dir)} full?): nothing recorded for this crash`,
    };
  }
  if (uid === undefined) {
    const there = await fs.lstat(dir).then(
      () => true,
      () => false,
    );
    return {
      distrusted: there,
      frames: [],
      core: undefined,
      symbolizedBy: 'none',
      signo: undefined,
      note: there
        ? `${dir} is not apxs-ts's (no frames with this start's token, or ` +
          'writable by others, or a symlink): not trusted, nothing in it read'
        : undefined,
    };
  }
  // The backtrace is kept in apxs-ts's own cache (lib/core/cache.ts), not in the crash directory,
  // which httpd's User owns: keyed by the directory and what the crash left in it (a recycled pid's
  // new crash is a new key).
  const left = await Promise.all(['frames', 'core'].map((f) => statIfAny(path.join(dir, f))));
  const key = JSON.stringify([
    dir,
    run.httpd,
    ...left.map((st) => (st ? `${st.ino}:${st.mtimeMs}:${st.size}` : '-')),
  ]);
  const cached = readCache('crash-backtrace', key, isCached);
  if (cached) return cached;
  // A sanitizer's report says what went wrong, where; the abort that follows it is only how the
  // child ended.
  const san = await sanitizerReport(path.dirname(dir), Number(path.basename(dir)), uid);
  if (san)
    return {
      frames: san.frames,
      core: undefined,
      symbolizedBy: 'sanitizer',
      note: san.report,
      signo: undefined,
      report: san.report,
    };
  const framesText = await readSmall(path.join(dir, 'frames'));
  const core =
    (await coreIn(dir, uid)) ?? (await coreFromCoredumpctl(dir, pattern, tools.coredumpctl));
  const parsed = framesText
    ? parseFrames(framesText, (o) => path.basename(o).startsWith('apxs-ts-crash-'))
    : undefined;
  let out: Cached | undefined;
  let gdbFrames: Frame[] = [];
  if (core && tools.gdb) {
    gdbFrames = await gdbBacktrace(tools.gdb, run.httpd, core);
    // A core cut short (the core size limit, a full disk) gives gdb only `#0 ?? ()`: the recorder's
    // frames say more then.
    if (gdbFrames.some((f) => f.file) || (gdbFrames.length && !parsed))
      out = { frames: gdbFrames, core, symbolizedBy: 'gdb', note: undefined, signo: parsed?.signo };
  }
  if (!out && parsed) {
    const frames = await addr2lineFrames(tools.addr2line, parsed.frames);
    const why = !tools.addr2line
      ? 'neither gdb nor addr2line is installed (binutils): frames are unsymbolized'
      : core && tools.gdb
        ? `gdb found no symbolized frame in ${core} (cut short?): frames symbolized with addr2line`
        : core
          ? 'gdb is not installed: frames symbolized with addr2line'
          : `no core: ${corePatternAdvice(pattern)}`;
    out = {
      frames,
      core,
      symbolizedBy: tools.addr2line ? 'addr2line' : 'none',
      note: why,
      signo: parsed.signo,
    };
  }
  if (!out)
    return {
      frames: [],
      core,
      symbolizedBy: 'none',
      note: core ? 'gdb is not installed and the recorder left no frames' : undefined,
      signo: undefined,
    };
  await writeCache('crash-backtrace', key, out);
  return out;
}

/** The pids whose crash directory is there now (the recorder makes it before the child dies). */
export async function crashPids(sr: ServerRoot): Promise<number[]> {
  return (await fs.readdir(crashDir(sr)).catch(() => [] as string[]))
    .filter((n) => /^\d+$/.test(n))
    .map(Number);
}

/**
 * `ctl crashes` without -n: a crash loop leaves thousands, and each symbolization runs gdb or
 * addr2line.
 */
export const SHOWN_CRASHES = 20;

/**
 * The crashes since the start: all counted, only the last `last` (or those in
 * `only`, or the last one) symbolized and returned.
 */
export async function listCrashes(
  sr: ServerRoot,
  pattern: CorePattern,
  opts: { lastOnly?: boolean; only?: Set<number>; last?: number } = {},
): Promise<CrashReport> {
  const run = await readCrashRun(sr);
  const base: CrashReport = {
    serverRoot: sr.root,
    captured: !!run,
    since: run ? new Date(run.startedAt).toISOString() : undefined,
    crashes: [],
    count: 0,
    corePattern: pattern,
  };
  if (!run) return base;
  const byPid = new Map<
    number,
    { signal: string; signo: number | undefined; logLine: string | undefined }
  >();
  for (const l of await logAfter(run.errorLog, run.logOffset)) {
    const m = EXIT_SIGNAL.exec(l);
    if (m)
      byPid.set(Number(m[1]), { signal: m[2]!.trim(), signo: Number(m[3]), logLine: l.trim() });
  }
  // A crash the recorder saw but the log does not show (a log to a pipe or syslog, or not written
  // yet): its directory must be this start's.
  const dir = crashDir(sr);
  for (const n of await fs.readdir(dir).catch(() => [] as string[])) {
    if (!/^\d+$/.test(n) || byPid.has(Number(n))) continue;
    if ((await ownerIfOurs(path.join(dir, n), run)) !== undefined)
      byPid.set(Number(n), { signal: '', signo: undefined, logLine: undefined });
  }
  const tools = {
    gdb: await which(['gdb']),
    addr2line: await which(['addr2line']),
    coredumpctl: await which(['coredumpctl']),
  };
  const crashes: Crash[] = [];
  const entries = [...byPid];
  const wanted = opts.lastOnly
    ? entries.slice(-1)
    : opts.only
      ? entries.filter(([p]) => opts.only!.has(p))
      : opts.last !== undefined
        ? entries.slice(-opts.last)
        : entries;
  for (const [pid, seen] of wanted) {
    const c = await explain(path.join(dir, String(pid)), run, pattern, tools);
    const signo = seen.signo ?? c.signo;
    crashes.push({
      pid,
      signo,
      signal:
        seen.signal ||
        (signo !== undefined ? (SIGNAL_NAMES[signo] ?? `signal ${signo}`) : 'unknown signal'),
      logLine: seen.logLine,
      frames: c.frames,
      top: c.frames.find((f) => f.file && f.line !== undefined),
      core: c.core,
      symbolizedBy: c.symbolizedBy,
      ...(c.report ? { report: c.report } : {}),
      note:
        c.frames.length || c.distrusted
          ? c.note
          : run.recorder
            ? `nothing recorded for pid ${pid}: ${corePatternAdvice(pattern)}`
            : 'started without the crash recorder (no C compiler at start)',
    });
  }
  return { ...base, crashes, count: byPid.size };
}

/**
 * For `ctl status`: how many since the start, and the last one in a line (only it is symbolized).
 */
export async function crashSummary(
  sr: ServerRoot,
  pattern: CorePattern,
): Promise<{ count: number; last: string; lastCrash: Crash } | undefined> {
  // The common case, no crash: with the recorder on, no crash directory means none, and the log is
  // not read.
  const run = await readCrashRun(sr);
  if (!run || (run.recorder && (await crashPids(sr)).length === 0)) return undefined;
  const r = await listCrashes(sr, pattern, { lastOnly: true });
  const c = r.crashes[r.crashes.length - 1];
  if (!c) return undefined;
  return {
    count: r.count,
    last: `pid ${c.pid}, ${printable(c.signal)} in ${frameText(c.top)}`,
    lastCrash: c,
  };
}

/**
 * `text` with control characters as `\xNN`: what is printed here comes from
 * the error log (a module may log any bytes) and from file and symbol names,
 * and an escape sequence printed to a terminal can retitle it, hide lines or
 * worse. --json output needs nothing: JSON escapes them.
 */
export function printable(text: string): string {
  return text.replace(
    /[\x00-\x1f\x7f-\x9f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

/** `fn (file:line)` of a frame, for one-line summaries. */
export function frameText(f: Frame | undefined): string {
  if (!f) return 'no symbolized frame';
  const where = f.file ? ` (${f.file}:${f.line})` : '';
  const object = f.object && !f.file ? ` in ${path.basename(f.object)}` : '';
  return printable(`${f.fn ?? '??'}${where}${object}`);
}

/** The lines of a crash as `ctl crashes` and `dev` print them. */
export function crashLines(c: Crash): string[] {
  const signo = c.signo !== undefined ? ` (${c.signo})` : '';
  return [
    `child pid ${c.pid} died: ${printable(c.signal)}${signo} in ${frameText(c.top)}`,
    ...c.frames.map((f, i) => {
      const object = f.object && f.file ? ` [${printable(path.basename(f.object))}]` : '';
      return `  #${i} ${frameText(f)}${object}`;
    }),
    ...(c.core ? [`  core: ${printable(c.core)}`] : []),
    ...(c.note ? [`  note: ${printable(c.note)}`] : []),
  ];
}
