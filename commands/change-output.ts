/**
 * The contract's output (lib/core/change-report.ts) for the commands that
 * edit files: the JSON fields `changed`, `msg`, `warnings`,
 * `restart_required`, `diff` (under --diff), `check` (under --check), and
 * the human side: the msg on stderr, the unified diffs on stdout.
 */
import {
  unifiedDiff,
  type ChangeOptions,
  type ChangeReport,
  type FileDiff,
} from '../lib/core/change-report.js';

export interface ChangeFacts {
  changed: boolean;
  msg: string;
  warnings: string[];
  /** Where a reload is needed for the change to apply: whether it still is. */
  restartRequired?: boolean;
  diff: FileDiff[];
}

export function changeReport(f: ChangeFacts, o: ChangeOptions): ChangeReport {
  return {
    changed: f.changed,
    msg: f.msg,
    warnings: f.warnings,
    ...(f.restartRequired !== undefined ? { restart_required: f.restartRequired } : {}),
    ...(o.diff ? { diff: f.diff } : {}),
    ...(o.check ? { check: true } : {}),
  };
}

/** The unified diffs for stdout under --diff (nothing otherwise). */
export function diffLines(diff: FileDiff[], o: ChangeOptions): string[] | undefined {
  if (!o.diff) return undefined;
  return diff.map((d) => unifiedDiff(d).replace(/\n$/, ''));
}
