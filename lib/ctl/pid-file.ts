/**
 * The pid file: which process it names, whether that is still this server's
 * httpd (a stale file is removed and reported), and waiting until httpd is
 * gone and has removed it.
 */
import { promises as fs } from 'node:fs';
import { exists } from '../core/fs.js';
import { isAlive, nowMs, procInfo, readPidFile, sleep } from '../core/proc.js';
import type { ServerInfo } from '../httpd/server-info.js';
import type { ServerRoot } from '../httpd/server-root.js';
import { isOurHttpd } from './identity.js';

export interface Running {
  pid: number;
  since: string | undefined;
}

export interface StaleReport {
  pidFile: string;
  pid: number | undefined;
  reason: string;
}

/**
 * Reads the pid file; a stale one (dead process, or a pid now used by something else) is removed
 * and reported.
 */
export async function runningServer(
  serverRoot: ServerRoot,
  info: Pick<ServerInfo, 'pidFile'>,
  opts: { readOnly?: boolean } = {},
): Promise<{ running?: Running; stale?: StaleReport }> {
  const pid = await readPidFile(info.pidFile);
  const pidFileThere = await exists(info.pidFile);
  if (pid === undefined) {
    if (!pidFileThere) return {};
    // readOnly (--check, and the fast path of an idempotent start or stop): reported, left in
    // place.
    if (!opts.readOnly) await fs.rm(info.pidFile, { force: true });
    return { stale: { pidFile: info.pidFile, pid, reason: 'it holds no process id' } };
  }
  if (isOurHttpd(pid, serverRoot)) {
    const p = procInfo(pid);
    return { running: { pid, since: p?.startedAt?.toISOString() } };
  }
  // Not this server's httpd: never signalled, and the file is no use to anyone.
  const other = procInfo(pid);
  const alive = isAlive(pid);
  const otherHttpd = !!other?.exe && /\/(httpd|apache2?)( \(deleted\))?$/.test(other.exe);
  if (!opts.readOnly) await fs.rm(info.pidFile, { force: true });
  return {
    stale: {
      pidFile: info.pidFile,
      pid,
      reason: !alive
        ? `no process ${pid} is running`
        : otherHttpd
          ? `pid ${pid} now belongs to another program (an httpd of another server root)`
          : `pid ${pid} now belongs to another program`,
    },
  };
}

/** Waits until `pid` is gone and its pid file too; false at the deadline. */
export async function waitGone(pid: number, pidFile: string, deadline: number): Promise<boolean> {
  // Short, capped steps: reading /proc is cheap and a stop should return as soon as it is done.
  let delay = 2;
  while (nowMs() < deadline) {
    const alive = isAlive(pid);
    const fileThere = await exists(pidFile);
    if (!alive && !fileThere) return true;
    if (!alive && fileThere) {
      // httpd removes its pid file as its last act; a killed one never does.
      await sleep(delay);
      if (!isAlive(pid)) {
        await fs.rm(pidFile, { force: true });
        return true;
      }
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 4);
  }
  return false;
}
