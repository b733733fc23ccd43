/**
 * `ctl crashes`: the body, kept out of commands/ctl.ts so that only this subcommand loads the
 * symbolizers.
 */
import { readCorePattern } from '../lib/ctl/core-pattern.js';
import { crashLines, listCrashes, SHOWN_CRASHES } from '../lib/ctl/crashes.js';
import type { ServerRoot } from '../lib/httpd/server-root.js';
import type { Outcome } from './types.js';

export async function crashReport(sr: ServerRoot, last: number | undefined): Promise<Outcome> {
  // Only the last ones are symbolized and printed: a crash loop leaves thousands (all are counted).
  const r = await listCrashes(sr, readCorePattern(), { last: last ?? SHOWN_CRASHES });
  const crashes = r.crashes;
  const more = r.count > crashes.length ? `; the last ${crashes.length} shown (-n N for more)` : '';
  const head = !r.captured
    ? `${sr.root}: not started by \`apxs-ts ctl start\`, so no ` +
      'crash capture (start it with apxs-ts to record crashes)'
    : `${r.count} crash${r.count === 1 ? '' : 'es'} since ` +
      `${r.since}${more} (kernel.core_pattern "${r.corePattern.pattern}")`;
  return {
    data: { ...r, crashes, shown: crashes.length },
    stdout: [head, ...crashes.flatMap(crashLines)],
  };
}
