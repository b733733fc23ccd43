/**
 * The one way apxs-ts changes a server's files: `withConfigEdit` holds the
 * server root's lock from the first read to the configtest and any rollback
 * (so concurrent installs and vhost adds serialize instead of losing each
 * other's blocks), hands the caller an EditTransaction for every write,
 * symlink, created directory and outside change (a hosts entry, via
 * `tx.onRollback`), runs httpd's configtest when anything changed, and
 * undoes everything byte for byte when httpd rejects the result or the
 * caller throws.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { EditTransaction } from '../core/edit-transaction.js';
import { withLock } from '../core/lock.js';
import { brokenConfigError, configTest, type ConfigTestResult } from './configtest.js';
import type { ServerRoot } from './server-root.js';

export interface ConfigEdit<T> {
  value: T;
  changed: string[];
  backups: string[];
  /** httpd's verdict, or null when nothing changed (no configtest run). */
  configtest: ConfigTestResult | null;
}

/** Long enough for a queue of configtests (~150 ms each) from many concurrent runs. */
const LOCK_TIMEOUT_MS = 120_000;

export async function withConfigEdit<T>(sr: ServerRoot, what: string, edit: (tx: EditTransaction) => Promise<T>): Promise<ConfigEdit<T>> {
  await fs.mkdir(sr.stateDir, { recursive: true });
  return withLock(path.join(sr.stateDir, 'config.lock'), async () => {
    const tx = new EditTransaction(path.join(sr.stateDir, 'backups'));
    let value: T;
    let verdict: ConfigTestResult | null = null;
    try {
      value = await edit(tx);
      if (tx.dirty) verdict = await configTest(sr);
    } catch (err) {
      await tx.rollback();
      throw err;
    }
    if (verdict && !verdict.ok) {
      const restored = await tx.rollback();
      throw brokenConfigError(verdict, `httpd rejected the config after ${what}`, {
        hint: `nothing was changed: ${restored.length} file(s) restored byte for byte`,
        data: { restored, configtest: verdict },
      });
    }
    // apxs-ts's own records (the ledger) are not news to the user.
    const changed = tx.changed.filter((f) => !f.startsWith(`${sr.stateDir}${path.sep}`));
    return { value, changed, backups: tx.backups, configtest: verdict };
  }, LOCK_TIMEOUT_MS);
}
