/**
 * Processes, read from /proc: alive (zombies count as dead), what they run,
 * when they started. /proc lives in memory, so every function here reads it
 * synchronously and says so by returning a value, not a Promise.
 */
import { constants as fsc, readlinkSync } from 'node:fs';
import { type FileHandle, open } from 'node:fs/promises';
import { readDirIfAny, readTextIfAny } from './fs.js';

export interface ProcInfo {
  pid: number;
  ppid: number;
  /** Session id: a daemon that detached leads its own session, its workers belong to it. */
  session: number;
  state: string;
  /** Process start, from /proc/PID/stat's starttime and the boot time. */
  startedAt: Date | undefined;
  exe: string | undefined;
  cmdline: string[];
}

let bootTimeMs: number | undefined;
const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) is 100 on every Linux we target

function bootTime(): number {
  if (bootTimeMs === undefined) bootTimeMs = parseBootTime(readProc('/proc/stat') ?? '');
  return bootTimeMs;
}

/**
 * /proc/stat's "btime N" line (seconds since the epoch) in ms; 0 without one. Exported for its
 * test.
 */
export function parseBootTime(stat: string): number {
  const m = /^btime (\d+)$/m.exec(stat);
  return m ? Number(m[1]) * 1000 : 0;
}

/** Alive means it exists and is not a zombie waiting for a parent that never reaps it. */
export function isAlive(pid: number): boolean {
  const info = procInfo(pid);
  return !!info && info.state !== 'Z' && info.state !== 'X';
}

/**
 * The children of `pid`, zombies included. Each thread's /proc/PID/task/TID/children lists the
 * children it forked: a read per thread, where the scan below reads every process's stat (~4 ms
 * with 130 processes under load, and a restart asks twice before `dev` can request its page).
 * Without that file (a kernel without CONFIG_PROC_CHILDREN) or with a thread gone mid-read: the
 * scan. Both are a snapshot: a child forked or reaped meanwhile may or may not be in it.
 */
export function childrenOf(pid: number): number[] {
  const tasks = readDirIfAny(`/proc/${pid}/task`);
  const listed: number[] = [];
  for (const t of tasks) {
    const text = readProc(`/proc/${pid}/task/${t}/children`);
    if (text === undefined) return scanChildrenOf(pid);
    for (const w of text.split(' ')) if (/^\d+$/.test(w)) listed.push(Number(w));
  }
  return tasks.length > 0 ? listed : scanChildrenOf(pid);
}

/** childrenOf by every process's ppid. Exported for its test (the two must agree). */
export function scanChildrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of readDirIfAny('/proc')) {
    if (/^\d+$/.test(d) && parseStat(readProc(`/proc/${d}/stat`))?.ppid === pid)
      out.push(Number(d));
  }
  return out;
}

// /proc is in memory: read synchronously, through core/fs's readTextIfAny and readDirIfAny.
const readProc = readTextIfAny;

export interface Stat {
  state: string;
  ppid: number;
  session: number;
  /**
   * starttime: clock ticks since boot; with the pid, what tells a process from a later one that
   * reuses its pid.
   */
  ticks: string;
}

/**
 * /proc/PID/stat: "pid (comm) state ppid pgrp session ...", where comm may hold spaces and
 * parentheses. Exported for its test.
 */
export function parseStat(stat: string | undefined): Stat | undefined {
  if (!stat) return undefined;
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    state: rest[0] ?? '?',
    ppid: Number(rest[1]),
    session: Number(rest[3]),
    ticks: rest[19] ?? '',
  };
}

/** This boot's id: with a pid and its start ticks, names one process for good. */
export function bootId(): string {
  return readProc('/proc/sys/kernel/random/boot_id')?.trim() || '-';
}

/** A live (not zombie) process's start time in clock ticks since boot, or undefined. */
export function startTicks(pid: number): string | undefined {
  const st = parseStat(readProc(`/proc/${pid}/stat`));
  return st && st.state !== 'Z' && st.state !== 'X' ? st.ticks : undefined;
}

function procInfoAt(pid: number, bt: number): ProcInfo | undefined {
  const st = parseStat(readProc(`/proc/${pid}/stat`));
  if (!st) return undefined;
  const ticks = Number(st.ticks);
  let exe: string | undefined;
  try {
    exe = readlinkSync(`/proc/${pid}/exe`);
  } catch {
    exe = undefined;
  }
  const cmdline = (readProc(`/proc/${pid}/cmdline`) ?? '').split('\0').filter(Boolean);
  return {
    pid,
    ppid: st.ppid,
    session: st.session,
    state: st.state,
    startedAt: bt && Number.isFinite(ticks) ? new Date(bt + (ticks * 1000) / CLK_TCK) : undefined,
    exe,
    cmdline,
  };
}

export function procInfo(pid: number): ProcInfo | undefined {
  return procInfoAt(pid, bootTime());
}

/**
 * Every live process whose command line `wanted` accepts, found by one pass
 * over /proc: the command line is read first, and the rest of a process
 * only for those it keeps.
 */
export function processesWhere(wanted: (cmdline: string[]) => boolean): ProcInfo[] {
  const bt = bootTime();
  const out: ProcInfo[] = [];
  for (const d of readDirIfAny('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const cmd = readProc(`/proc/${d}/cmdline`);
    if (!cmd || !wanted(cmd.split('\0').filter(Boolean))) continue;
    const info = procInfoAt(Number(d), bt);
    if (info && info.state !== 'Z' && info.state !== 'X') out.push(info);
  }
  return out;
}

/**
 * The pid a pid file names: a positive integer, or undefined (no file, unreadable, or anything else
 * in it).
 */
export async function readPidFile(file: string): Promise<number | undefined> {
  // A few bytes of a regular file: a FIFO there would block a read for ever (opened
  // without blocking, then refused), /dev/zero would never end, a huge file is no pid file.
  let handle: FileHandle | undefined;
  let text: string;
  try {
    handle = await open(file, fsc.O_RDONLY | fsc.O_NONBLOCK);
    if (!(await handle.stat()).isFile()) return undefined;
    const buf = Buffer.alloc(PID_FILE_MAX);
    const { bytesRead } = await handle.read(buf, 0, PID_FILE_MAX, 0);
    if (bytesRead === PID_FILE_MAX) return undefined;
    text = buf.toString('utf8', 0, bytesRead);
  } catch {
    return undefined;
  } finally {
    await handle?.close().catch(() => undefined);
  }
  const n = Number(text.trim());
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** More than any pid file holds (a pid, a newline, some spaces). */
const PID_FILE_MAX = 64;

/** Milliseconds on a monotonic clock, for timeouts and latencies. */
export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
