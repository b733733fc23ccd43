/**
 * The undefined-symbol check of a freshly linked module: what httpd would
 * say at LoadModule ("undefined symbol: ap_rputs"), said at build time with
 * the #include to add.
 */
import type { DynamicInfo } from './elf.js';
import type { ModuleProject } from './project.js';
import { checkSymbols, httpdProvides } from './symbols.js';
import type { Toolchain } from './toolchain.js';
import { diagnose, undefinedSymbolError } from './undefined-symbols.js';

/**
 * Throws UNDEFINED_SYMBOL (or LIBRARY_NOT_FOUND) when httpd could not load
 * `so`; returns notes on symbols that may still resolve at run time (the
 * module declares them itself, or another module exports them).
 */
export async function verifySymbols(
  project: ModuleProject,
  tc: Toolchain,
  so: string,
  dyn: DynamicInfo,
  soName: string,
  warnings: string[],
): Promise<string[]> {
  const rt = tc.target.runtime;
  if (!rt) return [];
  const check = await checkSymbols(so, dyn, rt);
  const notes = check.fromModules.map(
    (m) => `${m.symbol} comes from ${m.module}: it must be loaded (LoadModule) before ${soName}`,
  );
  if (check.unresolved.length === 0 && check.missingLibs.length === 0) return notes;
  const { fatal, expected } = await diagnose({
    project,
    check,
    api: tc.target.api,
    includeDirs: tc.includeDirs,
    provided: await httpdProvides(rt),
  });
  if (fatal.length > 0 || check.missingLibs.length > 0) {
    throw undefinedSymbolError(
      soName,
      fatal,
      `${rt.httpd} (${tc.target.describe})`,
      check.missingLibs,
      warnings,
    );
  }
  return [...notes, ...expected.map((d) => d.note)];
}
