/**
 * One ctl at a time per server root: concurrent starts serialize (the first
 * starts httpd, the others then find it running), and no start's cleanup
 * can kill the server another start just brought up.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ApxsError } from '../core/errors.js';
import { withLock } from '../core/lock.js';
import type { ServerRoot } from '../httpd/server-root.js';

export async function withCtlLock<T>(
  sr: ServerRoot,
  timeoutSec: number,
  fn: () => Promise<T>,
): Promise<T> {
  await fs.mkdir(sr.stateDir, { recursive: true });
  const lockFile = path.join(sr.stateDir, 'ctl.lock');
  // Long enough to outwait another ctl's whole start (its own --timeout), and a little more.
  try {
    return await withLock(lockFile, fn, (timeoutSec + 5) * 1000);
  } catch (err) {
    if (err instanceof ApxsError && err.code === 'LOCKED') {
      // The lock's own message names the holder (pid, command, since when, stopped or running).
      throw new ApxsError(
        'LOCKED',
        `another apxs-ts ctl is still acting on ${sr.root}: ${err.message}`,
        {
          hint: err.hint,
          cause: err,
          data: { ...err.data, lockFile },
        },
      );
    }
    throw err;
  }
}
