/**
 * Where a server root keeps things and how something is switched on or off
 * in it: the one place that knows the difference between a sandbox, an
 * httpd prefix built from source and Debian's layout. Everything else asks
 * the ServerRoot's `layout` and never tests its kind.
 *
 *  - sandbox, prefix: one main httpd.conf; a module is a block apxs-ts marks
 *    in it (after the last LoadModule, where `apxs -a` puts it); vhosts live
 *    in conf/apxs-ts-vhosts.conf, read through an Include block.
 *  - debian: mods-available/NAME.load|.conf and sites-available/NAME.conf,
 *    enabled by symlinks as a2enmod and a2ensite make them; httpd needs the
 *    variables of its envvars file.
 */
// @ts-nocheck

import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { EditTransaction } from '../core/edit-transaction.js';
import { findBlock, listBlockIds, offsetAfterLine, offsetOutsideBlocks, removeBlock, upsertBlock } from '../core/marked-block.js';
import { is, parseConf } from './conf-parse.js';

export type ServerKind = 'sandbox' | 'prefix' | 'debian';

/** The parts of a server root a layout works on (see ServerRoot). */
export interface RootPaths {
  root: string;
  configFile: string;
  modulesDir: string;
  envvars: string | undefined;
}

export interface ModuleLines {
  /** Short module name (`info`): names its block or its .load/.conf files. */
  name: string;
  load: string[];
  conf: string[];
}

export interface Layout {
  readonly kind: ServerKind;
  /** Variables httpd needs beyond the environment (from envvars): APACHE_* on Debian. */
  envBase(sr: RootPaths): Record<string, string> | undefined;
  /** An httpd prefix whose build/config_vars.mk describes its compiler flags. */
  buildRoot(sr: RootPaths): string | undefined;
  /** The root httpd uses when started without -d (as init scripts start it), when that is this root. */
  builtInRoot(sr: RootPaths & { httpd: string }): string | undefined;
  /** How LoadModule names a .so under modulesDir. */
  loadPath(sr: RootPaths, so: string): string;
  enableModule(tx: EditTransaction, sr: RootPaths, m: ModuleLines): Promise<void>;
  disableModule(tx: EditTransaction, sr: RootPaths, name: string): Promise<void>;
  /** Whether apxs-ts's config for module `name` is there. */
  hasModule(sr: RootPaths, name: string): Promise<boolean>;
  /** The file holding vhost `name`'s block. */
  siteFile(sr: RootPaths, name: string): string;
  /** Writes the site file as `edit` makes it from its current text (or `header`), and enables it. */
  enableSite(tx: EditTransaction, sr: RootPaths, name: string, header: string, edit: (text: string) => string): Promise<void>;
  /** Takes the site out as `edit` makes its file; disables the file when no site is left in it. */
  disableSite(tx: EditTransaction, sr: RootPaths, name: string, edit: (text: string) => string): Promise<void>;
}

const moduleBlockId = (name: string) => `module ${name}`;

/**
 * Where apxs -a puts LoadModule: after the last LoadModule line of the main
 * config, and after 1.3's ClearModuleList and AddModule lines: a module
 * loaded before a ClearModuleList is silently inactive (tried on 1.3.42:
 * configtest says Syntax OK, its URL answers 404).
 */
function afterLastLoadModule(text: string, file: string): number {
  const loads = parseConf(text, file).directives.filter((d) => d.kind === 'directive' && (is(d, 'LoadModule') || is(d, 'ClearModuleList') || is(d, 'AddModule')));
  const last = loads[loads.length - 1];
  // A LoadModule of an earlier install sits inside its block: go past that block.
  return last ? offsetOutsideBlocks(text, offsetAfterLine(text, last.endLine)) : text.length;
}

function quote(p: string): string {
  return `"${p.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

const readText = (file: string) => fs.readFile(file, 'utf8').catch(() => undefined);

/** sandbox and prefix: everything in one main config and files beside it. */
function mainConfigLayout(kind: 'sandbox' | 'prefix'): Layout {
  return {
    kind,
    envBase: () => undefined,
    buildRoot: (sr) => (kind === 'prefix' ? sr.root : undefined),
    builtInRoot: () => undefined,
    loadPath: (sr, so) => path.relative(sr.root, so),
    async enableModule(tx, sr, m) {
      const text = await fs.readFile(sr.configFile, 'utf8');
      await tx.write(sr.configFile, upsertBlock(text, moduleBlockId(m.name), [...m.load, ...m.conf], afterLastLoadModule(text, sr.configFile), sr.configFile));
    },
    async disableModule(tx, sr, name) {
      await tx.write(sr.configFile, removeBlock(await fs.readFile(sr.configFile, 'utf8'), moduleBlockId(name), sr.configFile));
    },
    async hasModule(sr, name) {
      return !!findBlock(await fs.readFile(sr.configFile, 'utf8'), moduleBlockId(name), sr.configFile);
    },
    siteFile: (sr) => path.join(path.dirname(sr.configFile), 'apxs-ts-vhosts.conf'),
    async enableSite(tx, sr, name, header, edit) {
      const file = this.siteFile(sr, name);
      await tx.write(file, edit((await readText(file)) ?? header));
      const conf = await fs.readFile(sr.configFile, 'utf8');
      await tx.write(sr.configFile, upsertBlock(conf, 'vhosts', [`Include ${quote(path.relative(sr.root, file))}`], conf.length, sr.configFile));
    },
    async disableSite(tx, sr, name, edit) {
      const file = this.siteFile(sr, name);
      const next = edit((await readText(file)) ?? '');
      if (listBlockIds(next, 'vhost ', file).length > 0) {
        await tx.write(file, next);
        return;
      }
      // No vhost left: the file and the Include go too.
      await tx.remove(file);
      await tx.write(sr.configFile, removeBlock(await fs.readFile(sr.configFile, 'utf8'), 'vhosts', sr.configFile));
    },
  };
}

const DEBIAN_MARK = '# Written by apxs-ts';

const debianLayout: Layout = {
  kind: 'debian',
  // Debian's envvars derives its paths from APACHE_CONFDIR.
  envBase: (sr) => ({ APACHE_CONFDIR: sr.root }),
  buildRoot: () => undefined,
  // Debian's init scripts start /etc/apache2's server without -d: that is the binary's built-in root.
  builtInRoot: (sr) => (sr.root === '/etc/apache2' && sr.httpd === '/usr/sbin/apache2' ? sr.root : undefined),
  loadPath: (_sr, so) => so,
  async enableModule(tx, sr, m) {
    for (const ext of ['load', 'conf'] as const) {
      const file = path.join(sr.root, 'mods-available', `${m.name}.${ext}`);
      const link = path.join(sr.root, 'mods-enabled', `${m.name}.${ext}`);
      const lines = m[ext];
      if (lines.length > 0) {
        await tx.write(file, [`${DEBIAN_MARK} for mod_${m.name}; apxs-ts uninstall ${m.name} removes it.`, ...lines, ''].join('\n'));
        await tx.symlink(`../mods-available/${m.name}.${ext}`, link);
      } else {
        await tx.remove(link);
        await tx.remove(file);
      }
    }
  },
  async disableModule(tx, sr, name) {
    for (const ext of ['load', 'conf']) {
      await tx.remove(path.join(sr.root, 'mods-enabled', `${name}.${ext}`));
      await tx.remove(path.join(sr.root, 'mods-available', `${name}.${ext}`));
    }
  },
  async hasModule(sr, name) {
    return ((await readText(path.join(sr.root, 'mods-available', `${name}.load`))) ?? '').startsWith(DEBIAN_MARK);
  },
  siteFile: (sr, name) => path.join(sr.root, 'sites-available', `${name}.conf`),
  async enableSite(tx, sr, name, header, edit) {
    await tx.write(this.siteFile(sr, name), edit(header));
    await tx.symlink(`../sites-available/${name}.conf`, path.join(sr.root, 'sites-enabled', `${name}.conf`));
  },
  async disableSite(tx, sr, name) {
    await tx.remove(path.join(sr.root, 'sites-enabled', `${name}.conf`));
    await tx.remove(this.siteFile(sr, name));
  },
};

export const LAYOUTS: Record<ServerKind, Layout> = {
  sandbox: mainConfigLayout('sandbox'),
  prefix: mainConfigLayout('prefix'),
  debian: debianLayout,
};
