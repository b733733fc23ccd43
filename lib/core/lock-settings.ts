/**
 * Process-wide settings of lib/core/lock.ts that the CLI makes once (lib/
 * prints nothing): the wait a user chose (--wait, APXS_TS_LOCK_WAIT), which
 * overrides every caller's default, and who is told that a run is waiting.
 * A module of its own with no imports, so that setting them costs a command
 * that never takes a lock nothing (lock.ts is loaded only by those that do).
 */
import type { LockHolder } from './lock.js';

export const lockWaits: { waitMs?: number; onWait?: (holder: LockHolder) => void } = {};

export function configureLockWaits(settings: { waitMs?: number; onWait?: (holder: LockHolder) => void }): void {
  Object.assign(lockWaits, settings);
}
