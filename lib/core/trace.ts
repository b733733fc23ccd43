/**
 * A step trace for tests: with APXS_TS_TRACE=FILE set, `trace(step, detail)`
 * appends "TIME PID STEP DETAIL" to FILE, synchronously (the lines of a run
 * killed later are on disk already). Without it, one environment lookup.
 * Placed where a run can stall under load (the servers of `apxs-ts test`,
 * lock waits), so a test whose wait runs out can say which step each job of
 * the run reached last (test/e2e/test-command.test.ts keeps it on failure).
 */
import { appendFileSync } from 'node:fs';

export function trace(step: string, detail = ''): void {
  const file = process.env.APXS_TS_TRACE;
  if (!file) return;
  try {
    appendFileSync(file, `${new Date().toISOString()} ${process.pid} ${step} ${detail}\n`);
  } catch {
    // A trace that cannot be written must not change what the run does.
  }
}
