import { devLoop, type Cycle, type CycleStep } from '../lib/dev/dev-loop.js';
import { pageText } from '../lib/dev/page.js';
import { targetServerRoot } from './server-root.js';
import { emit, status } from './stream.js';
import type { Outcome } from './types.js';
import { crashLines } from '../lib/ctl/crashes.js';

const ms = (n: number) => `${Math.round(n)} ms`;
const warningCount = (n: number) => (n ? ` (${n} warning${n === 1 ? '' : 's'})` : '');

/** One line per cycle; a failed one adds the lines that say why (the compiler's, httpd's). */
function cycleLines(c: Cycle): string[] {
  const head = `#${c.cycle}${c.changed.length ? ` [${c.changed.join(', ')}]` : ''} ${c.module}:`;
  const steps = [
    c.build &&
      (c.build.upToDate
        ? 'up to date'
        : `built in ${ms(c.build.ms)}${warningCount(c.build.warnings.length)}`),
    c.installed &&
      (c.installed.changed.length ? `installed in ${ms(c.installed.ms)}` : 'installed already'),
    c.server && c.server.action !== 'none' && `${c.server.action} in ${ms(c.server.ms)}`,
  ]
    .filter(Boolean)
    .join(', ');
  if (c.error) {
    const untouched =
      c.failedAt === 'build' || c.failedAt === 'install'
        ? '; the running server was not touched'
        : '';
    return [
      `${head} ${steps ? `${steps}; ` : ''}${c.failedAt} failed: ` +
        `${c.error.code}: ${c.error.message}${untouched}`,
      ...c.error.details.map((d) => `    ${d}`),
      ...(c.error.hint ? [`    hint: ${c.error.hint}`] : []),
    ];
  }
  const r = c.request!;
  if (!c.ok && c.crashes?.length) {
    return [
      `${head} ${steps} → GET ${r.url} ${r.status ?? r.error}: the ` +
        'child crashed (fix and save: the next build is served)',
      ...c.crashes.flatMap(crashLines).map((l) => `    ${l}`),
    ];
  }
  const text = pageText(r.body).join(' | ');
  return [
    `${head} ${steps} → GET ${r.url} ${r.status ?? r.error} in ${r.latencyMs.toFixed(1)} ` +
      `ms (${ms(c.elapsedMs)} in all)${text ? `: ${text}` : ''}`,
    ...(c.build?.warnings ?? []).map((w) => `    ${w}`),
  ];
}

export async function dev(
  dir: string,
  o: {
    serverRoot?: string;
    graceful?: boolean;
    stop?: boolean;
    release?: boolean;
    debounce: number;
    timeout: number;
  },
): Promise<Outcome> {
  const debounceMs = o.debounce;
  const timeoutSec = o.timeout;
  const sr = await targetServerRoot(o, { writes: true });
  // A long-running command: its cycles are printed as they come (commands/stream.ts), not held for
  // the outcome.
  const ac = new AbortController();
  const abort = () => ac.abort();
  process.once('SIGINT', abort);
  process.once('SIGTERM', abort);
  try {
    const summary = await devLoop({
      dir,
      sr,
      graceful: o.graceful,
      release: o.release,
      debounceMs,
      timeoutSec,
      signal: ac.signal,
      stopServer: o.stop,
      onCrash: (c) => {
        status('');
        emit({ json: { ok: false, event: 'crash', ...c }, lines: crashLines(c) });
      },
      onStep: (step: CycleStep | 'waiting', n) =>
        status(step === 'waiting' ? `watching ${dir} (Ctrl-C stops)…` : `#${n} ${step}…`),
      onCycle: (c) => {
        status('');
        const { ok, ...rest } = c;
        emit({ json: { ok, event: 'cycle', ...rest }, lines: cycleLines(c) });
      },
    });
    status('');
    return {
      data: { event: 'stopped', ...summary },
      human: [
        `stopped watching after ${summary.cycles} cycle${summary.cycles === 1 ? '' : 's'} ` +
          `(${summary.failed} failed)${summary.serverStopped ? '; stopped the server' : ''}`,
      ],
    };
  } finally {
    process.off('SIGINT', abort);
    process.off('SIGTERM', abort);
  }
}
