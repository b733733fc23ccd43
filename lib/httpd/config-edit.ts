/**
 * The one way apxs-ts changes a server's files: `withConfigEdit` holds the
 * server root's lock from the first read to the configtest and any rollback
 * (so concurrent installs and vhost adds serialize instead of losing each
 * other's blocks), first finishes or undoes an edit a killed run left behind
 * (its journal, `.apxs-ts/journal.json`), hands the caller an
 * EditTransaction for every write, symlink, created directory and hosts-file
 * change, runs httpd's configtest when anything changed, and undoes
 * everything byte for byte when httpd rejects the result or the caller
 * throws. A config httpd rejected before the edit is said to be so
 * (CONFIG_BROKEN_BEFORE), not blamed on the edit.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { notALink, writeError } from '../core/atomic-file.js';
import type { FileDiff } from '../core/change-report.js';
import { EditTransaction } from '../core/edit-transaction.js';
import { ApxsError } from '../core/errors.js';
import { failpoint } from '../core/failpoint.js';
import { lockHeld, withLock } from '../core/lock.js';
import {
  brokenConfigError,
  configTest,
  parseHttpdErrors,
  type ConfigTestResult,
} from './configtest.js';
import { configFingerprint, proofOf, type ConfigProof } from './config-proof.js';
import type { ServerRoot } from './server-root.js';

export interface ConfigEdit<T> {
  value: T;
  changed: string[];
  backups: string[];
  /** httpd's verdict, or null when nothing changed (no configtest run). */
  configtest: ConfigTestResult | null;
  /** An interrupted edit finished or undone first, a backup not kept, ... */
  warnings: string[];
  /**
   * When asked for (`prove`): the passing verdict with what it was reached on, for a restart to
   * reuse (config-proof.ts).
   */
  proof?: ConfigProof;
  /**
   * Each changed file before and after (apxs-ts's own state files left out), in a real run and a
   * plan alike.
   */
  diff: FileDiff[];
  /**
   * True: a plan (--check); nothing was written, and `configtest` is null because it was not run.
   */
  check: boolean;
  /**
   * Whether anything was (or, planned, would be) changed: a file, a link, a directory, the hosts
   * file. Never true on a second identical run.
   */
  didChange: boolean;
  /** Under --check: why httpd's configtest was not run (it reads the files as they are on disk). */
  configtestSkipped?: string;
}

export interface ConfigEditOptions {
  /** Plan only: record every change in memory, write nothing (lib/core/edit-transaction.ts). */
  check?: boolean;
  /**
   * Keep the passing verdict with what it was reached on, for a restart to reuse (config-proof.ts).
   */
  prove?: boolean;
}

/** How long a plan waits for a real edit of the same root to finish before reading the files. */
const CHECK_WAIT_MS = 120_000;

/** Long enough for a queue of configtests (~150 ms each) from many concurrent runs. */
const LOCK_TIMEOUT_MS = 120_000;

export const journalFile = (sr: ServerRoot) => path.join(sr.stateDir, 'journal.json');
const backupDir = (sr: ServerRoot) => path.join(sr.stateDir, 'backups');

/**
 * Finishes or undoes an edit of this root that a killed run left behind (call it under the root's
 * lock).
 */
export function recoverInterruptedEdit(sr: ServerRoot): Promise<string[]> {
  return EditTransaction.recover(journalFile(sr), backupDir(sr));
}

const ownState = (sr: ServerRoot) => (f: string) => f.startsWith(`${sr.stateDir}${path.sep}`);

export async function withConfigEdit<T>(
  sr: ServerRoot,
  what: string,
  edit: (tx: EditTransaction) => Promise<T>,
  opts: ConfigEditOptions = {},
): Promise<ConfigEdit<T>> {
  if (opts.check) return planConfigEdit(sr, what, edit);
  await fs.mkdir(sr.stateDir, { recursive: true }).catch((err: unknown) => {
    throw writeError(sr.stateDir, err);
  });
  await notALink(sr.stateDir);
  return withLock(
    path.join(sr.stateDir, 'config.lock'),
    async () => {
      failpoint('edit:locked');
      const recovered = await recoverInterruptedEdit(sr);
      const tx = new EditTransaction(backupDir(sr), { file: journalFile(sr), what });
      let value: T;
      let verdict: ConfigTestResult | null = null;
      let proof: ConfigProof | undefined;
      try {
        value = await edit(tx);
        if (tx.dirty) {
          failpoint('edit:before-configtest');
          // A fingerprint that cannot be taken only costs the restart its own configtest.
          const fingerprint = () => configFingerprint(sr).catch(() => undefined);
          const before = opts.prove ? await fingerprint() : undefined;
          verdict = await configTest(sr);
          // Taken again after: a file changed while httpd -t ran leaves no proof.
          const after = before !== undefined ? await fingerprint() : undefined;
          if (before !== undefined && after !== undefined)
            proof = proofOf(sr, before, after, verdict);
        }
      } catch (err) {
        await tx.rollback();
        throw withWarnings(err, [...recovered, ...tx.warnings]);
      }
      if (verdict && !verdict.ok) {
        const restored = await tx.rollback();
        const before = await configTest(sr);
        if (!before.ok) throw brokenBeforeError(before, what, restored);
        throw brokenConfigError(verdict, `httpd rejected the config after ${what}`, {
          hint: `nothing was changed: ${restored.length} file(s) restored byte for byte`,
          data: { restored, configtest: verdict, warnings: [...recovered, ...tx.warnings] },
        });
      }
      try {
        await tx.commit();
      } catch (err) {
        // commit throws only before the edit counts as done (the rename of the journal)
        await tx.rollback();
        throw writeError(journalFile(sr), err);
      }
      // apxs-ts's own records (the ledger) are not news to the user.
      const changed = tx.changed.filter((f) => !ownState(sr)(f));
      return {
        value,
        changed,
        backups: tx.backups,
        configtest: verdict,
        warnings: [...recovered, ...tx.warnings],
        ...(proof ? { proof } : {}),
        diff: await tx.diffs(ownState(sr)),
        check: false,
        didChange: tx.dirty,
      };
    },
    LOCK_TIMEOUT_MS,
  );
}

/**
 * --check: the same edit as a plan, writing nothing anywhere. No state dir
 * is made, and no lock is taken: taking the root's lock writes a lock file
 * (and a temp file beside it) in the state dir, and a check must not change
 * a byte or an mtime. Instead it waits, reading only, while a real edit holds
 * the lock (its lock file names a live process; a killed run's is not waited on), so that it plans
 * from a finished edit's files, not from a half-made one. A real edit that starts while the plan
 * reads can still make the plan's report out of date (never its own files wrong: the plan writes
 * nothing). An interrupted edit's journal is not recovered (that writes): the plan lays what
 * recovering it would leave over the disk in memory (EditTransaction.planRecovery), and says so.
 */
async function planConfigEdit<T>(
  sr: ServerRoot,
  what: string,
  edit: (tx: EditTransaction) => Promise<T>,
): Promise<ConfigEdit<T>> {
  const lockFile = path.join(sr.stateDir, 'config.lock');
  const deadline = Date.now() + CHECK_WAIT_MS;
  // A lock whose owner is dead (a kill -9) is not waited on: the next real run takes it over.
  while (Date.now() < deadline && (await lockHeld(lockFile)))
    await new Promise((r) => setTimeout(r, 20));
  const tx = new EditTransaction(undefined, undefined, { check: true });
  // An interrupted edit is not recovered (that writes): the plan starts from what recovering it
  // leaves.
  const pending = await tx.planRecovery(journalFile(sr));
  const warnings = pending
    ? [
        `${journalFile(sr)}: an edit of this root was interrupted; before ${what}, ` +
          `the real run first ${pending}; this plan starts from what that leaves`,
      ]
    : [];
  const value = await edit(tx);
  return {
    value,
    changed: tx.changed.filter((f) => !ownState(sr)(f)),
    backups: [],
    configtest: null,
    warnings: [...warnings, ...tx.warnings],
    diff: await tx.diffs(ownState(sr)),
    check: true,
    didChange: tx.dirty,
    ...(tx.dirty
      ? {
          configtestSkipped:
            "not run under --check: httpd's configtest reads " +
            'the files on disk, which a check does not change',
        }
      : {}),
  };
}

/** The edit was undone and the config as it was is rejected too: the edit is not the cause. */
function brokenBeforeError(verdict: ConfigTestResult, what: string, restored: string[]): ApxsError {
  const first = parseHttpdErrors(verdict.output)[0];
  const where = first?.file ? `${first.file}:${first.line}: ` : '';
  return new ApxsError(
    'CONFIG_BROKEN_BEFORE',
    `httpd rejects the config as it was before ${what}: ` +
      `${where}${first?.message ?? verdict.output.split('\n')[0]}`,
    {
      hint:
        'fix that first (apxs-ts ctl configtest shows it); nothing was ' +
        `changed${restored.length ? ` (${restored.length} file(s) put back)` : ''}`,
      details: [...verdict.output.split('\n').slice(-10), ...verdict.explanations],
      data: { output: verdict.output, errors: parseHttpdErrors(verdict.output), restored },
    },
  );
}

/** Adds what happened on the way (an interrupted edit recovered first) to an error's details. */
function withWarnings(err: unknown, warnings: string[]): unknown {
  if (warnings.length && err instanceof ApxsError)
    err.details.push(...warnings.map((w) => `warning: ${w}`));
  return err;
}
