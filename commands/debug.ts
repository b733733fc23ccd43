import path from 'node:path';
import { ApxsError } from '../lib/core/errors.js';
import { frameText } from '../lib/ctl/crashes.js';
import { debugBatch, debugInteractive, type DebugResult } from '../lib/dev/debug.js';
import { targetServerRoot } from './server-root.js';
import type { Outcome } from './types.js';

function resultLines(r: DebugResult): string[] {
  const req = r.request
    ? `GET ${r.request.url}: ${r.request.status ?? r.request.error ?? 'no answer'}`
    : '';
  if (r.tool === 'gdb') {
    return [
      r.hit
        ? `breakpoint ${r.breakAt} reached (${req}); backtrace:`
        : `breakpoint ${r.breakAt} was not reached (${req})`,
      ...(r.backtrace ?? []).map((f, i) => `  #${i} ${frameText(f)}`),
    ];
  }
  return [
    `valgrind: ${r.summary ?? 'no summary (see the log)'} (${req})`,
    ...(r.errors ?? []).flatMap((e) => [
      `  ${e.kind}`,
      `    at ${frameText(e.top ?? e.frames[0])}`,
    ]),
    `log: ${r.log}`,
  ];
}

export async function debug(
  dir: string,
  o: { serverRoot?: string; break?: string; valgrind?: boolean; request?: string; timeout: number },
): Promise<Outcome> {
  const sr = await targetServerRoot(o);
  const opts = {
    sr,
    dir: path.resolve(dir),
    breakAt: o.break,
    valgrind: o.valgrind,
    timeoutSec: o.timeout,
  };
  if (o.valgrind && o.break) throw new ApxsError('USAGE', '--break goes with gdb, not --valgrind');
  if (o.request === undefined) {
    const r = await debugInteractive(opts);
    if (r.exitCode !== 0)
      throw new ApxsError(
        'CHILD_FAILED',
        `${path.basename(r.command[0]!)} exited with ${r.exitCode}`,
      );
    return { data: { command: r.command, exitCode: r.exitCode }, human: [] };
  }
  const r = await debugBatch({ ...opts, request: o.request });
  const failed = r.tool === 'gdb' ? !r.hit : (r.errorCount ?? 1) > 0;
  if (failed) {
    throw new ApxsError(
      r.tool === 'gdb' ? 'NOT_FOUND' : 'CHILD_FAILED',
      r.tool === 'gdb'
        ? `breakpoint ${r.breakAt} was not reached`
        : `valgrind: ${r.summary ?? 'no summary'}`,
      {
        details: resultLines(r).slice(1),
        data: { ...r },
      },
    );
  }
  return { data: { ...r }, stdout: resultLines(r) };
}
