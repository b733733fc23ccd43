/** Processes, read from /proc: alive (zombies count as dead), what they run, when they started. */
import { promises as fs } from 'node:fs';
import path from 'node:path';

export interface ProcInfo {
  pid: number;
  ppid: number;
  state: string;
  /** Process start, from /proc/PID/stat's starttime and the boot time. */
  startedAt: Date | undefined;
  exe: string | undefined;
  cmdline: string[];
}

let bootTimeMs: number | undefined;
const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) is 100 on every Linux we target

async function bootTime(): Promise<number> {
  if (bootTimeMs === undefined) {
    const stat = await fs.readFile('/proc/stat', 'utf8').catch(() => '');
    const m = /^btime (\d+)$/m.exec(stat);
    bootTimeMs = m ? Number(m[1]) * 1000 : 0;
  }
  return bootTimeMs;
}

export async function procInfo(pid: number): Promise<ProcInfo | undefined> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => undefined);
  if (!stat) return undefined;
  // "pid (comm) state ppid ..." where comm may contain spaces and parentheses.
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const state = rest[0] ?? '?';
  const ppid = Number(rest[1]);
  const ticks = Number(rest[19]);
  const bt = await bootTime();
  const exe = await fs.readlink(`/proc/${pid}/exe`).catch(() => undefined);
  const cmdline = (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0').filter(Boolean);
  return { pid, ppid, state, startedAt: bt && Number.isFinite(ticks) ? new Date(bt + (ticks * 1000) / CLK_TCK) : undefined, exe, cmdline };
}

/** Alive means it exists and is not a zombie waiting for a parent that never reaps it. */
export async function isAlive(pid: number): Promise<boolean> {
  const info = await procInfo(pid);
  return !!info && info.state !== 'Z' && info.state !== 'X';
}

export async function childrenOf(pid: number): Promise<number[]> {
  const out: number[] = [];
  for (const d of await fs.readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(d)) continue;
    const stat = await fs.readFile(`/proc/${d}/stat`, 'utf8').catch(() => '');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === pid) out.push(Number(d));
  }
  return out;
}

/** Processes whose command line runs `binary` on `serverRoot` (-d ROOT), for cleaning up after a failed start. */
export async function processesOf(binary: string, serverRoot: string): Promise<number[]> {
  const out: number[] = [];
  const real = await fs.realpath(binary).catch(() => binary);
  for (const d of await fs.readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(d)) continue;
    const info = await procInfo(Number(d));
    if (!info || info.state === 'Z') continue;
    const i = info.cmdline.indexOf('-d');
    const runsBinary = info.exe === real || info.cmdline[0] === binary || path.basename(info.cmdline[0] ?? '') === path.basename(binary);
    if (runsBinary && i >= 0 && path.resolve(info.cmdline[i + 1] ?? '') === serverRoot) out.push(info.pid);
  }
  return out;
}

export async function readPidFile(file: string): Promise<number | undefined> {
  const text = await fs.readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const n = Number(text.trim());
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
