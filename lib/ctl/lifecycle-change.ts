/**
 * ctl start / stop / graceful-stop / restart / graceful under the #23
 * contract (lib/core/change-report.ts): each says whether it changed the
 * server's state, a second identical run changes nothing (no signal, no file
 * written, not even the ctl lock taken), and `check` decides from a
 * read-only look (no signal, no pid file removed) what a real run would do.
 *
 * - start: already running and healthy → changed false (a running server
 *   that does not answer stays an error, as before); else it starts.
 * - stop, graceful-stop: not running → changed false, "not running" (exit 0;
 *   `ctl status` keeps exit 3). A stale pid file counts as a change: stop
 *   removes it.
 * - restart, graceful: always changed. On a stopped server they start it,
 *   as Ansible's service module does for state=restarted (and apachectl).
 *
 * These act on the process themselves: no `restart_required`.
 */
import { ApxsError } from '../core/errors.js';
import { brokenConfigError, configTest } from '../httpd/configtest.js';
import { readServerInfo } from '../httpd/server-info.js';
import type { ServerRoot } from '../httpd/server-root.js';
import { nowMs } from '../core/proc.js';
import type { CtlOptions, CtlResult } from './ctl-options.js';
import { restart, signalFor, start, stop } from './lifecycle.js';
import { stopFiles } from './server-files.js';
import { serverState } from './server-state.js';
import { alreadyRunning } from './start.js';

export type LifecycleVerb = 'start' | 'stop' | 'graceful-stop' | 'restart' | 'graceful';

export interface CtlChange extends CtlResult {
  changed: boolean;
  msg: string;
}

export interface ChangeCtlOptions extends CtlOptions {
  /** Decide and report; signal nothing, write nothing. */
  check?: boolean;
}

function idle(action: string, sr: ServerRoot, t0: number): CtlResult {
  return {
    action,
    serverRoot: sr.root,
    pid: undefined,
    healthUrl: undefined,
    health: undefined,
    elapsedMs: nowMs() - t0,
    warnings: [],
  };
}

export function ensure(
  verb: LifecycleVerb,
  sr: ServerRoot,
  opts: ChangeCtlOptions,
): Promise<CtlChange> {
  if (verb === 'start') return ensureStarted(sr, opts);
  if (verb === 'stop' || verb === 'graceful-stop')
    return ensureStopped(sr, { ...opts, graceful: verb === 'graceful-stop' });
  return reload(sr, { ...opts, graceful: verb === 'graceful' });
}

export async function ensureStarted(sr: ServerRoot, opts: ChangeCtlOptions): Promise<CtlChange> {
  const t0 = nowMs();
  const info = await readServerInfo(sr);
  // Read-only first, outside the ctl lock: a healthy running server is the end of it.
  const st = await serverState(sr, info.pidFile, { readOnly: true });
  if (st.running) {
    const r = await alreadyRunning(
      sr,
      { ...st, running: st.running },
      opts.url ?? info.healthUrl,
      opts,
      t0,
      [],
    );
    return { ...r, changed: false, msg: `httpd is already running (pid ${r.pid})` };
  }
  if (opts.check) {
    // A real start fails on a broken config before anything runs: so does its check.
    const verdict = await configTest(sr);
    if (!verdict.ok) throw brokenConfigError(verdict, 'httpd would refuse to start');
    return {
      ...idle('start', sr, t0),
      ...(st.stale ? { stale: st.stale } : {}),
      ...(st.orphans.length ? { orphans: st.orphans } : {}),
      changed: true,
      msg: `would start httpd for ${sr.root}`,
    };
  }
  // Under the lock start looks again: of two starts at once, one starts and the other finds it
  // running.
  const r = await start(sr, opts);
  const changed = !r.alreadyRunning || !!r.stale;
  return {
    ...r,
    changed,
    msg: r.alreadyRunning
      ? `httpd is already running (pid ${r.pid})`
      : `started httpd (pid ${r.pid})`,
  };
}

export async function ensureStopped(
  sr: ServerRoot,
  opts: ChangeCtlOptions & { graceful?: boolean },
): Promise<CtlChange> {
  const t0 = nowMs();
  const action = opts.graceful ? 'graceful-stop' : 'stop';
  // A verb this httpd lacks is refused whether or not it runs (as stop does).
  await signalFor(sr, opts.graceful ? 'gracefulStop' : 'stop', action);
  const files = await stopFiles(sr);
  const st = await serverState(sr, files.pidFile, { readOnly: true });
  const nothing = st.parents.length === 0 && st.orphans.length === 0;
  if (nothing && !st.stale)
    return { ...idle(action, sr, t0), changed: false, msg: 'httpd is not running' };
  if (opts.check)
    return {
      ...idle(action, sr, t0),
      pid: st.running?.pid,
      ...(st.stale ? { stale: st.stale } : {}),
      ...(st.orphans.length ? { orphans: st.orphans } : {}),
      changed: true,
      msg: nothing
        ? `httpd is not running; would remove the stale pid file ${st.stale?.pidFile}`
        : `would ${action} httpd${st.running ? ` (pid ${st.running.pid})` : ''}`,
    };
  try {
    const r = await stop(sr, opts);
    return {
      ...r,
      changed: true,
      msg: r.pid !== undefined ? `stopped httpd (pid ${r.pid})` : 'ended orphaned workers',
    };
  } catch (err) {
    // Gone in the meantime (another stop), or only a stale pid file, which the scan removed.
    if (!(err instanceof ApxsError && err.code === 'NOT_RUNNING')) throw err;
    const stale = (err.data as { stale?: CtlResult['stale'] } | undefined)?.stale ?? undefined;
    return {
      ...idle(action, sr, t0),
      ...(stale ? { stale } : {}),
      changed: !!stale,
      msg: stale
        ? `httpd is not running (removed the stale pid file ${stale.pidFile})`
        : 'httpd is not running',
    };
  }
}

export async function reload(
  sr: ServerRoot,
  opts: ChangeCtlOptions & { graceful?: boolean },
): Promise<CtlChange> {
  const action = opts.graceful ? 'graceful' : 'restart';
  if (!opts.check) {
    const r = await restart(sr, opts);
    return {
      ...r,
      changed: true,
      msg: r.warnings.includes('httpd was not running: started it')
        ? `httpd was not running: started it (pid ${r.pid})`
        : `${action === 'graceful' ? 'graceful-restarted' : 'restarted'} httpd (pid ${r.pid})`,
    };
  }
  const t0 = nowMs();
  // What the real run checks before it signals: the verb, then the config.
  await signalFor(sr, opts.graceful ? 'graceful' : 'restart', action);
  const verdict = await configTest(sr);
  if (!verdict.ok)
    throw brokenConfigError(verdict, 'config is broken; the running server was left untouched');
  const info = await readServerInfo(sr);
  const st = await serverState(sr, info.pidFile, { readOnly: true });
  return {
    ...idle(action, sr, t0),
    pid: st.running?.pid,
    changed: true,
    msg: st.running
      ? `would ${action === 'graceful' ? 'graceful-restart' : 'restart'} ` +
        `httpd (pid ${st.running.pid})`
      : 'httpd is not running: would start it',
  };
}
