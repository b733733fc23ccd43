/**
 * The bodies of `ctl start|stop|graceful-stop|restart|graceful`, `ctl status` and `ctl configtest`
 * (logs and loglevel: ctl-log.ts).
 */
import { brokenConfigError, configTest } from '../lib/httpd/configtest.js';
import { status as serverStatus, type CtlResult } from '../lib/ctl/lifecycle.js';
import { ensure, type LifecycleVerb } from '../lib/ctl/lifecycle-change.js';
import type { ChangeOptions } from '../lib/core/change-report.js';
import { changeOutcome } from './change-output.js';
import { targetServerRoot } from './server-root.js';
import { warningLines } from './output.js';
import { healthNote } from '../lib/ctl/health-note.js';
import { isJson, progress } from './progress.js';
import type { Outcome } from './types.js';

interface CtlOpts {
  serverRoot?: string;
  url?: string;
  timeout: number;
}

function describe(r: CtlResult): string[] {
  const health = r.health
    ? ` ${r.healthUrl} answered ${r.health.status} in ${r.health.latencyMs.toFixed(1)} ms`
    : '';
  const head = r.alreadyRunning
    ? `httpd is already running (pid ${r.pid});${health}`
    : r.action.includes('stop') && r.pid === undefined
      ? `httpd's orphaned workers (pid ${r.orphans?.join(', ') ?? '?'}) ` +
        `ended in ${Math.round(r.elapsedMs)} ms`
      : r.action.includes('stop')
        ? `httpd (pid ${r.pid}) stopped in ${Math.round(r.elapsedMs)} ms`
        : `${r.action}: httpd (pid ${r.pid}) is up;${health}`;
  const note = r.action.includes('stop') ? undefined : healthNote(r.health?.status, r.serverRoot);
  return [
    head,
    ...(note ? [`note: ${note}`] : []),
    ...(r.stale ? [`removed stale pid file ${r.stale.pidFile}: ${r.stale.reason}`] : []),
    ...warningLines(r.warnings),
  ];
}

async function withSpinner<T>(text: string, fn: () => Promise<T>): Promise<T> {
  const p = await progress(isJson());
  p.start(text);
  try {
    return await fn();
  } finally {
    p.stop();
  }
}

/**
 * start, stop, graceful-stop, restart, graceful: the #23 contract (lib/ctl/lifecycle-change.ts).
 */
export async function lifecycle(name: LifecycleVerb, o: CtlOpts & ChangeOptions): Promise<Outcome> {
  const sr = await targetServerRoot(o, { writes: !o.check });
  const r = await withSpinner(`${name} httpd in ${sr.root}`, () =>
    ensure(name, sr, { url: o.url, timeoutSec: o.timeout, check: o.check }),
  );
  const note =
    name.includes('stop') || (!r.changed && r.pid === undefined) || o.check
      ? undefined
      : healthNote(r.health?.status, r.serverRoot);
  // ctl changes no config file: under --diff the list is empty.
  return changeOutcome(
    o,
    { changed: r.changed, msg: r.msg, warnings: r.warnings, diff: [] },
    { ...r, ...(note ? { healthNote: note } : {}) },
    o.check || (r.pid === undefined && !r.orphans) ? warningLines(r.warnings) : describe(r),
  );
}

export async function status(o: CtlOpts): Promise<Outcome> {
  const sr = await targetServerRoot(o);
  const s = await serverStatus(sr, { url: o.url, timeoutSec: Math.min(o.timeout, 10) });
  const note = healthNote(s.health?.status, sr.root);
  return {
    data: { ...s, ...(note ? { healthNote: note } : {}) },
    stdout: [
      `httpd${s.version ? ` ${s.version}` : ''} is running: pid ${s.pid} since ${s.since ?? '?'}`,
      `listening: ${s.listening.join(', ') || '(none seen)'}`,
      `health: ${s.healthUrl} answered ${s.health?.status} in ${s.health?.latencyMs.toFixed(1)} ms`,
      ...(s.crashes && s.crashes.count
        ? [`crashes since start: ${s.crashes.count}; last: ${s.crashes.last}`]
        : []),
      ...(s.tls ?? []).map(
        (t) =>
          `tls: ${t.url} ` +
          (t.ok
            ? `answered ${t.status}, verified against the local CA`
            : `FAILED: ${t.error ?? `status ${t.status}`}`) +
          (t.notAfter ? `; certificate until ${t.notAfter.slice(0, 10)} (${t.daysLeft} days)` : ''),
      ),
      ...(note ? [`note: ${note}`] : []),
    ],
  };
}

export async function configtest(o: CtlOpts): Promise<Outcome> {
  const sr = await targetServerRoot(o);
  const v = await configTest(sr);
  const lines = [
    v.output || (v.ok ? 'Syntax OK' : ''),
    ...v.explanations.map((e) => `explained: ${e}`),
  ];
  if (!v.ok) throw brokenConfigError(v, 'config is broken', { data: { ...v } });
  return { data: { ...v }, stdout: lines };
}

/**
 * `ctl crashes`: its body is commands/crashes.ts, so that only this subcommand loads the
 * symbolizers.
 */
export async function crashes(o: CtlOpts & { last?: number }): Promise<Outcome> {
  const sr = await targetServerRoot(o);
  const { crashReport } = require('./crashes.js') as typeof import('./crashes.js');
  return crashReport(sr, o.last);
}
