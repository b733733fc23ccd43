/**
 * Server control with a contract a script can rely on (unlike apachectl's):
 * start returns only once the server answers its health URL, stop only once
 * the process and its pid file are gone, status tells running from healthy,
 * and "not running" is its own exit code (3, as LSB init scripts use).
 */
import { promises as fs } from 'node:fs';
import { brokenConfigError, configTest, explainHttpdOutput, type ConfigTestResult } from '../httpd/configtest.js';
import { ApxsError } from '../core/errors.js';
import { probe, waitHealthy, type Probe } from './health.js';
import { httpdCommand } from '../httpd/invoke.js';
import { canBind, listeningAddresses, whoListens } from '../core/ports.js';
import { childrenOf, isAlive, readPidFile, sleep } from '../core/proc.js';
import { runCapture } from '../core/run.js';
import { readServerInfo, type ServerInfo } from '../httpd/server-info.js';
import type { ServerRoot } from '../httpd/server-root.js';
import { logSince, logSize } from './error-log.js';
import { forceStop } from './identity.js';
import { runningServer, waitGone, type StaleReport } from './pid-file.js';
import { serverFiles } from './server-files.js';

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
  warnings: string[];
}

const deadlineOf = (o: CtlOptions) => performance.now() + (o.timeoutSec ?? 30) * 1000;

async function portCheck(info: ServerInfo): Promise<void> {
  for (const l of info.listens) {
    const host = l.host === undefined || l.host === '*' ? '0.0.0.0' : l.host;
    if (await canBind(l.port, host === 'localhost' ? '127.0.0.1' : host)) continue;
    const holders = await whoListens(l.port);
    const who = holders.length ? ` by ${holders.map((h) => `pid ${h.pid} (${h.command || '?'})`).join(', ')}` : '';
    throw new ApxsError('PORT_IN_USE', `port ${l.port} is already in use${who}`, {
      hint: 'stop that process, or give this server another port (Listen in its httpd.conf)',
      data: { port: l.port, holders },
    });
  }
}

export async function start(sr: ServerRoot, opts: CtlOptions = {}): Promise<CtlResult> {
  const t0 = performance.now();
  const deadline = deadlineOf(opts);
  const info = await readServerInfo(sr);
  const url = opts.url ?? info.healthUrl;
  const warnings: string[] = [];
  const { running, stale } = await runningServer(sr, info);
  if (stale) warnings.push(`removed a stale pid file ${stale.pidFile}: ${stale.reason}`);
  if (running) {
    const health = url ? await probe(url) : undefined;
    return { action: 'start', serverRoot: sr.root, pid: running.pid, healthUrl: url, health, elapsedMs: performance.now() - t0, alreadyRunning: true, stale, warnings };
  }
  await portCheck(info);
  const offset = await logSize(info.errorLog);
  const cmd = await httpdCommand(sr, ['-k', 'start']);
  // As Debian's apache2ctl does: the run, lock and log dirs envvars names must exist.
  for (const v of ['APACHE_RUN_DIR', 'APACHE_LOCK_DIR', 'APACHE_LOG_DIR']) {
    if (cmd.env[v]) await fs.mkdir(cmd.env[v]!, { recursive: true });
  }
  // httpd parses the whole config before it detaches, so a broken config
  // fails right here with its message: this run is the configtest.
  const res = await runCapture(cmd.file, cmd.args, { env: cmd.env, timeoutMs: (opts.timeoutSec ?? 30) * 1000 });
  const failStart = async (why: string, pid: number | undefined): Promise<never> => {
    const log = await logSince(info.errorLog, offset);
    await forceStop(sr, info.pidFile, pid);
    throw new ApxsError('START_FAILED', why, {
      details: [...res.all.split('\n').filter(Boolean).slice(-5), ...(log.length ? ['error_log since start:', ...log] : []), ...explainHttpdOutput(res.all + log.join('\n'))],
      hint: 'nothing was left running',
      data: { output: res.all, errorLog: log },
    });
  };
  if (res.exitCode !== 0) {
    if (/Syntax error|AH00526|Invalid command/.test(res.all)) {
      await forceStop(sr, info.pidFile, undefined);
      throw brokenConfigError({ output: res.all.trim(), explanations: explainHttpdOutput(res.all) }, 'httpd refused to start');
    }
    await failStart(`${res.command} exited with ${res.exitCode}`, undefined);
  }
  // Wait for the pid file, then for the health URL, never longer than the deadline.
  let pid: number | undefined;
  for (let delay = 2; performance.now() < deadline; delay = Math.min(delay * 2, 50)) {
    pid = await readPidFile(info.pidFile);
    if (pid !== undefined && (await isAlive(pid))) break;
    pid = undefined;
    await sleep(delay);
  }
  if (pid === undefined) return failStart(`httpd did not write ${info.pidFile} within ${opts.timeoutSec ?? 30}s`, undefined);
  let health: Probe | undefined;
  if (url) {
    const alivePid = pid;
    const w = await waitHealthy(url, { deadline, stillAlive: () => isAlive(alivePid) });
    health = w.last;
    if (!w.healthy) {
      return failStart(
        w.died ? `httpd (pid ${pid}) died after starting` : `${url} did not answer below 500 within ${opts.timeoutSec ?? 30}s (last: ${w.last.status ?? w.last.error})`,
        pid,
      );
    }
  } else {
    warnings.push('no Listen directive found: started without a health check');
  }
  return { action: 'start', serverRoot: sr.root, pid, healthUrl: url, health, elapsedMs: performance.now() - t0, stale, warnings };
}

function notRunning(sr: ServerRoot, stale: StaleReport | undefined, action: string): ApxsError {
  return new ApxsError('NOT_RUNNING', `httpd is not running for ${sr.root}${stale ? ` (stale pid file ${stale.pidFile} removed: ${stale.reason})` : ''}`, {
    hint: action === 'status' ? 'start it with `apxs-ts ctl start`' : undefined,
    data: { action, serverRoot: sr.root, running: false, stale: stale ?? null },
  });
}

export async function stop(sr: ServerRoot, opts: CtlOptions & { graceful?: boolean } = {}): Promise<CtlResult> {
  const t0 = performance.now();
  const action = opts.graceful ? 'graceful-stop' : 'stop';
  // The pid file, not a config parse: a server whose config is broken now must still stop.
  const info = await serverFiles(sr);
  const { running, stale } = await runningServer(sr, info);
  if (!running) throw notRunning(sr, stale, action);
  process.kill(running.pid, opts.graceful ? 'SIGWINCH' : 'SIGTERM');
  const warnings: string[] = [];
  if (!(await waitGone(running.pid, info.pidFile, deadlineOf(opts)))) {
    warnings.push(`httpd (pid ${running.pid}) did not exit within ${opts.timeoutSec ?? 30}s: killed it and its children with SIGKILL`);
    await forceStop(sr, info.pidFile, running.pid);
  }
  return { action, serverRoot: sr.root, pid: running.pid, healthUrl: undefined, health: undefined, elapsedMs: performance.now() - t0, warnings };
}

/** Restart (SIGHUP) or graceful (SIGUSR1): configtest first, then wait for the new generation to answer. */
export async function restart(sr: ServerRoot, opts: CtlOptions & { graceful?: boolean } = {}): Promise<CtlResult & { configtest: ConfigTestResult }> {
  const t0 = performance.now();
  const action = opts.graceful ? 'graceful' : 'restart';
  const info = await readServerInfo(sr);
  const verdict = await configTest(sr);
  if (!verdict.ok) throw brokenConfigError(verdict, 'config is broken; the running server was left untouched');
  const { running, stale } = await runningServer(sr, info);
  if (!running) {
    // As apachectl does: restarting a stopped server starts it.
    const started = await start(sr, opts);
    return { ...started, action, configtest: verdict, warnings: [...started.warnings, 'httpd was not running: started it'] };
  }
  const deadline = deadlineOf(opts);
  const offset = await logSize(info.errorLog);
  const oldChildren = new Set(await childrenOf(running.pid));
  process.kill(running.pid, opts.graceful ? 'SIGUSR1' : 'SIGHUP');
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
  const { running, stale } = await runningServer(sr, info);
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
