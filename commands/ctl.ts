/** The bodies of `ctl start|stop|graceful-stop|restart|graceful`, `ctl status` and `ctl configtest` (logs and loglevel: ctl-log.ts). */
import { brokenConfigError, configTest } from '../lib/httpd/configtest.js';
import {
  restart,
  start,
  status as serverStatus,
  stop,
  type CtlResult,
} from '../lib/ctl/lifecycle.js';
import type { ServerRoot } from '../lib/httpd/server-root.js';
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
      ? `httpd's orphaned workers (pid ${r.orphans?.join(', ') ?? '?'}) ended in ${Math.round(r.elapsedMs)} ms`
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

const LIFECYCLE: Record<
  'start' | 'stop' | 'graceful-stop' | 'restart' | 'graceful',
  (sr: ServerRoot, o: CtlOpts) => Promise<CtlResult>
> = {
  start: (sr, o) => start(sr, { url: o.url, timeoutSec: o.timeout }),
  stop: (sr, o) => stop(sr, { timeoutSec: o.timeout }),
  'graceful-stop': (sr, o) => stop(sr, { timeoutSec: o.timeout, graceful: true }),
  restart: (sr, o) => restart(sr, { url: o.url, timeoutSec: o.timeout }),
  graceful: (sr, o) => restart(sr, { url: o.url, timeoutSec: o.timeout, graceful: true }),
};

export async function lifecycle(name: keyof typeof LIFECYCLE, o: CtlOpts): Promise<Outcome> {
  const sr = await targetServerRoot(o, { writes: true });
  const r = await withSpinner(`${name} httpd in ${sr.root}`, () => LIFECYCLE[name](sr, o));
  const note = name.includes('stop') ? undefined : healthNote(r.health?.status, r.serverRoot);
  return { data: { ...r, ...(note ? { healthNote: note } : {}) }, human: describe(r) };
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
          `tls: ${t.url} ${t.ok ? `answered ${t.status}, verified against the local CA` : `FAILED: ${t.error ?? `status ${t.status}`}`}${t.notAfter ? `; certificate until ${t.notAfter.slice(0, 10)} (${t.daysLeft} days)` : ''}`,
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

/** `ctl crashes`: its body is commands/crashes.ts, so that only this subcommand loads the symbolizers. */
export async function crashes(o: CtlOpts & { last?: number }): Promise<Outcome> {
  const sr = await targetServerRoot(o);
  const { crashReport } = require('./crashes.js') as typeof import('./crashes.js');
  return crashReport(sr, o.last);
}
