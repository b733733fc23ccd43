/**
 * `ctl start`: returns only once the server answers its health URL, and fails
 * as soon as httpd is seen dead. Runs under the ctl lock (lifecycle.ts).
 */
import { promises as fs } from 'node:fs';
import { ApxsError } from '../core/errors.js';
import { canBind, whoListens } from '../core/ports.js';
import { nowMs, readPidFile, sleep } from '../core/proc.js';
import { runCapture } from '../core/run.js';
import { brokenConfigError, explainHttpdOutput } from '../httpd/configtest.js';
import { httpdCommand } from '../httpd/invoke.js';
import { serverProfile } from '../httpd/profile.js';
import { readServerInfo, type ServerInfo } from '../httpd/server-info.js';
import type { ServerRoot } from '../httpd/server-root.js';
import { logSince, logSize } from './error-log.js';
import { probeWords, waitHealthy, type Probe } from './health.js';
import { probeTlsVhosts, tlsProbeWarnings } from './tls-probe.js';
import { caDir, certPath } from '../tls/ca-dir.js';
import { endProcesses, findServerProcesses, forceStop, isOurHttpd } from './identity.js';
import { timeoutOf, type CtlOptions, type CtlResult } from './ctl-options.js';
import { rememberServerFiles } from './server-files.js';
import { serverState, type ServerState } from './server-state.js';
import { apxsCommand } from '../core/command-hint.js';
import { withCrashCapture } from './crash-capture.js';
import { trace } from '../core/trace.js';

/**
 * A line of httpd's output that says why it failed; the usage text 1.3 prints after `invalid
 * option` says nothing.
 */
const REASON = new RegExp(
  [
    'invalid|unrecognized|illegal',
    String.raw`\bbad\b|Syntax error|AH\d{5}|\berror\b`,
    "cannot|can't|could not|unable|not found|no such|denied|failed|already in use",
  ].join('|'),
  'i',
);

/**
 * The lines of a failed httpd run worth showing: those that give a reason,
 * and the line after each "Syntax error on line N of FILE:" (which holds the
 * message); else its last lines. 1.3 answers a bad option with one line of
 * reason and twenty of usage, so the last lines alone hide the reason.
 */
export function reasonLines(output: string, max = 8): string[] {
  const lines = output
    .split('\n')
    .map((l) => l.trimEnd())
    .filter(Boolean);
  const why = lines.filter(
    (l, i) => REASON.test(l) || (i > 0 && /Syntax error on line/.test(lines[i - 1]!)),
  );
  return (why.length ? why : lines.slice(-5)).slice(0, max);
}

/**
 * Ports of `info` that something holds; holders that are this server's own httpd are returned,
 * others are an error.
 */
async function portCheck(sr: ServerRoot, info: ServerInfo): Promise<number[]> {
  const ours: number[] = [];
  for (const l of info.listens) {
    const host = l.host === undefined || l.host === '*' ? '0.0.0.0' : l.host;
    if (await canBind(l.port, host === 'localhost' ? '127.0.0.1' : host)) continue;
    const holders = whoListens(l.port);
    const mine = holders.map((h) => isOurHttpd(h.pid, sr));
    const others = holders.filter((_, i) => !mine[i]);
    ours.push(...holders.filter((_, i) => mine[i]).map((h) => h.pid));
    // Our own httpd holding it is "already running" or orphaned workers, never "in use".
    if (others.length === 0 && holders.length > 0) continue;
    const who = others.length
      ? ` by ${others.map((h) => `pid ${h.pid} (${h.command || '?'})`).join(', ')}`
      : '';
    throw new ApxsError('PORT_IN_USE', `port ${l.port} is already in use${who}`, {
      hint: 'stop that process, or give this server another port (Listen in its httpd.conf)',
      data: { port: l.port, holders: others },
    });
  }
  return ours;
}

/**
 * A server already running: start succeeds only if it answers. The grace is
 * short because a server started by ctl was healthy when its start returned;
 * a longer wait only helps one started by other means a moment ago.
 */
export async function alreadyRunning(
  sr: ServerRoot,
  st: ServerState & { running: NonNullable<ServerState['running']> },
  url: string | undefined,
  opts: CtlOptions,
  t0: number,
  warnings: string[],
): Promise<CtlResult> {
  const pid = st.running.pid;
  let health: Probe | undefined;
  if (url) {
    const w = await waitHealthy(url, {
      deadline: nowMs() + Math.min(2, timeoutOf(opts)) * 1000,
      stillAlive: () => isOurHttpd(pid, sr),
    });
    health = w.last;
    if (!w.healthy) {
      throw new ApxsError(
        'UNHEALTHY',
        `httpd (pid ${pid}) is already running but ${url} answers ${probeWords(health)}`,
        {
          hint:
            `see \`${apxsCommand('ctl logs', { serverRoot: sr.root })}\`; ` +
            `\`${apxsCommand('ctl restart', { serverRoot: sr.root })}\` starts a new ` +
            'generation',
          data: {
            action: 'start',
            serverRoot: sr.root,
            pid,
            alreadyRunning: true,
            healthUrl: url,
            health,
            stale: st.stale ?? null,
            warnings,
          },
        },
      );
    }
  }
  return {
    action: 'start',
    serverRoot: sr.root,
    pid,
    healthUrl: url,
    health,
    elapsedMs: nowMs() - t0,
    alreadyRunning: true,
    stale: st.stale,
    warnings,
  };
}

/** Starts httpd; the caller holds the ctl lock. */
export async function startHoldingLock(sr: ServerRoot, opts: CtlOptions = {}): Promise<CtlResult> {
  const t0 = nowMs();
  const deadline = t0 + timeoutOf(opts) * 1000;
  const info = await readServerInfo(sr);
  const url = opts.url ?? info.healthUrl;
  const warnings: string[] = [];
  let st = await serverState(sr, info.pidFile);
  const stale = st.stale;
  if (stale) warnings.push(`removed a stale pid file ${stale.pidFile}: ${stale.reason}`);
  for (let pass = 0; ; pass++) {
    if (st.running)
      return alreadyRunning(sr, { ...st, running: st.running, stale }, url, opts, t0, warnings);
    if (st.orphans.length) {
      // They hold the port and answer with the old code: a new parent could never bind.
      const { killed } = await endProcesses(sr, st.orphans);
      warnings.push(
        'ended orphaned workers of this server root whose parent was gone (pid ' +
          `${st.orphans.join(', ')}${killed.length ? `; ${killed.length} needed SIGKILL` : ''})`,
      );
    }
    const oursHolding = await portCheck(sr, info);
    if (oursHolding.length === 0) break;
    if (pass === 1) {
      // Ours, holding the port, yet neither a detached parent nor an orphan (e.g. run in the
      // foreground): it serves this root.
      return alreadyRunning(
        sr,
        { ...st, stale, running: { pid: oursHolding[0]!, since: undefined } },
        url,
        opts,
        t0,
        warnings,
      );
    }
    st = await serverState(sr, info.pidFile);
  }
  await rememberServerFiles(sr, info);
  const offset = await logSize(info.errorLog);
  // 2.x: `-k start`; 1.3 has no -k and detaches by itself when run plainly.
  const plain = await httpdCommand(sr, (await serverProfile(sr)).traits.startArgs);
  const { cmd, warnings: crashWarnings } = await withCrashCapture(sr, plain, info.errorLog, offset);
  warnings.push(...crashWarnings);
  // As Debian's apache2ctl does: the run, lock and log dirs envvars names must exist.
  for (const v of ['APACHE_RUN_DIR', 'APACHE_LOCK_DIR', 'APACHE_LOG_DIR']) {
    if (cmd.env[v]) await fs.mkdir(cmd.env[v]!, { recursive: true });
  }
  // httpd parses the whole config before it detaches, so a broken config
  // fails right here with its message: this run is the configtest.
  trace('ctl:httpd-start', sr.root);
  const res = await runCapture(cmd.file, cmd.args, {
    env: cmd.env,
    timeoutMs: timeoutOf(opts) * 1000,
  });
  trace('ctl:httpd-start-exited', `${sr.root} exit ${res.exitCode}`);
  const failStart = async (why: string, pid: number | undefined): Promise<never> => {
    const log = await logSince(info.errorLog, offset);
    await forceStop(sr, info.pidFile, pid);
    throw new ApxsError('START_FAILED', why, {
      details: [
        ...reasonLines(res.all),
        ...(log.length ? ['error_log since start:', ...log] : []),
        ...explainHttpdOutput(res.all + log.join('\n')),
      ],
      hint: 'nothing was left running',
      data: { output: res.all, errorLog: log },
    });
  };
  if (res.exitCode !== 0) {
    if (/Syntax error|AH00526|Invalid command/.test(res.all)) {
      await forceStop(sr, info.pidFile, undefined);
      throw brokenConfigError(
        { output: res.all.trim(), explanations: explainHttpdOutput(res.all) },
        'httpd refused to start',
      );
    }
    const why = reasonLines(res.all).find((l) => REASON.test(l));
    await failStart(
      `${res.command} exited with ${res.exitCode}${why ? `: ${why.trim()}` : ''}`,
      undefined,
    );
  }
  // Wait for the pid file, then for the health URL, never longer than the
  // deadline. The detached httpd can still die (e.g. AH00099, it cannot
  // write its pid file): when no process of this root is left, stop waiting.
  let pid: number | undefined;
  let lastScan = nowMs();
  for (let delay = 2; nowMs() < deadline; delay = Math.min(delay * 2, 50)) {
    pid = await readPidFile(info.pidFile);
    if (pid !== undefined && isOurHttpd(pid, sr)) break;
    pid = undefined;
    if (nowMs() - lastScan >= 50) {
      lastScan = nowMs();
      if (findServerProcesses(sr).all.length === 0) {
        return failStart(
          `httpd exited right after it started (within ${Math.round(nowMs() - t0)} ms)`,
          undefined,
        );
      }
    }
    await sleep(delay);
  }
  if (pid === undefined)
    return failStart(`httpd did not write ${info.pidFile} within ${timeoutOf(opts)}s`, undefined);
  let health: Probe | undefined;
  if (url) {
    const alivePid = pid;
    const w = await waitHealthy(url, { deadline, stillAlive: () => isOurHttpd(alivePid, sr) });
    health = w.last;
    if (!w.healthy) {
      return failStart(
        w.died
          ? `httpd (pid ${pid}) died after starting`
          : `${url} did not answer below 500 within ${timeoutOf(opts)}s ` +
              `(last: ${probeWords(w.last)})`,
        pid,
      );
    }
  } else {
    warnings.push('no Listen directive found: started without a health check');
  }
  const tls = await probeTlsVhosts(sr, certPath(caDir()));
  warnings.push(...tlsProbeWarnings(tls));
  return {
    action: 'start',
    serverRoot: sr.root,
    pid,
    healthUrl: url,
    health,
    elapsedMs: nowMs() - t0,
    stale,
    warnings,
    ...(tls.length ? { tls } : {}),
  };
}
