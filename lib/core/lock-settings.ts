/**
 * Process-wide settings of lib/core/lock.ts that the CLI makes once (lib/
 * prints nothing): the wait a user chose (--wait, APXS_TS_LOCK_WAIT), which
 * overrides every caller's default, and who is told that a run is waiting.
 * A module of its own with no imports, so that setting them costs a command
 * that never takes a lock nothing (lock.ts is loaded only by those that do).
 */
import type { LockHolder } from './lock.js';

export const lockWaits: { waitMs?: number; onWait?: (holder: LockHolder) => void } = {};

export function configureLockWaits(settings: {
  waitMs?: number;
  onWait?: (holder: LockHolder) => void;
}): void {
  Object.assign(lockWaits, settings);
}

/**
 * Who holds a lock, in words, for the line a waiting run prints and for LOCKED: "pid 123 (node " +
 * "apxs-ts " + "vhost add " + "a.dd), " + "holding it " + "since 06:58:01Z " + "(12 s ago), " +
 * "stopped"
 */
export function describeHolder(h: LockHolder): string {
  const ago = Math.max(0, Math.round((Date.now() - Date.parse(h.since)) / 1000));
  const who =
    h.pid === null
      ? 'a process that is still writing it'
      : `pid ${h.pid}${h.command ? ` (${h.command})` : ''}`;
  const state =
    h.state === 'stopped'
      ? ', stopped (SIGSTOP or Ctrl-Z): it lets go only once continued or ended'
      : h.state === 'running'
        ? ', running'
        : '';
  return `${who}, holding it since ${h.since.slice(11, 19)}Z (${ago} s ago)${state}`;
}
