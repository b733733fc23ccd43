/**
 * What runs for a server root now: its parent (named by the pid file, else
 * found by the process identity rule: a pid file can be lost, stale, or name
 * someone else's process) and any orphaned workers whose parent is gone.
 */
import { procInfo } from '../core/proc.js';
import type { ServerRoot } from '../httpd/server-root.js';
import { findServerProcesses } from './identity.js';
import { runningServer, type Running, type StaleReport } from './pid-file.js';

export interface ServerState {
  /** The parent ctl acts on: the pid file's when it is ours, else one found by the scan. */
  running?: Running;
  /** Every parent of this root (normally one). */
  parents: number[];
  orphans: number[];
  stale?: StaleReport;
}

/** `readOnly`: a stale pid file is reported, not removed (--check changes nothing). */
export async function serverState(
  serverRoot: ServerRoot,
  pidFile: string,
  opts: { readOnly?: boolean } = {},
): Promise<ServerState> {
  const { running, stale } = await runningServer(serverRoot, { pidFile }, opts);
  const procs = findServerProcesses(serverRoot);
  const parents = [...new Set([...(running ? [running.pid] : []), ...procs.parents])];
  let current = running;
  if (!current && parents[0] !== undefined) {
    const p = procInfo(parents[0]);
    current = { pid: parents[0], since: p?.startedAt?.toISOString() };
  }
  return {
    running: current,
    parents,
    orphans: procs.orphans.filter((o) => !parents.includes(o)),
    stale,
  };
}
