/**
 * Installing a module into a server root, the way `apxs -i -a` and a2enmod
 * do, but as one transaction (lib/httpd/config-edit.ts): copy the .so, add
 * LoadModule and the module's <Location> (SetHandler, SetOutputFilter,
 * SetInputFilter, or none) where the server's layout keeps module config,
 * run httpd's configtest, and restore every file byte for byte if httpd
 * rejects the result.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { diffText, type FileDiff } from '../core/change-report.js';
import { ApxsError } from '../core/errors.js';
import { failpoint } from '../core/failpoint.js';
import { exists } from '../core/fs.js';
import { runCapture } from '../core/run.js';
import { type ConfigEdit, withConfigEdit } from '../httpd/config-edit.js';
import { configToken, configUrlPath } from '../httpd/config-values.js';
import type { ConfigTestResult } from '../httpd/configtest.js';
import type { ConfigProof } from '../httpd/config-proof.js';
import { loadConfTree } from '../httpd/conf-tree.js';
import { is } from '../httpd/conf-parse.js';
import { httpdCommand } from '../httpd/invoke.js';
import { readLedger, updateLedger } from '../httpd/ledger.js';
import { dropModuleLogLevel } from '../httpd/loglevel-block.js';
import { serverProfile, type SeriesTraits } from '../httpd/profile.js';
import type { ServerRoot } from '../httpd/server-root.js';
import type { ModuleLocation } from './install-location.js';
import { hasSaved, restoreReplaced, saveReplaced } from './replaced-files.js';
import type { ModuleName } from './names.js';
import { sha256 } from '../core/sha256.js';

export interface InstallSpec {
  module: ModuleName;
  /** The built .so to install. */
  so: string;
  /** The <Location> block, or null for none (lib/module/install-location.ts decides it). */
  location: ModuleLocation | null;
  /** Install even over a module of the same name apxs-ts did not install. */
  force?: boolean;
  /**
   * Keep the passing configtest's proof (lib/httpd/config-proof.ts) for the restart that follows.
   */
  proveConfig?: boolean;
  /**
   * Under --check when the .so is not built yet (or is older than its
   * sources): why. The plan installs a stand-in for it and its diff says the
   * real run builds it first (a check compiles nothing).
   */
  unbuilt?: string;
}

export interface ChangeOpts {
  /** Plan only (--check): write nothing (lib/httpd/config-edit.ts). */
  check?: boolean;
}

export interface InstallResult {
  module: string;
  serverRoot: string;
  kind: ServerRoot['kind'];
  installedSo: string;
  /** The files changed (apxs-ts's own state left out). */
  changed: string[];
  backups: string[];
  configtest: ConfigTestResult | null;
  /** An interrupted edit finished or undone first, a backup not kept, ... */
  warnings: string[];
  /** With proveConfig: what the restart may reuse instead of its own configtest. */
  configProof?: ConfigProof;
  /** Whether anything changed (or would, under --check). */
  didChange: boolean;
  /** Each changed file before and after; the .so summarised as binary. */
  diff: FileDiff[];
  check: boolean;
  configtestSkipped?: string;
  /** uninstall: the module was not there (nothing to do: Ansible's state=absent already holds). */
  alreadyAbsent?: boolean;
}

function configLines(
  sr: ServerRoot,
  traits: SeriesTraits,
  spec: InstallSpec,
  so: string,
): { name: string; load: string[]; conf: string[] } {
  // The series says how a module is loaded (see SeriesTraits.loadModule for 1.3's AddModule).
  const load = traits.loadModule(spec.module.symbol, sr.layout.loadPath(sr, so), spec.module.stem);
  const loc = spec.location;
  const conf = loc
    ? [
        `<Location ${configUrlPath('module url', loc.path)}>`,
        ...loc.directives.map(
          ([d, v]) =>
            `    ${d} ${configToken(d === 'SetHandler' ? 'handler name' : 'filter name', v)}`,
        ),
        // Only this machine, unless installed --public: a module's page is no one else's business
        // by default.
        ...(loc.public ? [] : traits.dialect.localOnly.map((l) => `    ${l}`)),
        '</Location>',
      ]
    : [];
  return { name: spec.module.name, load, conf };
}

/**
 * A module of this name that apxs-ts did not install: a .so already at the
 * destination, one compiled into httpd (`httpd -l`), or a LoadModule of the
 * same record elsewhere in the config. Installing over it would replace
 * httpd's own mod_alias.so (seen), and uninstall would then break httpd.
 */
async function stockModuleConflict(
  sr: ServerRoot,
  m: ModuleName,
  dest: string,
): Promise<string | undefined> {
  // A module apxs-ts installed before passed these checks then: a reinstall
  // (the edit-build-install loop) skips the httpd -l run and the config read.
  if ((await readLedger(sr)).modules[dest] || (await sr.layout.hasModule(sr, m.name)))
    return undefined;
  if (await exists(dest)) return `${dest} exists and was not installed by apxs-ts`;
  // Debian: the package's or the admin's mods-available/NAME.load or .conf, enabled or not.
  const foreign = await sr.layout.foreignModuleConfig(sr, m.name);
  if (foreign) return `${foreign} exists and was not written by apxs-ts`;
  const cmd = await httpdCommand(sr, ['-l']);
  const compiled = await runCapture(cmd.file, cmd.args, { env: cmd.env });
  if (compiled.stdout.split('\n').some((l) => l.trim() === `${m.stem}.c`))
    return `${m.stem} is compiled into ${sr.httpd} (httpd -l)`;
  const tree = await loadConfTree(sr.configFile, { serverRoot: sr.root, env: cmd.env });
  const other = tree.directives.find(
    (d) =>
      d.kind === 'directive' &&
      is(d, 'LoadModule') &&
      d.args[0] === m.symbol &&
      path.resolve(sr.root, d.args[1] ?? '') !== dest,
  );
  return other
    ? `${other.file}:${other.line} already loads ${m.symbol} from ${other.args[1]}`
    : undefined;
}

export async function installModule(
  sr: ServerRoot,
  spec: InstallSpec,
  opts: ChangeOpts = {},
): Promise<InstallResult> {
  const dest = path.join(sr.modulesDir, `${spec.module.stem}.so`);
  const lines = configLines(sr, (await serverProfile(sr)).traits, spec, dest);
  const conflict = spec.force ? undefined : await stockModuleConflict(sr, spec.module, dest);
  if (conflict) {
    throw new ApxsError(
      'MODULE_EXISTS',
      `will not install ${spec.module.stem} into ${sr.root}: ${conflict}`,
      {
        hint:
          'rename your module (apxs-ts new NAME), or pass --force to replace ' +
          'it (what it replaces is kept, and uninstall puts it back)',
      },
    );
  }
  const so = spec.unbuilt
    ? Buffer.from(`\0(not built yet: ${spec.unbuilt})\n`)
    : await fs.readFile(spec.so);
  const edit = await withConfigEdit(
    sr,
    `installing ${spec.module.stem}`,
    async (tx) => {
      await tx.mkdir(sr.modulesDir);
      // Over a module apxs-ts did not install (only --force gets here with one): keep it all to put
      // back.
      const ours =
        !!(await readLedger(sr, tx)).modules[dest] ||
        (await sr.layout.hasModule(sr, spec.module.name, tx));
      if (
        !ours &&
        ((await tx.exists(dest)) || (await sr.layout.foreignModuleConfig(sr, spec.module.name, tx)))
      ) {
        await saveReplaced(tx, sr, spec.module.name, [
          dest,
          ...sr.layout.moduleFiles(sr, spec.module.name),
        ]);
        failpoint('install:after-save');
      }
      // Recorded before the copy: a kill right after it leaves a .so that
      // uninstall knows is ours.
      await updateLedger(tx, sr, (l) => {
        l.modules[dest] = { module: spec.module.name, sha256: sha256(so) };
      });
      await tx.write(dest, so, 0o755);
      failpoint('install:after-so');
      await sr.layout.enableModule(tx, sr, lines);
    },
    { ...opts, prove: spec.proveConfig },
  );
  const unbuilt = spec.unbuilt;
  return {
    ...moduleEditResult(
      spec.module.stem,
      sr,
      dest,
      edit,
      [
        ...edit.warnings,
        ...(unbuilt
          ? [`${spec.so}: ${unbuilt}; the real run builds it first (--check compiles nothing)`]
          : []),
      ],
      // The stand-in's diff says what the real run puts there instead.
      unbuilt
        ? edit.diff.map((d) =>
            d.after_header === dest
              ? { ...d, after: diffText(`(the .so the real run builds: ${unbuilt})\n`) }
              : d,
          )
        : edit.diff,
    ),
    ...(edit.proof ? { configProof: edit.proof } : {}),
  };
}

/** The result of install and uninstall from their config edit; `warnings` all of them. */
function moduleEditResult(
  stem: string,
  sr: ServerRoot,
  dest: string,
  edit: ConfigEdit<void>,
  warnings: string[],
  diff: FileDiff[] = edit.diff,
): InstallResult {
  return {
    module: stem,
    serverRoot: sr.root,
    kind: sr.kind,
    installedSo: dest,
    changed: edit.changed,
    backups: edit.backups,
    configtest: edit.configtest,
    warnings,
    didChange: edit.didChange,
    diff,
    check: edit.check,
    ...(edit.configtestSkipped ? { configtestSkipped: edit.configtestSkipped } : {}),
  };
}

export async function uninstallModule(
  sr: ServerRoot,
  module: ModuleName,
  opts: ChangeOpts = {},
): Promise<InstallResult> {
  const dest = path.join(sr.modulesDir, `${module.stem}.so`);
  const warnings: string[] = [];
  let alreadyAbsent = false;
  const edit = await withConfigEdit(
    sr,
    `removing ${module.stem}`,
    async (tx) => {
      const entry = (await readLedger(sr, tx)).modules[dest];
      const recorded = !!entry;
      const configured = await sr.layout.hasModule(sr, module.name, tx);
      // A save of what --force replaced is reason enough: an uninstall killed half-way is finished
      // by the next one.
      if (!recorded && !configured && !(await hasSaved(sr, module.name, tx))) {
        // Nothing apxs-ts installed is here: what uninstall makes true already is (Ansible's
        // state=absent run twice, and after an uninstall that put back what --force replaced). A
        // module of that name apxs-ts did not install (httpd's own, a package's) is not apxs-ts's
        // to remove: left, and said.
        const foreign = (await tx.exists(dest))
          ? `${dest} exists and was not installed by apxs-ts`
          : await sr.layout
              .foreignModuleConfig(sr, module.name, tx)
              .then((f) => (f ? `${f} was not written by apxs-ts` : undefined));
        if (foreign)
          warnings.push(
            `${foreign}: a module of that name apxs-ts did not install is there, left as ` +
              'it is (remove it the way it was installed: a2dismod, your package manager)',
          );
        alreadyAbsent = true;
        return;
      }
      await sr.layout.disableModule(tx, sr, module.name);
      // A `LogLevel NAME:LEVEL` of ctl loglevel would name a module httpd no longer has: a syntax
      // error.
      await dropModuleLogLevel(tx, sr, module.name);
      // A .so that is no longer the one apxs-ts wrote (a package upgrade put its own there since)
      // is the package's: neither deleted nor overwritten by the older bytes --force kept.
      const current = entry?.sha256 ? await tx.read(dest).catch(() => undefined) : undefined;
      const replacedSince = !!current && sha256(current) !== entry?.sha256;
      if (replacedSince)
        warnings.push(
          `${dest} changed since apxs-ts installed it (a package upgrade?): left as it is`,
        );
      else await tx.remove(dest);
      if (recorded)
        await updateLedger(tx, sr, (l) => {
          delete l.modules[dest];
        });
      // What an install --force replaced goes back, byte for byte (and enabled or not as it was).
      await restoreReplaced(
        tx,
        sr,
        module.name,
        [dest, ...sr.layout.moduleFiles(sr, module.name)],
        replacedSince ? [dest] : [],
      );
    },
    opts,
  );
  return {
    ...moduleEditResult(module.stem, sr, dest, edit, [...warnings, ...edit.warnings]),
    ...(alreadyAbsent ? { alreadyAbsent } : {}),
  };
}
