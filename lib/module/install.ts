/**
 * Installing a module into a server root, the way `apxs -i -a` and a2enmod
 * do, but as one transaction: copy the .so, add LoadModule (after the last
 * LoadModule, as apxs -a does) and the <Location> for handler modules inside
 * a block apxs-ts marks as its own, run httpd's configtest, and restore every
 * file byte for byte if httpd rejects the result.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { configTestOrRollback, type ConfigTestResult } from '../httpd/configtest.js';
import { ApxsError } from '../core/errors.js';
import { FileTransaction } from '../core/file-transaction.js';
import { findBlock, offsetAfterLine, offsetOutsideBlocks, removeBlock, upsertBlock } from '../core/marked-block.js';
import type { ModuleName } from './names.js';
import { is, parseConf } from '../httpd/conf-parse.js';
import type { ServerRoot } from '../httpd/server-root.js';

export interface InstallSpec {
  module: ModuleName;
  /** The built .so to install. */
  so: string;
  handler: string | null;
  url: string;
}

export interface InstallResult {
  module: string;
  serverRoot: string;
  kind: ServerRoot['kind'];
  installedSo: string;
  changed: string[];
  backups: string[];
  configtest: ConfigTestResult | null;
}

function blockId(m: ModuleName): string {
  return `module ${m.name}`;
}

function configLines(spec: InstallSpec, soPath: string): { load: string[]; conf: string[] } {
  const load = [`LoadModule ${spec.module.symbol} ${/\s/.test(soPath) ? JSON.stringify(soPath) : soPath}`];
  const conf = spec.handler
    ? [`<Location ${spec.url}>`, `    SetHandler ${spec.handler}`, '</Location>']
    : [];
  return { load, conf };
}

/** Where apxs -a puts LoadModule: after the last LoadModule line of the main config. */
function insertionPoint(text: string, file: string): number {
  const parsed = parseConf(text, file);
  const loads = parsed.directives.filter((d) => d.kind === 'directive' && is(d, 'LoadModule'));
  const last = loads[loads.length - 1];
  // A LoadModule of an earlier install sits inside its block: go past that block.
  return last ? offsetOutsideBlocks(text, offsetAfterLine(text, last.endLine)) : text.length;
}

async function editConfigs(tx: FileTransaction, sr: ServerRoot, spec: InstallSpec | undefined, module: ModuleName): Promise<void> {
  if (sr.kind === 'debian') {
    const avail = path.join(sr.root, 'mods-available');
    const enabled = path.join(sr.root, 'mods-enabled');
    for (const ext of ['load', 'conf'] as const) {
      const file = path.join(avail, `${module.name}.${ext}`);
      const link = path.join(enabled, `${module.name}.${ext}`);
      const lines = spec ? configLines(spec, path.join(sr.modulesDir, `${module.stem}.so`))[ext] : [];
      if (spec && lines.length > 0) {
        await tx.write(file, [`# Written by apxs-ts for ${module.stem}; apxs-ts uninstall ${module.name} removes it.`, ...lines, ''].join('\n'));
        await tx.symlink(`../mods-available/${module.name}.${ext}`, link);
      } else {
        await tx.remove(link);
        await tx.remove(file);
      }
    }
    return;
  }
  const text = await fs.readFile(sr.configFile, 'utf8');
  let next: string;
  if (spec) {
    const rel = path.relative(sr.root, path.join(sr.modulesDir, `${module.stem}.so`));
    const { load, conf } = configLines(spec, rel);
    next = upsertBlock(text, blockId(module), [...load, ...conf], insertionPoint(text, sr.configFile));
  } else {
    next = removeBlock(text, blockId(module));
  }
  await tx.write(sr.configFile, next);
}

async function commitOrRollback(tx: FileTransaction, sr: ServerRoot, what: string): Promise<ConfigTestResult | null> {
  return tx.changed.length === 0 ? null : configTestOrRollback(tx, sr, what);
}

export async function installModule(sr: ServerRoot, spec: InstallSpec): Promise<InstallResult> {
  const tx = new FileTransaction(path.join(sr.stateDir, 'backups'));
  const dest = path.join(sr.modulesDir, `${spec.module.stem}.so`);
  await fs.mkdir(sr.modulesDir, { recursive: true });
  await tx.write(dest, await fs.readFile(spec.so), 0o755);
  let verdict: ConfigTestResult | null;
  try {
    await editConfigs(tx, sr, spec, spec.module);
    verdict = await commitOrRollback(tx, sr, `installing ${spec.module.stem}`);
  } catch (err) {
    await tx.rollback();
    throw err;
  }
  return {
    module: spec.module.stem, serverRoot: sr.root, kind: sr.kind, installedSo: dest,
    changed: tx.changed, backups: tx.backups, configtest: verdict,
  };
}

export async function uninstallModule(sr: ServerRoot, module: ModuleName): Promise<InstallResult> {
  const tx = new FileTransaction(path.join(sr.stateDir, 'backups'));
  const dest = path.join(sr.modulesDir, `${module.stem}.so`);
  let verdict: ConfigTestResult | null;
  try {
    const ours = sr.kind === 'debian'
      ? (await fs.readFile(path.join(sr.root, 'mods-available', `${module.name}.load`), 'utf8').catch(() => '')).startsWith('# Written by apxs-ts')
      : !!findBlock(await fs.readFile(sr.configFile, 'utf8'), blockId(module));
    if (!ours) {
      throw new ApxsError('NOT_FOUND', `${module.stem} is not installed by apxs-ts in ${sr.root}`);
    }
    await editConfigs(tx, sr, undefined, module);
    await tx.remove(dest);
    verdict = await commitOrRollback(tx, sr, `removing ${module.stem}`);
  } catch (err) {
    await tx.rollback();
    throw err;
  }
  return {
    module: module.stem, serverRoot: sr.root, kind: sr.kind, installedSo: dest,
    changed: tx.changed, backups: tx.backups, configtest: verdict,
  };
}
