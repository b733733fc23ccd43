/**
 * Which processes are this server root's httpd, told apart as parents and
 * orphaned workers, and ending them. Only a process that passes the identity
 * rule (isServerProcess: this root's httpd binary AND `-d ROOT`) is ever
 * signalled, and it is checked again right before the signal: a pid read
 * from a file, or found a moment ago, may be another program's by now.
 */
import { promises as fs, realpathSync } from 'node:fs';
import path from 'node:path';
import { nowMs, procInfo, processesWhere, sleep, type ProcInfo } from '../core/proc.js';
import type { ServerRoot } from '../httpd/server-root.js';

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
  if (i < 0)
    return (
      id.defaultRoot !== undefined && path.resolve(id.defaultRoot) === path.resolve(id.serverRoot)
    );
  const arg = cmdline[i + 1];
  return (
    arg !== undefined && path.isAbsolute(arg) && path.resolve(arg) === path.resolve(id.serverRoot)
  );
}

function realBinary(binary: string): string {
  try {
    return realpathSync(binary);
  } catch {
    return binary;
  }
}

export function isServerProcess(
  info: ProcInfo,
  id: ServerIdentity,
  real = realBinary(id.binary),
): boolean {
  if (info.state === 'Z' || info.state === 'X' || !info.exe) return false;
  return info.exe.replace(/ \(deleted\)$/, '') === real && namesRoot(info.cmdline, id);
}

/**
 * Every live process of this identity, found by one pass over /proc (the command line rules out
 * nearly all first).
 */
export function serverProcesses(id: ServerIdentity): ProcInfo[] {
  const real = realBinary(id.binary);
  return processesWhere((cmdline) => namesRoot(cmdline, id)).filter((info) =>
    isServerProcess(info, id, real),
  );
}

/** Pids of `binary` running on `serverRoot` (the identity of serverProcesses). */
export function processesOf(binary: string, serverRoot: string): number[] {
  return serverProcesses({ binary, serverRoot }).map((p) => p.pid);
}

export function identityOf(serverRoot: ServerRoot): ServerIdentity {
  return {
    binary: serverRoot.httpd,
    serverRoot: serverRoot.root,
    defaultRoot: serverRoot.layout.builtInRoot(serverRoot),
  };
}

/**
 * Is `pid` an httpd of this server root? Another server's httpd, or a pid reused by another
 * program, is not.
 */
export function isOurHttpd(pid: number, serverRoot: ServerRoot): boolean {
  const info = procInfo(pid);
  return !!info && isServerProcess(info, identityOf(serverRoot));
}

export interface ServerProcesses {
  all: ProcInfo[];
  /**
   * Daemonized parents: each leads its own session. httpd forks and calls
   * setsid when it detaches: 2.x for `-k start`, 1.3 (which has no -k) when
   * run plainly; seen in /proc for 1.3.42, 2.0.65, 2.2.34 and 2.4 alike
   * (parent: ppid 1, pid = session; prefork workers: its session, ppid it).
   */
  parents: number[];
  /**
   * Workers whose parent is gone (killed with SIGKILL, by the OOM killer): they still listen and
   * answer.
   */
  orphans: number[];
}

export function findServerProcesses(serverRoot: ServerRoot): ServerProcesses {
  const all = serverProcesses(identityOf(serverRoot));
  const ours = new Set(all.map((p) => p.pid));
  const parents: number[] = [];
  const orphans: number[] = [];
  for (const p of all) {
    if (ours.has(p.ppid)) continue; // a worker of a live parent, or a parent's helper
    if (p.pid === p.session) {
      parents.push(p.pid);
      continue;
    }
    // Not a session leader and no parent of ours: a worker whose parent died
    // (re-parented to init, or to a subreaper in another session while its
    // own session leader, the old parent, is gone). `httpd -k start` itself,
    // before it detaches, is neither: its parent, the launcher, is alive and
    // in its session, even where that session's leader is long gone (CI
    // runners, nohup after logout).
    if (p.ppid === 1) {
      orphans.push(p.pid);
      continue;
    }
    const live = (i: ProcInfo | undefined) => !!i && i.state !== 'Z' && i.state !== 'X';
    if (live(procInfo(p.session))) continue;
    const parent = procInfo(p.ppid);
    if (!live(parent) || parent!.session !== p.session) orphans.push(p.pid);
  }
  return { all, parents, orphans };
}

/** Sends `signal` to each pid that is still this server's httpd; returns the pids signalled. */
export function signalOurs(
  serverRoot: ServerRoot,
  pids: number[],
  signal: NodeJS.Signals,
): number[] {
  const sent: number[] = [];
  for (const pid of pids) {
    if (!isOurHttpd(pid, serverRoot)) continue;
    try {
      process.kill(pid, signal);
      sent.push(pid);
    } catch {
      // gone between the check and the signal
    }
  }
  return sent;
}

/**
 * Exited for good: a killed event-MPM worker's main thread shows as a zombie
 * while its other threads still exit, and those hold its sockets open (a
 * port that still cannot be bound); so a zombie counts once it has one thread.
 */
async function exited(pid: number): Promise<boolean> {
  const info = procInfo(pid);
  if (!info) return true;
  if (info.state !== 'Z' && info.state !== 'X') return false;
  return (await fs.readdir(`/proc/${pid}/task`).catch(() => [])).length <= 1;
}

async function waitAllGone(pids: number[], ms: number): Promise<number[]> {
  const until = nowMs() + ms;
  let left = pids;
  for (let delay = 2; ; delay = Math.min(delay * 2, 20)) {
    const alive = await Promise.all(left.map(async (p) => !(await exited(p))));
    left = left.filter((_, i) => alive[i]);
    if (left.length === 0 || nowMs() >= until) return left;
    await sleep(delay);
  }
}

/**
 * Ends processes of this server: SIGTERM, then SIGKILL for those still there
 * after `graceMs`. An event-MPM worker whose parent is gone ignores SIGTERM
 * (it waits for its parent's pipe of death), so the KILL is what ends those.
 */
export async function endProcesses(
  serverRoot: ServerRoot,
  pids: number[],
  graceMs = 500,
): Promise<{ ended: number[]; killed: number[] }> {
  const termed = signalOurs(serverRoot, pids, 'SIGTERM');
  const survivors = await waitAllGone(termed, graceMs);
  const killed = signalOurs(serverRoot, survivors, 'SIGKILL');
  await waitAllGone(killed, 1000);
  return { ended: termed, killed };
}

/**
 * Kills every process of this server outright (and `pid` if it is one) and removes its pid file.
 */
export async function forceStop(
  serverRoot: ServerRoot,
  pidFile: string,
  pid: number | undefined,
): Promise<void> {
  const pids = new Set<number>(findServerProcesses(serverRoot).all.map((p) => p.pid));
  if (pid !== undefined) pids.add(pid);
  const killed = signalOurs(serverRoot, [...pids], 'SIGKILL');
  await waitAllGone(killed, 1000);
  await fs.rm(pidFile, { force: true });
}
