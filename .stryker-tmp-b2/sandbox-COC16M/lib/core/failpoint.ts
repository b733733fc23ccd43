/**
 * Failpoints: named steps of a multi-step change where a test can make
 * apxs-ts die, so a "kill -9 between two steps" test kills exactly there
 * instead of guessing a delay.
 *
 *   APXS_TS_FAILPOINT=edit:after-backup         SIGKILL at the first time that step is reached
 *   APXS_TS_FAILPOINT=edit:after-write@2        ... at the second time
 *   APXS_TS_FAILPOINT_MARK=/tmp/x/mark          first write the step's name there
 *   APXS_TS_FAILPOINT_MODE=wait                 write the mark, then wait to be killed
 *
 * Only tests set these variables; without them `failpoint()` is one
 * environment lookup. The mark lets a test assert that the kill happened at
 * the step it names (and not before it, or after the command finished).
 */
// @ts-nocheck

import { writeFileSync } from 'node:fs';

const hits = new Map<string, number>();

/** Parses `name` or `name@N` (N >= 1). */
function wanted(spec: string): { name: string; nth: number } {
  const at = spec.lastIndexOf('@');
  if (at <= 0) return { name: spec, nth: 1 };
  const nth = Number(spec.slice(at + 1));
  return { name: spec.slice(0, at), nth: Number.isInteger(nth) && nth >= 1 ? nth : 1 };
}

/** Dies here when a test asked for it (see the header); otherwise does nothing. */
export function failpoint(name: string): void {
  const spec = process.env.APXS_TS_FAILPOINT;
  if (!spec) return;
  const want = wanted(spec);
  if (want.name !== name) return;
  const n = (hits.get(name) ?? 0) + 1;
  hits.set(name, n);
  if (n !== want.nth) return;
  const mark = process.env.APXS_TS_FAILPOINT_MARK;
  if (mark) writeFileSync(mark, `${spec}\n`);
  if (process.env.APXS_TS_FAILPOINT_MODE === 'wait') {
    // Block the event loop too: nothing of this process may run after the step.
    const until = Date.now() + 60_000;
    while (Date.now() < until) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1000);
  }
  process.kill(process.pid, 'SIGKILL');
}
