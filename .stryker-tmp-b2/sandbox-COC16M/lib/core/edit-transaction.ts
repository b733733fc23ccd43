/**
 * A set of changes that either all stay or are all undone byte for byte.
 * Like certbot's Apache reverter, but in memory for the duration of one
 * command plus a timestamped backup on disk for the user. Besides file writes
 * and symlinks it undoes what callers register with `onRollback` (a hosts
 * file entry, a directory it created), in reverse order.
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
import { backupFile, readIfExists, writeFileAtomic } from './atomic-file.js';
import { exists } from './fs.js';
interface Original {
  content: Buffer | undefined;
  mode: number | undefined;
}
type Undo = () => Promise<unknown>;
export class EditTransaction {
  private readonly originals = new Map<string, Original>();
  /** Symlinks we changed and what they pointed at before (undefined: none). */
  private readonly links = new Map<string, string | undefined>();
  private readonly undos: Undo[] = stryMutAct_9fa48("121") ? ["Stryker was here"] : (stryCov_9fa48("121"), []);
  readonly backups: string[] = stryMutAct_9fa48("122") ? ["Stryker was here"] : (stryCov_9fa48("122"), []);
  readonly changed: string[] = stryMutAct_9fa48("123") ? ["Stryker was here"] : (stryCov_9fa48("123"), []);
  constructor(private readonly backupDir?: string) {}

  /** True once anything was changed: files, links, or a registered undo. */
  get dirty(): boolean {
    if (stryMutAct_9fa48("124")) {
      {}
    } else {
      stryCov_9fa48("124");
      return stryMutAct_9fa48("127") ? this.changed.length > 0 && this.undos.length > 0 : stryMutAct_9fa48("126") ? false : stryMutAct_9fa48("125") ? true : (stryCov_9fa48("125", "126", "127"), (stryMutAct_9fa48("130") ? this.changed.length <= 0 : stryMutAct_9fa48("129") ? this.changed.length >= 0 : stryMutAct_9fa48("128") ? false : (stryCov_9fa48("128", "129", "130"), this.changed.length > 0)) || (stryMutAct_9fa48("133") ? this.undos.length <= 0 : stryMutAct_9fa48("132") ? this.undos.length >= 0 : stryMutAct_9fa48("131") ? false : (stryCov_9fa48("131", "132", "133"), this.undos.length > 0)));
    }
  }
  private async remember(file: string): Promise<void> {
    if (stryMutAct_9fa48("134")) {
      {}
    } else {
      stryCov_9fa48("134");
      if (stryMutAct_9fa48("136") ? false : stryMutAct_9fa48("135") ? true : (stryCov_9fa48("135", "136"), this.originals.has(file))) return;
      const content = await readIfExists(file);
      const mode = (stryMutAct_9fa48("139") ? content !== undefined : stryMutAct_9fa48("138") ? false : stryMutAct_9fa48("137") ? true : (stryCov_9fa48("137", "138", "139"), content === undefined)) ? undefined : (await fs.stat(file)).mode & 0o7777;
      this.originals.set(file, stryMutAct_9fa48("140") ? {} : (stryCov_9fa48("140"), {
        content,
        mode
      }));
      if (stryMutAct_9fa48("143") ? content === undefined : stryMutAct_9fa48("142") ? false : stryMutAct_9fa48("141") ? true : (stryCov_9fa48("141", "142", "143"), content !== undefined)) {
        if (stryMutAct_9fa48("144")) {
          {}
        } else {
          stryCov_9fa48("144");
          const b = await backupFile(file, this.backupDir);
          if (stryMutAct_9fa48("146") ? false : stryMutAct_9fa48("145") ? true : (stryCov_9fa48("145", "146"), b)) this.backups.push(b);
        }
      }
    }
  }

  /** Writes `data` to `file` unless it already holds exactly that. Returns whether it changed. */
  async write(file: string, data: string | Buffer, mode?: number): Promise<boolean> {
    if (stryMutAct_9fa48("147")) {
      {}
    } else {
      stryCov_9fa48("147");
      const current = await readIfExists(file);
      const next = (stryMutAct_9fa48("150") ? typeof data !== 'string' : stryMutAct_9fa48("149") ? false : stryMutAct_9fa48("148") ? true : (stryCov_9fa48("148", "149", "150"), typeof data === (stryMutAct_9fa48("151") ? "" : (stryCov_9fa48("151"), 'string')))) ? Buffer.from(data) : data;
      if (stryMutAct_9fa48("154") ? current || current.equals(next) : stryMutAct_9fa48("153") ? false : stryMutAct_9fa48("152") ? true : (stryCov_9fa48("152", "153", "154"), current && current.equals(next))) return stryMutAct_9fa48("155") ? true : (stryCov_9fa48("155"), false);
      await this.remember(file);
      await writeFileAtomic(file, next, (stryMutAct_9fa48("158") ? mode !== undefined : stryMutAct_9fa48("157") ? false : stryMutAct_9fa48("156") ? true : (stryCov_9fa48("156", "157", "158"), mode === undefined)) ? {} : stryMutAct_9fa48("159") ? {} : (stryCov_9fa48("159"), {
        mode
      }));
      this.changed.push(file);
      return stryMutAct_9fa48("160") ? false : (stryCov_9fa48("160"), true);
    }
  }
  async remove(file: string): Promise<boolean> {
    if (stryMutAct_9fa48("161")) {
      {}
    } else {
      stryCov_9fa48("161");
      const linkTarget = await fs.readlink(file).catch(() => undefined);
      if (stryMutAct_9fa48("164") ? linkTarget === undefined : stryMutAct_9fa48("163") ? false : stryMutAct_9fa48("162") ? true : (stryCov_9fa48("162", "163", "164"), linkTarget !== undefined)) {
        if (stryMutAct_9fa48("165")) {
          {}
        } else {
          stryCov_9fa48("165");
          if (stryMutAct_9fa48("168") ? false : stryMutAct_9fa48("167") ? true : stryMutAct_9fa48("166") ? this.links.has(file) : (stryCov_9fa48("166", "167", "168"), !this.links.has(file))) this.links.set(file, linkTarget);
          await fs.rm(file);
          this.changed.push(file);
          return stryMutAct_9fa48("169") ? false : (stryCov_9fa48("169"), true);
        }
      }
      const current = await readIfExists(file);
      if (stryMutAct_9fa48("172") ? current !== undefined : stryMutAct_9fa48("171") ? false : stryMutAct_9fa48("170") ? true : (stryCov_9fa48("170", "171", "172"), current === undefined)) return stryMutAct_9fa48("173") ? true : (stryCov_9fa48("173"), false);
      await this.remember(file);
      await fs.rm(file);
      this.changed.push(file);
      return stryMutAct_9fa48("174") ? false : (stryCov_9fa48("174"), true);
    }
  }

  /** Points `link` at `target` (a2enmod-style), remembering what was there. */
  async symlink(target: string, link: string): Promise<boolean> {
    if (stryMutAct_9fa48("175")) {
      {}
    } else {
      stryCov_9fa48("175");
      const current = await fs.readlink(link).catch(() => undefined);
      if (stryMutAct_9fa48("178") ? current !== target : stryMutAct_9fa48("177") ? false : stryMutAct_9fa48("176") ? true : (stryCov_9fa48("176", "177", "178"), current === target)) return stryMutAct_9fa48("179") ? true : (stryCov_9fa48("179"), false);
      if (stryMutAct_9fa48("182") ? this.links.has(link) !== false : stryMutAct_9fa48("181") ? false : stryMutAct_9fa48("180") ? true : (stryCov_9fa48("180", "181", "182"), this.links.has(link) === (stryMutAct_9fa48("183") ? true : (stryCov_9fa48("183"), false)))) this.links.set(link, current);
      await fs.rm(link, stryMutAct_9fa48("184") ? {} : (stryCov_9fa48("184"), {
        force: stryMutAct_9fa48("185") ? false : (stryCov_9fa48("185"), true)
      }));
      await fs.symlink(target, link);
      this.changed.push(link);
      return stryMutAct_9fa48("186") ? false : (stryCov_9fa48("186"), true);
    }
  }

  /**
   * Creates `dir` (and missing parents); rollback removes the topmost one it
   * created, and only that. Returns that topmost directory, or undefined when
   * `dir` was already there.
   */
  async mkdir(dir: string, mode = 0o755): Promise<string | undefined> {
    if (stryMutAct_9fa48("187")) {
      {}
    } else {
      stryCov_9fa48("187");
      if (stryMutAct_9fa48("189") ? false : stryMutAct_9fa48("188") ? true : (stryCov_9fa48("188", "189"), await exists(dir))) return undefined;
      let top = dir;
      while (stryMutAct_9fa48("191") ? false : stryMutAct_9fa48("190") ? await exists(path.dirname(top)) : (stryCov_9fa48("190", "191"), !(await exists(path.dirname(top))))) top = path.dirname(top);
      await fs.mkdir(dir, stryMutAct_9fa48("192") ? {} : (stryCov_9fa48("192"), {
        recursive: stryMutAct_9fa48("193") ? false : (stryCov_9fa48("193"), true),
        mode
      }));
      this.onRollback(stryMutAct_9fa48("194") ? () => undefined : (stryCov_9fa48("194"), () => fs.rm(top, stryMutAct_9fa48("195") ? {} : (stryCov_9fa48("195"), {
        recursive: stryMutAct_9fa48("196") ? false : (stryCov_9fa48("196"), true),
        force: stryMutAct_9fa48("197") ? false : (stryCov_9fa48("197"), true)
      }))));
      return top;
    }
  }

  /** Registers an undo for a change that is not a file write (run in reverse order on rollback). */
  onRollback(undo: Undo): void {
    if (stryMutAct_9fa48("198")) {
      {}
    } else {
      stryCov_9fa48("198");
      this.undos.push(undo);
    }
  }

  /** Restores every touched file to the bytes (and mode) it had, removing files that did not exist. */
  async rollback(): Promise<string[]> {
    if (stryMutAct_9fa48("199")) {
      {}
    } else {
      stryCov_9fa48("199");
      const restored: string[] = stryMutAct_9fa48("200") ? ["Stryker was here"] : (stryCov_9fa48("200"), []);
      for (const [file, orig] of stryMutAct_9fa48("201") ? [...this.originals.entries()] : (stryCov_9fa48("201"), (stryMutAct_9fa48("202") ? [] : (stryCov_9fa48("202"), [...this.originals.entries()])).reverse())) {
        if (stryMutAct_9fa48("203")) {
          {}
        } else {
          stryCov_9fa48("203");
          if (stryMutAct_9fa48("206") ? orig.content !== undefined : stryMutAct_9fa48("205") ? false : stryMutAct_9fa48("204") ? true : (stryCov_9fa48("204", "205", "206"), orig.content === undefined)) {
            if (stryMutAct_9fa48("207")) {
              {}
            } else {
              stryCov_9fa48("207");
              await fs.rm(file, stryMutAct_9fa48("208") ? {} : (stryCov_9fa48("208"), {
                force: stryMutAct_9fa48("209") ? false : (stryCov_9fa48("209"), true)
              }));
            }
          } else {
            if (stryMutAct_9fa48("210")) {
              {}
            } else {
              stryCov_9fa48("210");
              await writeFileAtomic(file, orig.content, (stryMutAct_9fa48("213") ? orig.mode !== undefined : stryMutAct_9fa48("212") ? false : stryMutAct_9fa48("211") ? true : (stryCov_9fa48("211", "212", "213"), orig.mode === undefined)) ? {} : stryMutAct_9fa48("214") ? {} : (stryCov_9fa48("214"), {
                mode: orig.mode
              }));
            }
          }
          restored.push(file);
        }
      }
      for (const [link, target] of this.links) {
        if (stryMutAct_9fa48("215")) {
          {}
        } else {
          stryCov_9fa48("215");
          await fs.rm(link, stryMutAct_9fa48("216") ? {} : (stryCov_9fa48("216"), {
            force: stryMutAct_9fa48("217") ? false : (stryCov_9fa48("217"), true)
          }));
          if (stryMutAct_9fa48("220") ? target === undefined : stryMutAct_9fa48("219") ? false : stryMutAct_9fa48("218") ? true : (stryCov_9fa48("218", "219", "220"), target !== undefined)) await fs.symlink(target, link);
          restored.push(link);
        }
      }
      for (const undo of stryMutAct_9fa48("221") ? this.undos : (stryCov_9fa48("221"), this.undos.reverse())) await undo();
      this.originals.clear();
      this.links.clear();
      this.undos.length = 0;
      return restored;
    }
  }
}

/** The name the unit tests and older code use. */
export { EditTransaction as FileTransaction };