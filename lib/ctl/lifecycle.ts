/**
 * Server control with a contract a script can rely on (unlike apachectl's):
 * start returns only once the server answers its health URL, stop only once
 * the process and its pid file are gone, status tells running from healthy,
 * and "not running" is its own exit code (3, as LSB init scripts use).
 * start, stop, restart and graceful hold a per-server-root lock.
 */
import { ApxsError } from '../core/errors.js';
import { listeningAddresses } from '../core/ports.js';
import { childrenOf, isAlive, sleep } from '../core/proc.js';
import { brokenConfigError, configTest, type ConfigTestResult } from '../httpd/configtest.js';
import { readServerInfo } from '../httpd/server-info.js';
import type { ServerRoot } from '../httpd/server-root.js';
import { withCtlLock } from './ctl-lock.js';
import { logSince, logSize } from './error-log.js';
import { probe, waitHealthy, type Probe } from './health.js';
import { endProcesses, findServerProcesses, forceStop, signalOurs } from './identity.js';
import { waitGone, type StaleReport } from './pid-file.js';
import { rememberServerFiles, serverFiles, stopFiles } from './server-files.js';
import { serverState } from './server-state.js';
import { startHoldingLock } from './start.js';

export type { Running, StaleReport } from './pid-file.js';

export interface CtlOptions {
  /** Health URL; default: the first Listen address. */
  url?: string;
  timeoutSec?: number;
}

export interface CtlResult {
  action: string;
  serverRoot: string;
  pid: number | undefined;
  healthUrl: string | undefined;
  health: Probe | undefined;
  elapsedMs: number;
  alreadyRunning?: boolean;
  stale?: StaleReport;
  /** Workers whose parent was gone, that stop ended. */
  orphans?: number[];
  warnings: string[];
}

const timeoutOf = (o: CtlOptions) => o.timeoutSec ?? 30;
const deadlineOf = (o: CtlOptions) => performance.now() + timeoutOf(o) * 1000;

export function start(sr: ServerRoot, opts: CtlOptions = {}): Promise<CtlResult> {
  return withCtlLock(sr, timeoutOf(opts), () => startHoldingLock(sr, opts));
}

function notRunning(sr: ServerRoot, stale: StaleReport | undefined, action: string): ApxsError {
  return new ApxsError('NOT_RUNNING', `httpd is not running for ${sr.root}${stale ? ` (stale pid file ${stale.pidFile} removed: ${stale.reason})` : ''}`, {
    hint: action === 'status' ? 'start it with `apxs-ts ctl start`' : undefined,
    data: { action, serverRoot: sr.root, running: false, stale: stale ?? null },
  });
}

export function stop(sr: ServerRoot, opts: CtlOptions & { graceful?: boolean } = {}): Promise<CtlResult> {
  return withCtlLock(sr, timeoutOf(opts), () => stopHoldingLock(sr, opts));
}

async function stopHoldingLock(sr: ServerRoot, opts: CtlOptions & { graceful?: boolean }): Promise<CtlResult> {
  const t0 = performance.now();
  const action = opts.graceful ? 'graceful-stop' : 'stop';
  // Never a config parse: a server whose config is broken, or too large to
  // read, must still stop. The pid file is a hint; the process scan decides.
  const files = await stopFiles(sr);
  const { running, parents, orphans, stale } = await serverState(sr, files.pidFile);
  if (parents.length === 0 && orphans.length === 0) throw notRunning(sr, stale, action);
  const warnings: string[] = [];
  const deadline = deadlineOf(opts);
  const signalled = await signalOurs(sr, parents, opts.graceful ? 'SIGWINCH' : 'SIGTERM');
  for (const pid of signalled) {
    if (!(await waitGone(pid, files.pidFile, deadline))) {
      warnings.push(`httpd (pid ${pid}) did not exit within ${timeoutOf(opts)}s: killed it and its children with SIGKILL`);
      await forceStop(sr, files.pidFile, pid);
    }
  }
  // Orphaned workers, and anything of this root a parent left behind.
  const left = [...new Set([...orphans, ...(await findServerProcesses(sr)).all.map((p) => p.pid)])];
  if (left.length) {
    const { killed } = await endProcesses(sr, left);
    warnings.push(`ended ${orphans.length ? 'orphaned workers whose parent was gone' : 'processes its parent left behind'} (pid ${left.join(', ')}${killed.length ? `; ${killed.length} needed SIGKILL` : ''})`);
  }
  return {
    action, serverRoot: sr.root, pid: running?.pid, healthUrl: undefined, health: undefined, elapsedMs: performance.now() - t0,
    ...(stale ? { stale } : {}), ...(orphans.length ? { orphans } : {}), warnings,
  };
}

/** Restart (SIGHUP) or graceful (SIGUSR1): configtest first, then wait for the new generation to answer. */
export function restart(sr: ServerRoot, opts: CtlOptions & { graceful?: boolean } = {}): Promise<CtlResult & { configtest: ConfigTestResult }> {
  return withCtlLock(sr, timeoutOf(opts), () => restartHoldingLock(sr, opts));
}

async function restartHoldingLock(sr: ServerRoot, opts: CtlOptions & { graceful?: boolean }): Promise<CtlResult & { configtest: ConfigTestResult }> {
  const t0 = performance.now();
  const action = opts.graceful ? 'graceful' : 'restart';
  const info = await readServerInfo(sr);
  const verdict = await configTest(sr);
  if (!verdict.ok) throw brokenConfigError(verdict, 'config is broken; the running server was left untouched');
  const { running, stale } = await serverState(sr, info.pidFile);
  const deadline = deadlineOf(opts);
  const offset = await logSize(info.errorLog);
  const oldChildren = new Set(running ? await childrenOf(running.pid) : []);
  await rememberServerFiles(sr, info); // the new generation's files
  // Checked again as it is signalled: the configtest took a while.
  const signalled = running ? await signalOurs(sr, [running.pid], opts.graceful ? 'SIGUSR1' : 'SIGHUP') : [];
  if (!running || signalled.length === 0) {
    // As apachectl does: restarting a stopped server starts it.
    const started = await startHoldingLock(sr, opts);
    return { ...started, action, configtest: verdict, warnings: [...started.warnings, 'httpd was not running: started it'] };
  }
  // The new generation has come when httpd logs "resuming normal operations"
  // (AH00489) after our signal; then its health URL must answer.
  let resumed = false;
  for (let delay = 2; performance.now() < deadline; delay = Math.min(delay * 2, 50)) {
    if (!(await isAlive(running.pid))) break;
    const lines = await logSince(info.errorLog, offset, 200);
    if (lines.some((l) => /AH00489|resuming normal operations/.test(l))) {
      resumed = true;
      break;
    }
    await sleep(delay);
  }
  const url = opts.url ?? info.healthUrl;
  const log = await logSince(info.errorLog, offset);
  if (!resumed) {
    throw new ApxsError(await isAlive(running.pid) ? 'UNHEALTHY' : 'START_FAILED',
      `httpd did not come back after ${action}`, { details: log });
  }
  const w = url ? await waitHealthy(url, { deadline, stillAlive: () => isAlive(running.pid) }) : undefined;
  if (w && !w.healthy) {
    throw new ApxsError('UNHEALTHY', `${url} did not answer below 500 after ${action} (last: ${w.last.status ?? w.last.error})`, { details: log });
  }
  const newChildren = (await childrenOf(running.pid)).filter((c) => !oldChildren.has(c));
  return {
    action, serverRoot: sr.root, pid: running.pid, healthUrl: url, health: w?.last, elapsedMs: performance.now() - t0, stale,
    warnings: newChildren.length === 0 && !opts.graceful ? ['no new child processes seen after restart'] : [], configtest: verdict,
  };
}

export interface StatusResult {
  action: 'status';
  serverRoot: string;
  running: true;
  healthy: boolean;
  pid: number;
  since: string | undefined;
  listening: string[];
  healthUrl: string | undefined;
  health: Probe | undefined;
}

export async function status(sr: ServerRoot, opts: CtlOptions = {}): Promise<StatusResult> {
  const info = await serverFiles(sr);
  const { running, orphans, stale } = await serverState(sr, info.pidFile);
  if (!running && orphans.length) throw await orphanedWorkersError(sr, orphans, stale);
  if (!running) throw notRunning(sr, stale, 'status');
  const url = opts.url ?? info.healthUrl;
  const health = url ? await probe(url, (opts.timeoutSec ?? 5) * 1000) : undefined;
  const result: StatusResult = {
    action: 'status', serverRoot: sr.root, running: true,
    healthy: !!health && health.status !== undefined && health.status < 500,
    pid: running.pid, since: running.since, listening: await listeningAddresses(running.pid), healthUrl: url, health,
  };
  if (!result.healthy) {
    throw new ApxsError('UNHEALTHY', `httpd (pid ${running.pid}) is running but ${url ?? 'its health URL'} answers ${health?.status ?? health?.error ?? 'nothing'}`, {
      data: { ...result },
    });
  }
  return result;
}

async function orphanedWorkersError(sr: ServerRoot, orphans: number[], stale: StaleReport | undefined): Promise<ApxsError> {
  const listening = [...new Set((await Promise.all(orphans.map(listeningAddresses))).flat())];
  return new ApxsError('ORPHANED_WORKERS', `orphaned workers, parent gone: pid ${orphans.join(', ')} of ${sr.root} still run${listening.length ? ` (listening on ${listening.join(', ')})` : ''}`, {
    hint: '`apxs-ts ctl stop` ends them; `apxs-ts ctl start` ends them and starts afresh',
    data: { action: 'status', serverRoot: sr.root, running: false, orphans, listening, stale: stale ?? null },
  });
}
