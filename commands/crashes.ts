/** `ctl crashes`: the body, kept out of commands/ctl.ts so that only this subcommand loads the symbolizers. */
import { readCorePattern } from '../lib/ctl/core-pattern.js';
import { crashLines, listCrashes } from '../lib/ctl/crashes.js';
import type { ServerRoot } from '../lib/httpd/server-root.js';
import type { Outcome } from './types.js';

export async function crashReport(sr: ServerRoot, last: number | undefined): Promise<Outcome> {
  const r = await listCrashes(sr, readCorePattern());
  const crashes = last ? r.crashes.slice(-last) : r.crashes;
  const head = !r.captured
    ? `${sr.root}: not started by \`apxs-ts ctl start\`, so no crash capture (start it with apxs-ts to record crashes)`
    : `${crashes.length} crash${crashes.length === 1 ? '' : 'es'} since ${r.since} (kernel.core_pattern "${r.corePattern.pattern}")`;
  return { data: { ...r, crashes }, stdout: [head, ...crashes.flatMap(crashLines)] };
}
