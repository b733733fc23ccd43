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
// @ts-nocheck
function stryNS_9fa48() {
  var g = typeof globalThis === 'object' && globalThis && globalThis.Math === Math && globalThis || new Function("return this")();
  var ns = g.__stryker__ || (g.__stryker__ = {});
  if (ns.activeMutant === undefined && g.process && g.process.env && g.process.env.__STRYKER_ACTIVE_MUTANT__) {
    ns.activeMutant = g.process.env.__STRYKER_ACTIVE_MUTANT__;
  }
  function retrieveNS() {
    return ns;
  }
  stryNS_9fa48 = retrieveNS;
  return retrieveNS();
}
stryNS_9fa48();
function stryCov_9fa48() {
  var ns = stryNS_9fa48();
  var cov = ns.mutantCoverage || (ns.mutantCoverage = {
    static: {},
    perTest: {}
  });
  function cover() {
    var c = cov.static;
    if (ns.currentTestId) {
      c = cov.perTest[ns.currentTestId] = cov.perTest[ns.currentTestId] || {};
    }
    var a = arguments;
    for (var i = 0; i < a.length; i++) {
      c[a[i]] = (c[a[i]] || 0) + 1;
    }
  }
  stryCov_9fa48 = cover;
  cover.apply(null, arguments);
}
function stryMutAct_9fa48(id) {
  var ns = stryNS_9fa48();
  function isActive(id) {
    if (ns.activeMutant === id) {
      if (ns.hitCount !== void 0 && ++ns.hitCount > ns.hitLimit) {
        throw new Error('Stryker: Hit count limit reached (' + ns.hitCount + ')');
      }
      return true;
    }
    return false;
  }
  stryMutAct_9fa48 = isActive;
  return isActive(id);
}
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
  if (stryMutAct_9fa48("222")) {
    {}
  } else {
    stryCov_9fa48("222");
    await fs.mkdir(sr.stateDir, stryMutAct_9fa48("223") ? {} : (stryCov_9fa48("223"), {
      recursive: stryMutAct_9fa48("224") ? false : (stryCov_9fa48("224"), true)
    }));
    return withLock(path.join(sr.stateDir, stryMutAct_9fa48("225") ? "" : (stryCov_9fa48("225"), 'config.lock')), async () => {
      if (stryMutAct_9fa48("226")) {
        {}
      } else {
        stryCov_9fa48("226");
        const tx = new EditTransaction(path.join(sr.stateDir, stryMutAct_9fa48("227") ? "" : (stryCov_9fa48("227"), 'backups')));
        let value: T;
        let verdict: ConfigTestResult | null = null;
        try {
          if (stryMutAct_9fa48("228")) {
            {}
          } else {
            stryCov_9fa48("228");
            value = await edit(tx);
            if (stryMutAct_9fa48("230") ? false : stryMutAct_9fa48("229") ? true : (stryCov_9fa48("229", "230"), tx.dirty)) verdict = await configTest(sr);
          }
        } catch (err) {
          if (stryMutAct_9fa48("231")) {
            {}
          } else {
            stryCov_9fa48("231");
            await tx.rollback();
            throw err;
          }
        }
        if (stryMutAct_9fa48("234") ? verdict || !verdict.ok : stryMutAct_9fa48("233") ? false : stryMutAct_9fa48("232") ? true : (stryCov_9fa48("232", "233", "234"), verdict && (stryMutAct_9fa48("235") ? verdict.ok : (stryCov_9fa48("235"), !verdict.ok)))) {
          if (stryMutAct_9fa48("236")) {
            {}
          } else {
            stryCov_9fa48("236");
            const restored = await tx.rollback();
            throw brokenConfigError(verdict, stryMutAct_9fa48("237") ? `` : (stryCov_9fa48("237"), `httpd rejected the config after ${what}`), stryMutAct_9fa48("238") ? {} : (stryCov_9fa48("238"), {
              hint: stryMutAct_9fa48("239") ? `` : (stryCov_9fa48("239"), `nothing was changed: ${restored.length} file(s) restored byte for byte`),
              data: stryMutAct_9fa48("240") ? {} : (stryCov_9fa48("240"), {
                restored,
                configtest: verdict
              })
            }));
          }
        }
        // apxs-ts's own records (the ledger) are not news to the user.
        const changed = stryMutAct_9fa48("241") ? tx.changed : (stryCov_9fa48("241"), tx.changed.filter(stryMutAct_9fa48("242") ? () => undefined : (stryCov_9fa48("242"), f => stryMutAct_9fa48("243") ? f.startsWith(`${sr.stateDir}${path.sep}`) : (stryCov_9fa48("243"), !(stryMutAct_9fa48("244") ? f.endsWith(`${sr.stateDir}${path.sep}`) : (stryCov_9fa48("244"), f.startsWith(stryMutAct_9fa48("245") ? `` : (stryCov_9fa48("245"), `${sr.stateDir}${path.sep}`))))))));
        return stryMutAct_9fa48("246") ? {} : (stryCov_9fa48("246"), {
          value,
          changed,
          backups: tx.backups,
          configtest: verdict
        });
      }
    }, LOCK_TIMEOUT_MS);
  }
}