/**
 * Processes, read from /proc: alive (zombies count as dead), what they run,
 * when they started. /proc lives in memory, so every function here reads it
 * synchronously and says so by returning a value, not a Promise.
 */
import { readlinkSync, realpathSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { readDirIfAny, readTextIfAny } from './fs.js';

export interface ProcInfo {
  pid: number;
  ppid: number;
  /** Session id: a daemonized httpd parent leads its own session, its workers belong to it. */
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
  if (bootTimeMs === undefined) {
    const stat = readProc('/proc/stat') ?? '';
    const m = /^btime (\d+)$/m.exec(stat);
    bootTimeMs = m ? Number(m[1]) * 1000 : 0;
  }
  return bootTimeMs;
}

/** Alive means it exists and is not a zombie waiting for a parent that never reaps it. */
export function isAlive(pid: number): boolean {
  const info = procInfo(pid);
  return !!info && info.state !== 'Z' && info.state !== 'X';
}

export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of readDirIfAny('/proc')) {
    if (/^\d+$/.test(d) && parseStat(readProc(`/proc/${d}/stat`))?.ppid === pid) out.push(Number(d));
  }
  return out;
}

/**
 * The one process identity of a server root's httpd: its executable is the
 * server's httpd binary (by realpath; " (deleted)" after a package upgrade
 * replaced it) AND its command line names this ServerRoot with `-d ROOT`, as
 * every httpd we start is run. A process merely named httpd or apache2, or
 * another server root's httpd, is not this server's. `defaultRoot` is the
 * root the binary uses when given no -d (Debian's /etc/apache2 is started
 * by its init scripts without one).
 */
export interface ServerIdentity {
  binary: string;
  serverRoot: string;
  defaultRoot?: string;
}

function namesRoot(cmdline: string[], id: ServerIdentity): boolean {
  const i = cmdline.indexOf('-d');
  if (i < 0) return id.defaultRoot !== undefined && path.resolve(id.defaultRoot) === path.resolve(id.serverRoot);
  const arg = cmdline[i + 1];
  return arg !== undefined && path.isAbsolute(arg) && path.resolve(arg) === path.resolve(id.serverRoot);
}

function realBinary(binary: string): string {
  try {
    return realpathSync(binary);
  } catch {
    return binary;
  }
}

export function isServerProcess(info: ProcInfo, id: ServerIdentity, real = realBinary(id.binary)): boolean {
  if (info.state === 'Z' || info.state === 'X' || !info.exe) return false;
  return info.exe.replace(/ \(deleted\)$/, '') === real && namesRoot(info.cmdline, id);
}

// /proc is in memory: read synchronously, through core/fs's readTextIfAny and readDirIfAny.
const readProc = readTextIfAny;

interface Stat {
  state: string;
  ppid: number;
  session: number;
  /** starttime: clock ticks since boot; with the pid, what tells a process from a later one that reuses its pid. */
  ticks: string;
}

/** /proc/PID/stat: "pid (comm) state ppid pgrp session ...", where comm may hold spaces and parentheses. */
function parseStat(stat: string | undefined): Stat | undefined {
  if (!stat) return undefined;
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: rest[0] ?? '?', ppid: Number(rest[1]), session: Number(rest[3]), ticks: rest[19] ?? '' };
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
    pid, ppid: st.ppid, session: st.session, state: st.state,
    startedAt: bt && Number.isFinite(ticks) ? new Date(bt + (ticks * 1000) / CLK_TCK) : undefined, exe, cmdline,
  };
}

export function procInfo(pid: number): ProcInfo | undefined {
  return procInfoAt(pid, bootTime());
}

/** Every live process of this identity, found by one pass over /proc. */
export function serverProcesses(id: ServerIdentity): ProcInfo[] {
  const bt = bootTime();
  const real = realBinary(id.binary);
  const out: ProcInfo[] = [];
  for (const d of readDirIfAny('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    // The command line first: it rules out nearly every process without a readlink.
    const cmd = readProc(`/proc/${d}/cmdline`);
    if (!cmd || !namesRoot(cmd.split('\0').filter(Boolean), id)) continue;
    const info = procInfoAt(Number(d), bt);
    if (info && isServerProcess(info, id, real)) out.push(info);
  }
  return out;
}

/** Pids of `binary` running on `serverRoot` (the identity of serverProcesses). */
export function processesOf(binary: string, serverRoot: string): number[] {
  return serverProcesses({ binary, serverRoot }).map((p) => p.pid);
}

/** The pid a pid file names: a positive integer, or undefined (no file, unreadable, or anything else in it). */
export async function readPidFile(file: string): Promise<number | undefined> {
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const n = Number(text.trim());
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** Milliseconds on a monotonic clock, for timeouts and latencies. */
export const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
