/**
 * Failpoints: named steps of a multi-step change where a test can make
 * apxs-ts die, so a "kill -9 between two steps" test kills exactly there
 * instead of guessing a delay.
 *
 *   APXS_TS_FAILPOINT=edit:after-backup         SIGKILL at the first time that step is reached
 *   APXS_TS_FAILPOINT=edit:after-write@2        ... at the second time
 *   APXS_TS_FAILPOINT_MARK=/tmp/x/mark          first write the step's name there
 *   APXS_TS_FAILPOINT_MODE=wait                 write the mark, then wait to be killed
 *   APXS_TS_FAILPOINT_MODE=pause                write the mark, wait until the file
 *   APXS_TS_FAILPOINT_RESUME=/tmp/x/go            ... named here exists, then go on (no kill)
 *   APXS_TS_FAILPOINT_MODE=stop                 write the mark, SIGSTOP itself, go on at SIGCONT
 *
 * Only tests set these variables; without them `failpoint()` is one
 * environment lookup. The mark lets a test assert that the kill happened at
 * the step it names (and not before it, or after the command finished).
 *
 * The decision (`parseFailpoint`, `shouldFire`) and the action (`fire`) are
 * separate functions so unit tests can check them in-process
 * (test/unit/failpoint-mutation.test.ts); a process-level test of the real
 * SIGKILL is test/reliability/failpoint.test.ts.
 */
import { existsSync, writeFileSync } from 'node:fs';

const hits = new Map<string, number>();

/** Parses `name` or `name@N` (N >= 1; anything else counts as 1). */
export function parseFailpoint(spec: string): { name: string; nth: number } {
  const at = spec.lastIndexOf('@');
  if (at <= 0) return { name: spec, nth: 1 };
  const nth = Number(spec.slice(at + 1));
  return { name: spec.slice(0, at), nth: Number.isInteger(nth) && nth >= 1 ? nth : 1 };
}

/**
 * Counts one more arrival at step `name` (in `counts`, when `spec` names that
 * step) and says whether this is the arrival `spec` asks to die at.
 */
export function shouldFire(
  spec: string | undefined,
  name: string,
  counts: Map<string, number>,
): boolean {
  if (!spec) return false;
  const want = parseFailpoint(spec);
  if (want.name !== name) return false;
  const n = (counts.get(name) ?? 0) + 1;
  counts.set(name, n);
  return n === want.nth;
}

export interface FailpointEnv {
  APXS_TS_FAILPOINT?: string;
  APXS_TS_FAILPOINT_MARK?: string;
  APXS_TS_FAILPOINT_MODE?: string;
  APXS_TS_FAILPOINT_RESUME?: string;
}

const nap = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * What a failpoint does once it fires: writes the mark, waits in `wait` mode (up to `waitMs`), then
 * calls `die`. In `stop` mode it stops itself and returns at SIGCONT. In `pause` mode it waits
 * (up to `waitMs`) for the resume file and returns instead:
 * a test does something at exactly this step (saves a source between dev's build and its
 * install), then lets the process go on.
 */
export function fire(env: FailpointEnv, die: () => void, waitMs = 60_000): void {
  const mark = env.APXS_TS_FAILPOINT_MARK;
  if (mark) writeFileSync(mark, `${env.APXS_TS_FAILPOINT}\n`);
  if (env.APXS_TS_FAILPOINT_MODE === 'stop') {
    // The test holds the process at this step and lets it go on with SIGCONT (a race, not a kill).
    process.kill(process.pid, 'SIGSTOP');
    return;
  }
  const until = Date.now() + waitMs;
  if (env.APXS_TS_FAILPOINT_MODE === 'pause') {
    // Blocks the event loop too: nothing of this process runs meanwhile (events queue up).
    const resume = env.APXS_TS_FAILPOINT_RESUME;
    while (Date.now() < until && !(resume && existsSync(resume))) nap(20);
    return;
  }
  if (env.APXS_TS_FAILPOINT_MODE === 'wait') {
    // Block the event loop too: nothing of this process may run after the step.
    while (Date.now() < until) nap(1000);
  }
  die();
}

const sigkillSelf = () => {
  process.kill(process.pid, 'SIGKILL');
};

/**
 * Dies here when a test asked for it (see the header); otherwise does nothing. `die` is for unit
 * tests.
 */
export function failpoint(name: string, die: () => void = sigkillSelf): void {
  const spec = process.env.APXS_TS_FAILPOINT;
  if (!spec) return;
  if (!shouldFire(spec, name, hits)) return;
  fire(process.env, die);
}
