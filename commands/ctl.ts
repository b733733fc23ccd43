import { brokenConfigError, configTest } from '../lib/httpd/configtest.js';
import { ApxsError } from '../lib/core/errors.js';
import { accessLogPath, errorLogPath, followLines, tailForFollow } from '../lib/ctl/error-log.js';
import { restart, start, status as serverStatus, stop, type CtlResult } from '../lib/ctl/lifecycle.js';
import { logModuleName, setLogLevel } from '../lib/ctl/loglevel.js';
import { moduleLinePatternWithSources, perModuleLevelWarnings, readModuleSources } from '../lib/ctl/loglevel-advice.js';
import path from 'node:path';
import type { ServerRoot } from '../lib/httpd/server-root.js';
import { targetServerRoot } from './server-root.js';
import { warningLines } from './output.js';
import { healthNote } from '../lib/ctl/health-note.js';
import { isJson, progress } from './progress.js';
import { emit } from './stream.js';
import type { Outcome } from './types.js';

interface CtlOpts {
  serverRoot?: string;
  url?: string;
  timeout: number;
}

function describe(r: CtlResult): string[] {
  const health = r.health ? ` ${r.healthUrl} answered ${r.health.status} in ${r.health.latencyMs.toFixed(1)} ms` : '';
  const head = r.alreadyRunning ? `httpd is already running (pid ${r.pid});${health}`
    : r.action.includes('stop') && r.pid === undefined ? `httpd's orphaned workers (pid ${r.orphans?.join(', ') ?? '?'}) ended in ${Math.round(r.elapsedMs)} ms`
    : r.action.includes('stop') ? `httpd (pid ${r.pid}) stopped in ${Math.round(r.elapsedMs)} ms`
    : `${r.action}: httpd (pid ${r.pid}) is up;${health}`;
  const note = r.action.includes('stop') ? undefined : healthNote(r.health?.status, r.serverRoot);
  return [head, ...(note ? [`note: ${note}`] : []), ...(r.stale ? [`removed stale pid file ${r.stale.pidFile}: ${r.stale.reason}`] : []), ...warningLines(r.warnings)];
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

const LIFECYCLE: Record<'start' | 'stop' | 'graceful-stop' | 'restart' | 'graceful', (sr: ServerRoot, o: CtlOpts) => Promise<CtlResult>> = {
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
      ...(note ? [`note: ${note}`] : []),
    ],
  };
}

export async function configtest(o: CtlOpts): Promise<Outcome> {
  const sr = await targetServerRoot(o);
  const v = await configTest(sr);
  const lines = [v.output || (v.ok ? 'Syntax OK' : ''), ...v.explanations.map((e) => `explained: ${e}`)];
  if (!v.ok) throw brokenConfigError(v, 'config is broken', { data: { ...v } });
  return { data: { ...v }, stdout: lines };
}

export async function logs(o: CtlOpts & { lines: number; follow?: boolean; module?: string; access?: boolean; vhost?: string; source?: string }): Promise<Outcome> {
  const sr = await targetServerRoot(o);
  if (o.vhost !== undefined && !o.access) throw new ApxsError('USAGE', '--vhost goes with --access', { hint: `apxs-ts ctl logs --access --vhost ${o.vhost}` });
  const file = o.access ? await accessLogPath(sr, o.vhost) : await errorLogPath(sr);
  const mod = o.module === undefined ? undefined : logModuleName(o.module);
  const filter = mod === undefined ? undefined : moduleLinePatternWithSources(mod, await readModuleSources(path.resolve(o.source ?? '.'), mod));
  const n = o.lines;
  if (o.follow && isJson()) throw new ApxsError('USAGE', '--follow does not go with --json');
  const { lines, end } = await tailForFollow(file, n, filter);
  if (!o.follow) return { data: { file, lines, ...(o.module ? { module: o.module } : {}) }, stdout: lines };
  emit({ json: {}, lines });
  for await (const l of followLines(file, { from: end, filter })) emit({ json: {}, lines: [l] });
  throw new ApxsError('INTERNAL', 'following the log ended'); // followLog never returns
}

export async function loglevel(level: string | undefined, o: CtlOpts & { module?: string; reset?: boolean; reload: boolean; source?: string }): Promise<Outcome> {
  if (!level && !o.reset) throw new ApxsError('USAGE', 'give a LEVEL (e.g. debug), or --reset');
  if (level && o.reset) throw new ApxsError('USAGE', 'give a LEVEL or --reset, not both');
  const sr = await targetServerRoot(o, { writes: true });
  const r = await setLogLevel(sr, { level, module: o.module, reset: o.reset, reload: o.reload, timeoutSec: o.timeout });
  r.warnings.push(...(await perModuleLevelWarnings(r, { module: o.module, level, sourceDir: path.resolve(o.source ?? '.') })));
  const what = r.lines.length ? r.lines.join(', ') : 'the config\'s own LogLevel';
  return {
    data: { ...r },
    human: [
      r.changed.length ? `${sr.configFile}: ${what}${r.reloaded ? '; reloaded httpd' : ''}` : `${what} already: nothing changed`,
      ...warningLines(r.warnings),
    ],
  };
}
