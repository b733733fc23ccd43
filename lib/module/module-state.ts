/**
 * "Is this module installed, enabled, loaded?", read from the files and
 * confirmed by httpd, never guessed from a name (issue #23; the failures of
 * Ansible's apache2_module that grep a guessed `NAME_module` in `-M`):
 *
 * - installed: the .so apxs-ts put in the modules dir is there, and its
 *   record (the ledger) says apxs-ts wrote those bytes;
 * - identifier: the module record the built .so exports (its dynamic
 *   symbol table), not one made up from the file name;
 * - enabled: an active LoadModule in the config as httpd reads it
 *   (Includes followed, <IfModule>/<IfDefine> weighed) names that record
 *   or that .so;
 * - loaded: httpd's own list for that config (`httpd -t -D DUMP_MODULES`
 *   on 2.2+: what a start or a graceful loads) holds the identifier. On 1.3
 *   and 2.0 httpd lists only its compiled-in modules: null, and why.
 *
 * All of it is what is on disk now (under --check: before the change).
 */
import path from 'node:path';
import { readIfExists } from '../core/atomic-file.js';
import { runCapture } from '../core/run.js';
import { sha256 } from '../core/sha256.js';
import { is } from '../httpd/conf-parse.js';
import { loadConfTree } from '../httpd/conf-tree.js';
import { httpdCommand } from '../httpd/invoke.js';
import { readLedger } from '../httpd/ledger.js';
import { serverProfile } from '../httpd/profile.js';
import type { ServerRoot } from '../httpd/server-root.js';
import { NotElf64Error, readDynamic } from './elf.js';
import { parseModuleName } from './names.js';

export interface ModuleState {
  /** The module's stem (mod_info). */
  module: string;
  /** Where apxs-ts installs its .so in this root. */
  so: string;
  /** The .so is there and the ledger records it as apxs-ts's, with these bytes. */
  installed: boolean;
  /**
   * The module record the .so exports (`info_module`), or null when there is no .so or it cannot be
   * read.
   */
  identifier: string | null;
  /** Why `identifier` is null. */
  identifierNote?: string;
  /** An active LoadModule of the config names the identifier or the .so. */
  enabled: boolean;
  /** Where: FILE:LINE of that LoadModule. */
  enabledAt?: string;
  /** httpd's own module list holds the identifier; null: not confirmable (see loadedNote). */
  loaded: boolean | null;
  /** How `loaded` was read, or why it could not be. */
  loadedNote: string;
}

/** The `NAME_module` records a .so exports: the expected one first when it is there. */
async function moduleRecord(
  so: string,
  expected: string,
): Promise<{ id: string | null; note?: string }> {
  try {
    const records = [...(await readDynamic(so)).defined].filter((s) => /_module$/.test(s)).sort();
    if (records.includes(expected)) return { id: expected };
    if (records[0]) return { id: records[0] };
    return { id: null, note: `${so} exports no NAME_module record` };
  } catch (err) {
    if (err instanceof NotElf64Error) return { id: null, note: err.message };
    return { id: null, note: `${so}: ${(err as Error).message}` };
  }
}

/** The identifiers in `httpd -M`'s output (` info_module (shared)`). */
export function parseModuleList(out: string): string[] {
  return [...out.matchAll(/^\s*(\w+)\s+\((?:static|shared)\)\s*$/gm)].map((m) => m[1]!);
}

export async function moduleState(
  sr: ServerRoot,
  moduleName: string,
  opts: { soSymbol?: string } = {},
): Promise<ModuleState> {
  const m = parseModuleName(moduleName);
  const so = path.join(sr.modulesDir, `${m.stem}.so`);
  const bytes = await readIfExists(so).catch(() => undefined);
  const entry = (await readLedger(sr)).modules[so];
  const installed =
    !!bytes && !!entry && (entry.sha256 === undefined || entry.sha256 === sha256(bytes));
  const record = bytes
    ? await moduleRecord(so, opts.soSymbol ?? m.symbol)
    : { id: null, note: `no ${so}` };
  const cmd = await httpdCommand(sr, []);
  const tree = await loadConfTree(sr.configFile, { serverRoot: sr.root, env: cmd.env });
  const load = tree.directives.find(
    (d) =>
      d.kind === 'directive' &&
      is(d, 'LoadModule') &&
      ((record.id !== null && d.args[0] === record.id) ||
        path.resolve(tree.serverRoot, d.args[1] ?? '') === so),
  );
  const list = (await serverProfile(sr)).traits.moduleList;
  let loaded: boolean | null = null;
  let loadedNote: string;
  if ('unconfirmable' in list) loadedNote = list.unconfirmable;
  else {
    const dump = await httpdCommand(sr, list.args);
    const res = await runCapture(dump.file, dump.args, { env: dump.env });
    if (res.exitCode !== 0) {
      loadedNote =
        `httpd ${list.args.join(' ')} exited ${res.exitCode}: ` +
        `${res.all.trim().split('\n')[0] ?? ''}`;
    } else {
      const ids = parseModuleList(res.stdout);
      const id = record.id ?? load?.args[0];
      loaded = id !== undefined && ids.includes(id);
      loadedNote = `httpd ${list.args.join(' ')}`;
    }
  }
  return {
    module: m.stem,
    so,
    installed,
    identifier: record.id,
    ...(record.note ? { identifierNote: record.note } : {}),
    enabled: !!load,
    ...(load ? { enabledAt: `${load.file}:${load.line}` } : {}),
    loaded,
    loadedNote,
  };
}
