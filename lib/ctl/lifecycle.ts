/**
 * Server control with a contract a script can rely on (unlike apachectl's):
 * start returns only once the server answers its health URL, stop only once
 * the process and its pid file are gone, status tells running from healthy,
 * and "not running" is its own exit code (3, as LSB init scripts use).
 * start, stop, restart and graceful hold a per-server-root lock.
 */
import { promises as fs } from 'node:fs';
import { ApxsError } from '../core/errors.js';
import { listeningAddresses } from '../core/ports.js';
import { childrenOf, isAlive, nowMs, sleep } from '../core/proc.js';
import { brokenConfigError, configTest, type ConfigTestResult } from '../httpd/configtest.js';
import { proofHolds, type ConfigProof } from '../httpd/config-proof.js';
import { serverProfile, type CtlVerb } from '../httpd/profile.js';
import { readServerInfo } from '../httpd/server-info.js';
import { probeTlsVhosts, tlsProbeWarnings, type TlsProbe } from './tls-probe.js';
import { caDir, certPath } from '../tls/ca-dir.js';
import type { ServerRoot } from '../httpd/server-root.js';
import { timeoutOf, type CtlOptions, type CtlResult } from './ctl-options.js';
import { withCtlLock } from './ctl-lock.js';
import { logSince, logSize, watchLog } from './error-log.js';
import { probe, probeWords, waitHealthy, type Probe } from './health.js';
import { endProcesses, findServerProcesses, forceStop, signalOurs } from './identity.js';
import { waitGone, type StaleReport } from './pid-file.js';
import { rememberServerFiles, serverFiles, stopFiles } from './server-files.js';
import { serverListening } from './listening.js';
import { serverState } from './server-state.js';
import { startHoldingLock } from './start.js';
import { apxsCommand } from '../core/command-hint.js';
import type { Crash } from './crashes.js';

export type { Running, StaleReport } from './pid-file.js';

export type { CtlOptions, CtlResult } from './ctl-options.js';
const deadlineOf = (o: CtlOptions) => nowMs() + timeoutOf(o) * 1000;

export function start(sr: ServerRoot, opts: CtlOptions = {}): Promise<CtlResult> {
  return withCtlLock(sr, timeoutOf(opts), () => startHoldingLock(sr, opts));
}

function notRunning(sr: ServerRoot, stale: StaleReport | undefined, action: string): ApxsError {
  return new ApxsError(
    'NOT_RUNNING',
    'httpd is not running for ' +
      `${sr.root}${stale ? ` (stale pid file ${stale.pidFile} removed: ${stale.reason})` : ''}`,
    {
      hint:
        action === 'status'
          ? `start it with \`${apxsCommand('ctl start', { serverRoot: sr.root })}\``
          : undefined,
      data: { action, serverRoot: sr.root, running: false, stale: stale ?? null },
    },
  );
}

/**
 * The signal for `verb` on this root's httpd, from its profile. A verb the
 * series has not got is refused before anything is signalled: 1.3 ignores
 * SIGWINCH, so sending it anyway would wait out the timeout, SIGKILL the
 * server mid-request and still report success.
 */
export async function signalFor(
  sr: ServerRoot,
  verb: CtlVerb,
  action: string,
): Promise<NodeJS.Signals> {
  const profile = await serverProfile(sr).catch((e: unknown) => {
    // Its binary can be gone (removed by an upgrade) while the server runs: SIGTERM stops every
    // series.
    if (verb === 'stop') return undefined;
    throw e;
  });
  if (!profile) return 'SIGTERM';
  const signal = profile.traits.signals[verb];
  if (signal) return signal;
  throw new ApxsError(
    'UNSUPPORTED',
    `httpd ${profile.series} has no ` +
      `${action}${verb === 'gracefulStop' ? ': use stop, or graceful to reload' : ''}`,
    {
      hint:
        'this server root runs httpd ' +
        `${profile.version}${verb === 'gracefulStop' ? ' (graceful-stop came with 2.2)' : ''}; ` +
        'nothing was signalled',
      data: { action, serverRoot: sr.root, version: profile.version, series: profile.series },
    },
  );
}

export async function stop(
  sr: ServerRoot,
  opts: CtlOptions & { graceful?: boolean } = {},
): Promise<CtlResult> {
  // Asked before the lock and the process scan: an unsupported verb is refused whether or not the
  // server runs.
  const signal = await signalFor(
    sr,
    opts.graceful ? 'gracefulStop' : 'stop',
    opts.graceful ? 'graceful-stop' : 'stop',
  );
  return withCtlLock(sr, timeoutOf(opts), () => stopHoldingLock(sr, signal, opts));
}

/**
 * True once every child of a gracefully stopping parent has exited; false when the parent is gone
 * first (it also ends by itself, and a child that never exits, such as mod_cgid's daemon or a piped
 * logger, leaves the stop to it) or at the deadline.
 */
async function workersFinished(parent: number, deadline: number): Promise<boolean> {
  while (nowMs() < deadline) {
    if (!isAlive(parent)) return false;
    if (childrenOf(parent).every((child) => !isAlive(child))) return true;
    await sleep(5);
  }
  return false;
}

async function stopHoldingLock(
  sr: ServerRoot,
  signal: NodeJS.Signals,
  opts: CtlOptions & { graceful?: boolean },
): Promise<CtlResult> {
  const t0 = nowMs();
  const action = opts.graceful ? 'graceful-stop' : 'stop';
  // Never a config parse: a server whose config is broken, or too large to
  // read, must still stop. The pid file is a hint; the process scan decides.
  const files = await stopFiles(sr);
  const { running, parents, orphans, stale } = await serverState(sr, files.pidFile);
  if (parents.length === 0 && orphans.length === 0) throw notRunning(sr, stale, action);
  const warnings: string[] = [];
  const deadline = deadlineOf(opts);
  const signalled = signalOurs(sr, parents, signal);
  for (const pid of signalled) {
    // Gracefully stopping, httpd's parent notices its last worker gone only at its next
    // once-a-second check; SIGTERM once they are all gone ends it at once, and with no worker
    // left it races nothing (SIGTERM while a worker closes a connection can crash 2.4's event
    // MPM: lib/testing/server.ts stopQuietly).
    if (opts.graceful && (await workersFinished(pid, deadline))) signalOurs(sr, [pid], 'SIGTERM');
    if (!(await waitGone(pid, files.pidFile, deadline))) {
      warnings.push(
        `httpd (pid ${pid}) did not exit within ${timeoutOf(opts)}s: ` +
          'killed it and its children with SIGKILL',
      );
      await forceStop(sr, files.pidFile, pid);
    }
  }
  // Orphaned workers, and anything of this root a parent left behind.
  const left = [...new Set([...orphans, ...findServerProcesses(sr).all.map((p) => p.pid)])];
  if (left.length) {
    const { killed } = await endProcesses(sr, left);
    const ended = orphans.length
      ? 'orphaned workers whose parent was gone'
      : 'processes its parent left behind';
    warnings.push(
      `ended ${ended} ` +
        `(pid ${left.join(', ')}${killed.length ? `; ${killed.length} needed SIGKILL` : ''})`,
    );
  }
  return {
    action,
    serverRoot: sr.root,
    pid: running?.pid,
    healthUrl: undefined,
    health: undefined,
    elapsedMs: nowMs() - t0,
    ...(stale ? { stale } : {}),
    ...(orphans.length ? { orphans } : {}),
    warnings,
  };
}

export interface RestartOptions extends CtlOptions {
  graceful?: boolean;
  /**
   * A configtest that passed just before (install's, under the config lock):
   * reused instead of running httpd -t again when the files it was reached
   * on are the same now (lib/httpd/config-proof.ts); else ignored.
   */
  provenConfig?: ConfigProof;
}

export type RestartResult = CtlResult & {
  configtest: ConfigTestResult;
  /** True when provenConfig held and no configtest of its own was run. */
  configtestReused?: boolean;
};

/**
 * Restart (SIGHUP) or graceful (SIGUSR1): configtest first, then wait for the new generation to
 * answer.
 */
export function restart(sr: ServerRoot, opts: RestartOptions = {}): Promise<RestartResult> {
  return withCtlLock(sr, timeoutOf(opts), () => restartHoldingLock(sr, opts));
}

async function restartHoldingLock(sr: ServerRoot, opts: RestartOptions): Promise<RestartResult> {
  const t0 = nowMs();
  const action = opts.graceful ? 'graceful' : 'restart';
  const info = await readServerInfo(sr);
  const signal = await signalFor(sr, opts.graceful ? 'graceful' : 'restart', action);
  // Taken under this lock, on the tree just read: a file changed since the proof means httpd -t
  // again.
  const reused = opts.provenConfig && (await proofHolds(sr, opts.provenConfig, info.tree));
  const verdict = reused && opts.provenConfig ? opts.provenConfig.verdict : await configTest(sr);
  if (!verdict.ok)
    throw brokenConfigError(verdict, 'config is broken; the running server was left untouched');
  const { running, stale } = await serverState(sr, info.pidFile);
  const deadline = deadlineOf(opts);
  const offset = await logSize(info.errorLog);
  const oldChildren = new Set(running ? childrenOf(running.pid) : []);
  await rememberServerFiles(sr, info); // the new generation's files
  /** A start where the restart could not signal: reported as the restart, saying why. */
  const startedInstead = async (why: string): Promise<RestartResult> => {
    const started = await startHoldingLock(sr, opts);
    return {
      ...started,
      action,
      configtest: verdict,
      ...(reused ? { configtestReused: true } : {}),
      warnings: [...started.warnings, why],
    };
  };
  // Checked again as it is signalled: the configtest took a while.
  if (running && (await needsNewPreload(sr, running.pid))) {
    // A restart keeps the parent's environment: a module built with --sanitize since needs a new
    // process.
    await stopHoldingLock(sr, await signalFor(sr, 'stop', 'stop'), opts);
    return startedInstead(
      'a module now needs its sanitizer runtime preloaded, which ' +
        'a restart cannot add: httpd was stopped and started',
    );
  }
  const signalled = running ? signalOurs(sr, [running.pid], signal) : [];
  if (!running || signalled.length === 0) {
    // As apachectl does: restarting a stopped server starts it.
    return startedInstead('httpd was not running: started it');
  }
  // The new generation has come when httpd logs "resuming normal operations"
  // after our signal (every series does, at notice level, which no LogLevel
  // hides: "Apache/1.3.42 (Unix) configured -- resuming normal operations",
  // the same in 2.0 and 2.2, with AH00489 in 2.4); then its health URL must answer.
  let resumed = false;
  // Woken by each write to the log; the timeout only bounds how late a death (no log line) is seen.
  const logWrites = watchLog(info.errorLog);
  try {
    for (let delay = 2; nowMs() < deadline; delay = Math.min(delay * 2, 50)) {
      if (!isAlive(running.pid)) break;
      const lines = await logSince(info.errorLog, offset, 200);
      if (lines.some((l) => /AH00489|resuming normal operations/.test(l))) {
        resumed = true;
        break;
      }
      await logWrites.next(delay);
    }
  } finally {
    logWrites.close();
  }
  const url = opts.url ?? info.healthUrl;
  const log = await logSince(info.errorLog, offset);
  if (!resumed) {
    throw new ApxsError(
      isAlive(running.pid) ? 'UNHEALTHY' : 'START_FAILED',
      `httpd did not come back after ${action}`,
      { details: log },
    );
  }
  const w = url
    ? await waitHealthy(url, { deadline, stillAlive: () => isAlive(running.pid) })
    : undefined;
  if (w && !w.healthy) {
    throw new ApxsError(
      'UNHEALTHY',
      `${url} did not answer below 500 after ${action} (last: ${probeWords(w.last)})`,
      { details: log },
    );
  }
  const newChildren = childrenOf(running.pid).filter((c) => !oldChildren.has(c));
  return {
    action,
    serverRoot: sr.root,
    pid: running.pid,
    healthUrl: url,
    health: w?.last,
    elapsedMs: nowMs() - t0,
    stale,
    warnings:
      newChildren.length === 0 && !opts.graceful
        ? ['no new child processes seen after restart']
        : [],
    configtest: verdict,
    ...(reused ? { configtestReused: true } : {}),
  };
}

export interface StatusResult {
  action: 'status';
  serverRoot: string;
  /**
   * httpd's version, from the server profile (undefined when `httpd -v` cannot run: the binary is
   * gone).
   */
  version: string | undefined;
  running: true;
  healthy: boolean;
  pid: number;
  since: string | undefined;
  listening: string[];
  healthUrl: string | undefined;
  health: Probe | undefined;
  /** The TLS vhosts' probes, when the root has any. */
  tls?: TlsProbe[];
  warnings?: string[];
  /**
   * Children that died by a signal since apxs-ts started it: how many, and the last (signal,
   * function, file:line).
   */
  crashes?: { count: number; last: string; lastCrash: Crash };
}

export async function status(sr: ServerRoot, opts: CtlOptions = {}): Promise<StatusResult> {
  const info = await serverFiles(sr);
  const { running, orphans, stale } = await serverState(sr, info.pidFile);
  if (!running && orphans.length) throw await orphanedWorkersError(sr, orphans, stale);
  if (!running) throw notRunning(sr, stale, 'status');
  const url = opts.url ?? info.healthUrl;
  // The /proc reads first: done after the probe's start, they would count
  // in the probe's latency (an IP connect starts on the next tick).
  const listening = await serverListening(sr.root, running.pid);
  const profiling = serverProfile(sr).catch(() => undefined);
  const [health, profile, tls] = await Promise.all([
    url ? probe(url, (opts.timeoutSec ?? 5) * 1000) : undefined,
    profiling,
    probeTlsVhosts(sr, certPath(caDir()), (opts.timeoutSec ?? 5) * 1000),
  ]);
  const result: StatusResult = {
    action: 'status',
    serverRoot: sr.root,
    version: profile?.version,
    running: true,
    healthy: !!health && health.status !== undefined && health.status < 500,
    pid: running.pid,
    since: running.since,
    listening,
    healthUrl: url,
    health,
    ...(tls.length ? { tls, warnings: tlsProbeWarnings(tls) } : {}),
  };
  // Required lazily, as the other commands do for code they need only sometimes.
  const { crashSummary } = require('./crashes.js') as typeof import('./crashes.js');
  const { readCorePattern } = require('./core-pattern.js') as typeof import('./core-pattern.js');
  const crashes = await crashSummary(sr, readCorePattern());
  if (crashes) result.crashes = crashes;
  if (!result.healthy) {
    throw new ApxsError(
      'UNHEALTHY',
      `httpd (pid ${running.pid}) is running but ${url ?? 'its health URL'} ` +
        `answers ${health ? probeWords(health) : 'nothing'}`,
      {
        data: { ...result },
      },
    );
  }
  return result;
}

async function orphanedWorkersError(
  sr: ServerRoot,
  orphans: number[],
  stale: StaleReport | undefined,
): Promise<ApxsError> {
  const listening = [...new Set(orphans.flatMap(listeningAddresses))];
  return new ApxsError(
    'ORPHANED_WORKERS',
    `orphaned workers, parent gone: pid ${orphans.join(', ')} of ${sr.root} still ` +
      `run${listening.length ? ` (listening on ${listening.join(', ')})` : ''}`,
    {
      hint:
        `\`${apxsCommand('ctl stop', { serverRoot: sr.root })}\` ends them; ` +
        `\`${apxsCommand('ctl start', { serverRoot: sr.root })}\` ends them and starts ` +
        'afresh',
      data: {
        action: 'status',
        serverRoot: sr.root,
        running: false,
        orphans,
        listening,
        stale: stale ?? null,
      },
    },
  );
}

/**
 * True when the modules need a sanitizer runtime (lib/httpd/sanitizer-env.ts) the running parent
 * was not started with.
 */
async function needsNewPreload(sr: ServerRoot, pid: number): Promise<boolean> {
  const { sanitizerRuntimes } =
    require('../httpd/sanitizer-env.js') as typeof import('../httpd/sanitizer-env.js');
  const want = await sanitizerRuntimes(sr.modulesDir);
  if (want.length === 0) return false;
  const environ = await fs.readFile(`/proc/${pid}/environ`, 'latin1').catch(() => undefined);
  if (environ === undefined) return false; // not ours to read: leave it to the restart
  const preload = environ.split('\0').find((e) => e.startsWith('LD_PRELOAD=')) ?? '';
  return want.some((r) => !preload.includes(r));
}
