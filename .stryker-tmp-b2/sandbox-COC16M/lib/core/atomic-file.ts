/**
 * Atomic writes for files users own: temp file in the same directory, fsync,
 * rename over the target (the symlink's target, not the link), mode and owner
 * kept. Where rename cannot work (a bind-mounted file, as /etc/hosts is in
 * containers) we fall back to rewriting the file in place with its complete
 * content, which is the best the kernel allows there.
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
import { promises as fs, constants as fsc } from 'node:fs';
import path from 'node:path';
import { isErrno, permissionError } from './errors.js';
import { escapeRegExp } from './fs.js';
export interface WriteResult {
  path: string;
  /** 'rename' normally; 'in-place' when the target could not be replaced. */
  method: 'rename' | 'in-place';
}
async function resolveTarget(file: string): Promise<string> {
  if (stryMutAct_9fa48("0")) {
    {}
  } else {
    stryCov_9fa48("0");
    try {
      if (stryMutAct_9fa48("1")) {
        {}
      } else {
        stryCov_9fa48("1");
        return await fs.realpath(file);
      }
    } catch (err) {
      if (stryMutAct_9fa48("2")) {
        {}
      } else {
        stryCov_9fa48("2");
        if (stryMutAct_9fa48("4") ? false : stryMutAct_9fa48("3") ? true : (stryCov_9fa48("3", "4"), isErrno(err, stryMutAct_9fa48("5") ? "" : (stryCov_9fa48("5"), 'ENOENT')))) {
          if (stryMutAct_9fa48("6")) {
            {}
          } else {
            stryCov_9fa48("6");
            // A dangling symlink still points somewhere we should write to.
            try {
              if (stryMutAct_9fa48("7")) {
                {}
              } else {
                stryCov_9fa48("7");
                const link = await fs.readlink(file);
                return path.resolve(path.dirname(file), link);
              }
            } catch {
              if (stryMutAct_9fa48("8")) {
                {}
              } else {
                stryCov_9fa48("8");
                return path.resolve(file);
              }
            }
          }
        }
        throw err;
      }
    }
  }
}
async function fsyncDir(dir: string): Promise<void> {
  if (stryMutAct_9fa48("9")) {
    {}
  } else {
    stryCov_9fa48("9");
    let handle: fs.FileHandle | undefined;
    try {
      if (stryMutAct_9fa48("10")) {
        {}
      } else {
        stryCov_9fa48("10");
        handle = await fs.open(dir, fsc.O_RDONLY);
        await handle.sync();
      }
    } catch {
      // Some filesystems refuse fsync on directories; the rename is still atomic.
    } finally {
      if (stryMutAct_9fa48("11")) {
        {}
      } else {
        stryCov_9fa48("11");
        await (stryMutAct_9fa48("12") ? handle.close() : (stryCov_9fa48("12"), handle?.close()));
      }
    }
  }
}
export async function writeFileAtomic(file: string, data: string | Uint8Array, opts: {
  mode?: number;
} = {}): Promise<WriteResult> {
  if (stryMutAct_9fa48("13")) {
    {}
  } else {
    stryCov_9fa48("13");
    const target = await resolveTarget(file);
    const dir = path.dirname(target);
    let mode = stryMutAct_9fa48("14") ? opts.mode && 0o644 : (stryCov_9fa48("14"), opts.mode ?? 0o644);
    let owner: {
      uid: number;
      gid: number;
    } | undefined;
    try {
      if (stryMutAct_9fa48("15")) {
        {}
      } else {
        stryCov_9fa48("15");
        const st = await fs.stat(target);
        mode = st.mode & 0o7777;
        owner = stryMutAct_9fa48("16") ? {} : (stryCov_9fa48("16"), {
          uid: st.uid,
          gid: st.gid
        });
      }
    } catch (err) {
      if (stryMutAct_9fa48("17")) {
        {}
      } else {
        stryCov_9fa48("17");
        if (stryMutAct_9fa48("20") ? false : stryMutAct_9fa48("19") ? true : stryMutAct_9fa48("18") ? isErrno(err, 'ENOENT') : (stryCov_9fa48("18", "19", "20"), !isErrno(err, stryMutAct_9fa48("21") ? "" : (stryCov_9fa48("21"), 'ENOENT')))) throw stryMutAct_9fa48("22") ? permissionError(target, err) && err : (stryCov_9fa48("22"), permissionError(target, err) ?? err);
      }
    }
    const tmp = path.join(dir, stryMutAct_9fa48("23") ? `` : (stryCov_9fa48("23"), `.${path.basename(target)}.apxs-ts-${process.pid}-${Date.now().toString(36)}.tmp`));
    let handle: fs.FileHandle | undefined;
    try {
      if (stryMutAct_9fa48("24")) {
        {}
      } else {
        stryCov_9fa48("24");
        handle = await fs.open(tmp, stryMutAct_9fa48("25") ? "" : (stryCov_9fa48("25"), 'wx'), mode);
        await handle.writeFile(data);
        await handle.chmod(mode); // umask must not change the mode we keep
        if (stryMutAct_9fa48("28") ? owner || process.getuid?.() === 0 : stryMutAct_9fa48("27") ? false : stryMutAct_9fa48("26") ? true : (stryCov_9fa48("26", "27", "28"), owner && (stryMutAct_9fa48("30") ? process.getuid?.() !== 0 : stryMutAct_9fa48("29") ? true : (stryCov_9fa48("29", "30"), (stryMutAct_9fa48("31") ? process.getuid() : (stryCov_9fa48("31"), process.getuid?.())) === 0)))) await handle.chown(owner.uid, owner.gid);
        await handle.sync();
        await handle.close();
        handle = undefined;
        try {
          if (stryMutAct_9fa48("32")) {
            {}
          } else {
            stryCov_9fa48("32");
            await fs.rename(tmp, target);
          }
        } catch (err) {
          if (stryMutAct_9fa48("33")) {
            {}
          } else {
            stryCov_9fa48("33");
            if (stryMutAct_9fa48("36") ? (isErrno(err, 'EBUSY') || isErrno(err, 'EXDEV')) && isErrno(err, 'EPERM') : stryMutAct_9fa48("35") ? false : stryMutAct_9fa48("34") ? true : (stryCov_9fa48("34", "35", "36"), (stryMutAct_9fa48("38") ? isErrno(err, 'EBUSY') && isErrno(err, 'EXDEV') : stryMutAct_9fa48("37") ? false : (stryCov_9fa48("37", "38"), isErrno(err, stryMutAct_9fa48("39") ? "" : (stryCov_9fa48("39"), 'EBUSY')) || isErrno(err, stryMutAct_9fa48("40") ? "" : (stryCov_9fa48("40"), 'EXDEV')))) || isErrno(err, stryMutAct_9fa48("41") ? "" : (stryCov_9fa48("41"), 'EPERM')))) {
              if (stryMutAct_9fa48("42")) {
                {}
              } else {
                stryCov_9fa48("42");
                await fs.rm(tmp, stryMutAct_9fa48("43") ? {} : (stryCov_9fa48("43"), {
                  force: stryMutAct_9fa48("44") ? false : (stryCov_9fa48("44"), true)
                }));
                await writeInPlace(target, data);
                return stryMutAct_9fa48("45") ? {} : (stryCov_9fa48("45"), {
                  path: target,
                  method: stryMutAct_9fa48("46") ? "" : (stryCov_9fa48("46"), 'in-place')
                });
              }
            }
            throw err;
          }
        }
        await fsyncDir(dir);
        return stryMutAct_9fa48("47") ? {} : (stryCov_9fa48("47"), {
          path: target,
          method: stryMutAct_9fa48("48") ? "" : (stryCov_9fa48("48"), 'rename')
        });
      }
    } catch (err) {
      if (stryMutAct_9fa48("49")) {
        {}
      } else {
        stryCov_9fa48("49");
        await (stryMutAct_9fa48("50") ? handle.close().catch(() => undefined) : (stryCov_9fa48("50"), handle?.close().catch(() => undefined)));
        await fs.rm(tmp, stryMutAct_9fa48("51") ? {} : (stryCov_9fa48("51"), {
          force: stryMutAct_9fa48("52") ? false : (stryCov_9fa48("52"), true)
        })).catch(() => undefined);
        throw stryMutAct_9fa48("53") ? permissionError(target, err) && err : (stryCov_9fa48("53"), permissionError(target, err) ?? err);
      }
    }
  }
}

/** Rewrite an existing file's bytes without replacing its inode. */
async function writeInPlace(target: string, data: string | Uint8Array): Promise<void> {
  if (stryMutAct_9fa48("54")) {
    {}
  } else {
    stryCov_9fa48("54");
    const handle = await fs.open(target, stryMutAct_9fa48("55") ? "" : (stryCov_9fa48("55"), 'r+'));
    try {
      if (stryMutAct_9fa48("56")) {
        {}
      } else {
        stryCov_9fa48("56");
        const buf = (stryMutAct_9fa48("59") ? typeof data !== 'string' : stryMutAct_9fa48("58") ? false : stryMutAct_9fa48("57") ? true : (stryCov_9fa48("57", "58", "59"), typeof data === (stryMutAct_9fa48("60") ? "" : (stryCov_9fa48("60"), 'string')))) ? Buffer.from(data) : data;
        await handle.write(buf, 0, buf.length, 0);
        await handle.truncate(buf.length);
        await handle.sync();
      }
    } finally {
      if (stryMutAct_9fa48("61")) {
        {}
      } else {
        stryCov_9fa48("61");
        await handle.close();
      }
    }
  }
}

/** Reads a file, or undefined if it does not exist. */
export async function readIfExists(file: string): Promise<Buffer | undefined> {
  if (stryMutAct_9fa48("62")) {
    {}
  } else {
    stryCov_9fa48("62");
    try {
      if (stryMutAct_9fa48("63")) {
        {}
      } else {
        stryCov_9fa48("63");
        return await fs.readFile(file);
      }
    } catch (err) {
      if (stryMutAct_9fa48("64")) {
        {}
      } else {
        stryCov_9fa48("64");
        if (stryMutAct_9fa48("66") ? false : stryMutAct_9fa48("65") ? true : (stryCov_9fa48("65", "66"), isErrno(err, stryMutAct_9fa48("67") ? "" : (stryCov_9fa48("67"), 'ENOENT')))) return undefined;
        throw err;
      }
    }
  }
}
function stamp(d = new Date()): string {
  if (stryMutAct_9fa48("68")) {
    {}
  } else {
    stryCov_9fa48("68");
    return d.toISOString().replace(stryMutAct_9fa48("69") ? /[^-:]/g : (stryCov_9fa48("69"), /[-:]/g), stryMutAct_9fa48("70") ? "Stryker was here!" : (stryCov_9fa48("70"), '')).replace(stryMutAct_9fa48("73") ? /\.\D+Z$/ : stryMutAct_9fa48("72") ? /\.\dZ$/ : stryMutAct_9fa48("71") ? /\.\d+Z/ : (stryCov_9fa48("71", "72", "73"), /\.\d+Z$/), stryMutAct_9fa48("74") ? "" : (stryCov_9fa48("74"), 'Z'));
  }
}

/**
 * Copies a file to `<dir>/<basename>.<timestamp>.bak` (dir defaults to the
 * file's) and returns that path. With `keep`, only that many of the newest
 * backups of this file stay: a hosts file edited daily should not fill /etc.
 */
export async function backupFile(file: string, dir?: string, keep?: number): Promise<string | undefined> {
  if (stryMutAct_9fa48("75")) {
    {}
  } else {
    stryCov_9fa48("75");
    const content = await readIfExists(file);
    if (stryMutAct_9fa48("78") ? content !== undefined : stryMutAct_9fa48("77") ? false : stryMutAct_9fa48("76") ? true : (stryCov_9fa48("76", "77", "78"), content === undefined)) return undefined;
    const where = stryMutAct_9fa48("79") ? dir && path.dirname(file) : (stryCov_9fa48("79"), dir ?? path.dirname(file));
    await fs.mkdir(where, stryMutAct_9fa48("80") ? {} : (stryCov_9fa48("80"), {
      recursive: stryMutAct_9fa48("81") ? false : (stryCov_9fa48("81"), true)
    }));
    // 'wx' and a retry with the next suffix: two writers backing up in the
    // same second must each get a name of their own, not EEXIST.
    const base = stryMutAct_9fa48("82") ? `` : (stryCov_9fa48("82"), `${path.basename(file)}.${stamp()}`);
    let dest = path.join(where, stryMutAct_9fa48("83") ? `` : (stryCov_9fa48("83"), `${base}.bak`));
    if (stryMutAct_9fa48("84")) {
      for (let i = 1; false; i++) {
        try {
          await fs.writeFile(dest, content, {
            flag: 'wx'
          });
          break;
        } catch (err) {
          if (!isErrno(err, 'EEXIST') || i > 1000) throw err;
          dest = path.join(where, `${base}-${i}.bak`);
        }
      }
    } else {
      stryCov_9fa48("84");
      for (let i = 1;; stryMutAct_9fa48("85") ? i-- : (stryCov_9fa48("85"), i++)) {
        if (stryMutAct_9fa48("86")) {
          {}
        } else {
          stryCov_9fa48("86");
          try {
            if (stryMutAct_9fa48("87")) {
              {}
            } else {
              stryCov_9fa48("87");
              await fs.writeFile(dest, content, stryMutAct_9fa48("88") ? {} : (stryCov_9fa48("88"), {
                flag: stryMutAct_9fa48("89") ? "" : (stryCov_9fa48("89"), 'wx')
              }));
              break;
            }
          } catch (err) {
            if (stryMutAct_9fa48("90")) {
              {}
            } else {
              stryCov_9fa48("90");
              if (stryMutAct_9fa48("93") ? !isErrno(err, 'EEXIST') && i > 1000 : stryMutAct_9fa48("92") ? false : stryMutAct_9fa48("91") ? true : (stryCov_9fa48("91", "92", "93"), (stryMutAct_9fa48("94") ? isErrno(err, 'EEXIST') : (stryCov_9fa48("94"), !isErrno(err, stryMutAct_9fa48("95") ? "" : (stryCov_9fa48("95"), 'EEXIST')))) || (stryMutAct_9fa48("98") ? i <= 1000 : stryMutAct_9fa48("97") ? i >= 1000 : stryMutAct_9fa48("96") ? false : (stryCov_9fa48("96", "97", "98"), i > 1000)))) throw err;
              dest = path.join(where, stryMutAct_9fa48("99") ? `` : (stryCov_9fa48("99"), `${base}-${i}.bak`));
            }
          }
        }
      }
    }
    if (stryMutAct_9fa48("102") ? keep === undefined : stryMutAct_9fa48("101") ? false : stryMutAct_9fa48("100") ? true : (stryCov_9fa48("100", "101", "102"), keep !== undefined)) {
      if (stryMutAct_9fa48("103")) {
        {}
      } else {
        stryCov_9fa48("103");
        const re = new RegExp(stryMutAct_9fa48("104") ? `` : (stryCov_9fa48("104"), `^${escapeRegExp(path.basename(file))}\\.\\d{8}T\\d{6}Z(-\\d+)?\\.bak$`));
        // Timestamps sort as text; a -N suffix marks a later backup of the same second.
        const mine = stryMutAct_9fa48("106") ? (await fs.readdir(where)).sort((a, b) => a.replace(/\.bak$/, '').localeCompare(b.replace(/\.bak$/, ''), 'en', {
          numeric: true
        })) : stryMutAct_9fa48("105") ? (await fs.readdir(where)).filter(f => re.test(f)) : (stryCov_9fa48("105", "106"), (await fs.readdir(where)).filter(stryMutAct_9fa48("107") ? () => undefined : (stryCov_9fa48("107"), f => re.test(f))).sort(stryMutAct_9fa48("108") ? () => undefined : (stryCov_9fa48("108"), (a, b) => a.replace(stryMutAct_9fa48("109") ? /\.bak/ : (stryCov_9fa48("109"), /\.bak$/), stryMutAct_9fa48("110") ? "Stryker was here!" : (stryCov_9fa48("110"), '')).localeCompare(b.replace(stryMutAct_9fa48("111") ? /\.bak/ : (stryCov_9fa48("111"), /\.bak$/), stryMutAct_9fa48("112") ? "Stryker was here!" : (stryCov_9fa48("112"), '')), stryMutAct_9fa48("113") ? "" : (stryCov_9fa48("113"), 'en'), stryMutAct_9fa48("114") ? {} : (stryCov_9fa48("114"), {
          numeric: stryMutAct_9fa48("115") ? false : (stryCov_9fa48("115"), true)
        })))));
        for (const old of stryMutAct_9fa48("116") ? mine : (stryCov_9fa48("116"), mine.slice(0, stryMutAct_9fa48("117") ? Math.min(0, mine.length - keep) : (stryCov_9fa48("117"), Math.max(0, stryMutAct_9fa48("118") ? mine.length + keep : (stryCov_9fa48("118"), mine.length - keep)))))) await fs.rm(path.join(where, old), stryMutAct_9fa48("119") ? {} : (stryCov_9fa48("119"), {
          force: stryMutAct_9fa48("120") ? false : (stryCov_9fa48("120"), true)
        }));
      }
    }
    return dest;
  }
}