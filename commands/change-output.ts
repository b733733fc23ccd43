/**
 * The #23 contract in a command's outcome (lib/core/change-report.ts): under
 * --json the one object carries `changed`, `msg`, `warnings`,
 * `restart_required`, `diff` (under --diff) and `check: true` (under --check);
 * the human output is the one-line msg on stderr and, under --diff, each
 * unified diff on stdout.
 */
import {
  type ChangeOptions,
  type ChangeReport,
  type FileDiff,
  unifiedDiff,
} from '../lib/core/change-report.js';
import { isServerRunning } from '../lib/ctl/running-httpd.js';
import type { ServerRoot } from '../lib/httpd/server-root.js';
import type { Outcome } from './types.js';

/** A command's Outcome under the contract: `data` plus the report, the diffs, the msg first. */
export function changeOutcome(
  o: ChangeOptions,
  report: {
    changed: boolean;
    msg: string;
    warnings: string[];
    diff?: FileDiff[];
    restart_required?: boolean;
  },
  data: Record<string, unknown>,
  human: string[] = [],
): Outcome {
  const diff = report.diff ?? [];
  const facts = { ...report, restartRequired: report.restart_required, diff };
  return {
    data: { ...data, ...changeReport(facts, o) },
    stdout: diffLines(diff, o),
    human: [`${o.check ? '(check) ' : ''}${report.msg}`, ...human],
  };
}

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

/** What an edit of a server's files returns (module install/uninstall, vhost add/remove). */
interface ServerEdit {
  /** The files changed. */
  changed: string[];
  didChange: boolean;
  diff: FileDiff[];
  check?: boolean;
  warnings: string[];
}

/**
 * The JSON of an edit of a server's files: every field the lib returns, `changed` the boolean (the
 * list of files in `files`), and the contract's. `needsReload`: the change applies only once a
 * running server reloads (these commands do not reload it), so `restart_required` is whether
 * one runs.
 */
export async function editChangeData(
  sr: ServerRoot,
  res: ServerEdit,
  msg: string,
  o: ChangeOptions,
  needsReload: boolean,
): Promise<{ data: Record<string, unknown>; stdout: string[] | undefined }> {
  const { changed: files, didChange, diff, check: _check, ...rest } = res;
  const report = changeReport(
    {
      changed: didChange,
      msg,
      warnings: res.warnings,
      restartRequired: needsReload && (await isServerRunning(sr)),
      diff,
    },
    o,
  );
  return { data: { ...rest, files, ...report }, stdout: diffLines(diff, o) };
}
