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
 *    enabled by symlinks and enabled_by_admin markers as a2enmod and
 *    a2ensite make them (lib/httpd/debian-state.ts); a file the package or
 *    the admin wrote is never replaced or deleted (a site file is refused,
 *    a module's files only with --force, kept and put back by uninstall:
 *    lib/module/replaced-files.ts); httpd needs the variables of its envvars
 *    file and the runtime dirs it names.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { EditTransaction } from '../core/edit-transaction.js';
import { ApxsError } from '../core/errors.js';
import { disk, type FileView } from '../core/file-view.js';
import {
  findBlock,
  listBlockIds,
  offsetAfterLine,
  offsetOutsideBlocks,
  removeBlock,
  scanBlocks,
  upsertBlock,
} from '../core/marked-block.js';
import { is, parseConf } from './conf-parse.js';
import {
  clearMarkers,
  createdByApxs,
  makeRuntimeDirs,
  markEnabled,
  markerPaths,
  recordCreated,
} from './debian-state.js';

export type ServerKind = 'sandbox' | 'prefix' | 'debian';

/** The parts of a server root a layout works on (see ServerRoot). */
export interface RootPaths {
  root: string;
  configFile: string;
  modulesDir: string;
  envvars: string | undefined;
  /** apxs-ts's own state for this root (its records of what it created). */
  stateDir: string;
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
  /** What must exist before httpd runs with `env` (Debian: the runtime dirs apache2ctl makes). */
  prepareRun(env: Record<string, string>): Promise<void>;
  /** An httpd prefix whose build/config_vars.mk describes its compiler flags. */
  buildRoot(sr: RootPaths): string | undefined;
  /**
   * The root httpd uses when started without -d (as init scripts start it), when that is this root.
   */
  builtInRoot(sr: RootPaths & { httpd: string }): string | undefined;
  /** How LoadModule names a .so under modulesDir. */
  loadPath(sr: RootPaths, so: string): string;
  enableModule(tx: EditTransaction, sr: RootPaths, m: ModuleLines): Promise<void>;
  disableModule(tx: EditTransaction, sr: RootPaths, name: string): Promise<void>;
  /**
   * Whether apxs-ts's config for module `name` is there (`view`: inside an edit, its transaction).
   */
  hasModule(sr: RootPaths, name: string, view?: FileView): Promise<boolean>;
  /**
   * A config file of module `name` that apxs-ts did not write (Debian: the package's or the admin's
   * mods-available/NAME.load), enabled or not.
   */
  foreignModuleConfig(sr: RootPaths, name: string, view?: FileView): Promise<string | undefined>;
  /**
   * Every path enabling module `name` touches besides the .so (files, links, markers): what --force
   * keeps to put back.
   */
  moduleFiles(sr: RootPaths, name: string): string[];
  /** The file holding vhost `name`'s block. */
  siteFile(sr: RootPaths, name: string): string;
  /** Where `vhost add` makes a DocumentRoot when none is given. */
  defaultDocroot(sr: RootPaths, name: string): string;
  /**
   * Writes the site file as `edit` makes it from its current text (or `header`), and enables it.
   */
  enableSite(
    tx: EditTransaction,
    sr: RootPaths,
    name: string,
    header: string,
    edit: (text: string) => string,
  ): Promise<void>;
  /**
   * Takes the site out as `edit` makes its file; disables (deletes) the file when nothing but
   * apxs-ts's `header` is left in a file apxs-ts created.
   */
  disableSite(
    tx: EditTransaction,
    sr: RootPaths,
    name: string,
    header: string,
    edit: (text: string) => string,
  ): Promise<void>;
  /**
   * Site files there but not enabled (Debian: sites-available/X.conf without its sites-enabled
   * link).
   */
  disabledSites(sr: RootPaths): Promise<string[]>;
  /**
   * A config snippet file of its own for `name` (Debian: conf-available/NAME.conf), or undefined:
   * the main config holds it as a block.
   */
  snippetFile(sr: RootPaths, name: string): string | undefined;
  /** Writes snippet `name` (snippetFile) and enables it (a2enconf's way on Debian). */
  enableSnippet(tx: EditTransaction, sr: RootPaths, name: string, text: string): Promise<void>;
  /** Disables and deletes snippet `name`. */
  disableSnippet(tx: EditTransaction, sr: RootPaths, name: string): Promise<void>;
  /**
   * Whether httpd's own module `m` (mod_ssl) can be loaded in this root: its
   * .so where the root's httpd keeps them (a sandbox: the system's modules
   * dir), or Debian's mods-available/NAME.load from the package.
   */
  hasSharedModule(sr: RootPaths, m: SharedModule): Promise<boolean>;
  /**
   * Loads httpd's own modules `mods` (those not loaded already): a block `id`
   * of LoadModule lines after the last LoadModule, or on Debian a2enmod's
   * links to the package's mods-available files. Returns the ones it loaded.
   */
  enableSharedModules(
    tx: EditTransaction,
    sr: RootPaths,
    id: string,
    mods: SharedModule[],
  ): Promise<string[]>;
  /** Undoes enableSharedModules: the block goes, or (Debian) the links to `names` that it made. */
  disableSharedModules(
    tx: EditTransaction,
    sr: RootPaths,
    id: string,
    names: string[],
  ): Promise<void>;
  /** A TLS port the root was given when it was made (sandbox create --tls-port). */
  defaultTlsPort(sr: RootPaths): Promise<number | undefined>;
}

/** One of httpd's own modules: `ssl`, `ssl_module`, `mod_ssl.so`. */
export interface SharedModule {
  name: string;
  symbol: string;
  file: string;
}

/**
 * The symbols of the LoadModule lines in `text` (apxs-ts's block `id` left out: it is rewritten).
 */
function loadedSymbols(text: string, file: string, id: string): Set<string> {
  const rest = removeBlock(text, id, file);
  return new Set(
    parseConf(rest, file)
      .directives.filter((d) => d.kind === 'directive' && is(d, 'LoadModule'))
      .map((d) => d.args[0] ?? ''),
  );
}

async function sandboxMarker(
  sr: RootPaths,
): Promise<{ systemModulesDir?: string; tlsPort?: number } | undefined> {
  return fs.readFile(path.join(sr.root, 'apxs-ts-sandbox.json'), 'utf8').then(
    (t) => JSON.parse(t) as { systemModulesDir?: string; tlsPort?: number },
    () => undefined,
  );
}

const moduleBlockId = (name: string) => `module ${name}`;

/**
 * Where apxs -a puts LoadModule: after the last LoadModule line of the main
 * config, and after 1.3's ClearModuleList and AddModule lines: a module
 * loaded before a ClearModuleList is silently inactive (tried on 1.3.42:
 * configtest says Syntax OK, its URL answers 404).
 */
function afterLastLoadModule(text: string, file: string): number {
  const loads = parseConf(text, file).directives.filter(
    (d) =>
      d.kind === 'directive' &&
      (is(d, 'LoadModule') || is(d, 'ClearModuleList') || is(d, 'AddModule')),
  );
  const last = loads[loads.length - 1];
  // A LoadModule of an earlier install sits inside its block: go past that block.
  return last ? offsetOutsideBlocks(text, offsetAfterLine(text, last.endLine)) : text.length;
}

function quote(p: string): string {
  return `"${p.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * A file's text through `view` (an edit's transaction: what it wrote so far), undefined when there
 * is none.
 */
const readText = (file: string, view: FileView = disk) => view.readText(file);
/** The main config's text: it must exist. */
async function mustRead(file: string, view: FileView): Promise<string> {
  const text = await view.readText(file);
  if (text === undefined) return fs.readFile(file, 'utf8'); // the disk's own error, naming the file
  return text;
}

/**
 * Where a sandbox or prefix finds httpd's own module `m`: a sandbox in the system's modules dir, a
 * prefix in its modules/.
 */
async function sharedModulePath(sr: RootPaths, m: SharedModule): Promise<string | undefined> {
  const dirs = [(await sandboxMarker(sr))?.systemModulesDir, sr.modulesDir].filter(
    (d): d is string => !!d,
  );
  for (const d of dirs) {
    const so = path.join(d, m.file);
    if (
      await fs.stat(so).then(
        (st) => st.isFile(),
        () => false,
      )
    )
      return so;
  }
  return undefined;
}

/** sandbox and prefix: everything in one main config and files beside it. */
function mainConfigLayout(kind: 'sandbox' | 'prefix'): Layout {
  return {
    kind,
    envBase: () => undefined,
    prepareRun: async () => undefined,
    buildRoot: (sr) => (kind === 'prefix' ? sr.root : undefined),
    builtInRoot: () => undefined,
    loadPath: (sr, so) => path.relative(sr.root, so),
    async enableModule(tx, sr, m) {
      const text = await mustRead(sr.configFile, tx);
      await tx.write(
        sr.configFile,
        upsertBlock(
          text,
          moduleBlockId(m.name),
          [...m.load, ...m.conf],
          afterLastLoadModule(text, sr.configFile),
          sr.configFile,
        ),
      );
    },
    async disableModule(tx, sr, name) {
      await tx.write(
        sr.configFile,
        removeBlock(await mustRead(sr.configFile, tx), moduleBlockId(name), sr.configFile),
      );
    },
    async hasModule(sr, name, view = disk) {
      return !!findBlock(await mustRead(sr.configFile, view), moduleBlockId(name), sr.configFile);
    },
    foreignModuleConfig: async () => undefined,
    moduleFiles: () => [],
    siteFile: (sr) => path.join(path.dirname(sr.configFile), 'apxs-ts-vhosts.conf'),
    defaultDocroot: (sr, name) => path.join(sr.root, 'sites', name),
    disabledSites: async () => [],
    snippetFile: () => undefined,
    enableSnippet: async () => {
      throw new Error('no snippet files in this layout');
    },
    disableSnippet: async () => undefined,
    async hasSharedModule(sr, m) {
      return !!(await sharedModulePath(sr, m));
    },
    async enableSharedModules(tx, sr, id, mods) {
      const text = await mustRead(sr.configFile, tx);
      const loaded = loadedSymbols(text, sr.configFile, id);
      const lines: string[] = [];
      const names: string[] = [];
      for (const m of mods) {
        const so = loaded.has(m.symbol) ? undefined : await sharedModulePath(sr, m);
        if (!so) continue;
        lines.push(`LoadModule ${m.symbol} ${quote(so)}`);
        names.push(m.name);
      }
      const base = removeBlock(text, id, sr.configFile);
      await tx.write(
        sr.configFile,
        lines.length
          ? upsertBlock(base, id, lines, afterLastLoadModule(base, sr.configFile), sr.configFile)
          : base,
      );
      return names;
    },
    async disableSharedModules(tx, sr, id) {
      await tx.write(
        sr.configFile,
        removeBlock(await mustRead(sr.configFile, tx), id, sr.configFile),
      );
    },
    defaultTlsPort: async (sr) =>
      kind === 'sandbox' ? (await sandboxMarker(sr))?.tlsPort : undefined,
    async enableSite(tx, sr, name, header, edit) {
      const file = this.siteFile(sr, name);
      await tx.write(file, edit((await readText(file, tx)) ?? header));
      const conf = await mustRead(sr.configFile, tx);
      await tx.write(
        sr.configFile,
        upsertBlock(
          conf,
          'vhosts',
          [`Include ${quote(path.relative(sr.root, file))}`],
          conf.length,
          sr.configFile,
        ),
      );
    },
    async disableSite(tx, sr, name, _header, edit) {
      const file = this.siteFile(sr, name);
      const next = edit((await readText(file, tx)) ?? '');
      if (listBlockIds(next, 'vhost ', file).length > 0) {
        await tx.write(file, next);
        return;
      }
      // No vhost left: the Include goes, then the file (in that order, so that
      // httpd's config is valid at every instant, even if killed in between).
      await tx.write(
        sr.configFile,
        removeBlock(await mustRead(sr.configFile, tx), 'vhosts', sr.configFile),
      );
      await tx.remove(file);
    },
  };
}

const DEBIAN_MARK = '# Written by apxs-ts';

const isOurs = (text: string | undefined) => (text ?? '').startsWith(DEBIAN_MARK);
const availFile = (sr: RootPaths, dir: 'mods' | 'sites' | 'conf', file: string) =>
  path.join(sr.root, `${dir}-available`, file);
const enabledLink = (sr: RootPaths, dir: 'mods' | 'sites' | 'conf', file: string) =>
  path.join(sr.root, `${dir}-enabled`, file);

/**
 * `*-enabled/FILE` when something is there that is not the link a2enmod or a2ensite makes to its
 * `*-available/FILE` (relative, or absolute to the same file): an admin's own file put straight in
 * *-enabled, or a link to a file elsewhere. apxs-ts neither replaces nor deletes it.
 */
async function foreignEnabledEntry(
  sr: RootPaths,
  dir: 'mods' | 'sites' | 'conf',
  file: string,
  view: FileView = disk,
): Promise<string | undefined> {
  const link = enabledLink(sr, dir, file);
  if ((await view.lstat(link)) === 'absent') return undefined;
  const target = await view.readlink(link);
  return target !== undefined &&
    path.resolve(path.dirname(link), target) === availFile(sr, dir, file)
    ? undefined
    : link;
}

/** Removes `*-enabled/FILE` only when it is the a2enmod-style link (an admin's own entry stays). */
async function removeEnabledLink(
  tx: EditTransaction,
  sr: RootPaths,
  dir: 'mods' | 'sites' | 'conf',
  file: string,
): Promise<void> {
  if (!(await foreignEnabledEntry(sr, dir, file, tx))) await tx.remove(enabledLink(sr, dir, file));
}

/**
 * Whether the text holds a block apxs-ts marked as its own vhost (a broken marker throws
 * BLOCK_BROKEN: nothing is written).
 */
const hasVhostBlock = (text: string, file: string) =>
  scanBlocks(text, file).some((b) => b.id.startsWith('vhost '));

const debianLayout: Layout = {
  kind: 'debian',
  // Debian's envvars derives its paths from APACHE_CONFDIR.
  envBase: (sr) => ({ APACHE_CONFDIR: sr.root }),
  prepareRun: makeRuntimeDirs,
  buildRoot: () => undefined,
  // Debian's init scripts start /etc/apache2's server without -d: that is the binary's built-in
  // root.
  builtInRoot: (sr) =>
    sr.root === '/etc/apache2' && sr.httpd === '/usr/sbin/apache2' ? sr.root : undefined,
  loadPath: (_sr, so) => so,
  async enableModule(tx, sr, m) {
    for (const ext of ['load', 'conf'] as const) {
      const file = availFile(sr, 'mods', `${m.name}.${ext}`);
      const link = enabledLink(sr, 'mods', `${m.name}.${ext}`);
      const lines = m[ext];
      if (lines.length > 0) {
        await tx.write(
          file,
          [
            `${DEBIAN_MARK} for mod_${m.name}; apxs-ts uninstall ${m.name} removes it.`,
            ...lines,
            '',
          ].join('\n'),
        );
        await tx.symlink(`../mods-available/${m.name}.${ext}`, link);
      } else if (isOurs(await readText(file, tx)) || !(await readText(file, tx))) {
        // A .conf of an earlier install of ours goes; one apxs-ts did not write was kept aside by
        // --force (replaced-files).
        await removeEnabledLink(tx, sr, 'mods', `${m.name}.${ext}`);
        await tx.remove(file);
      }
    }
    await markEnabled(tx, sr.root, 'module', m.name);
  },
  async disableModule(tx, sr, name) {
    let removed = false;
    for (const ext of ['load', 'conf']) {
      const file = availFile(sr, 'mods', `${name}.${ext}`);
      // Only apxs-ts's own files (and their links): the package's or the admin's stay.
      if (!isOurs(await readText(file, tx))) continue;
      await removeEnabledLink(tx, sr, 'mods', `${name}.${ext}`);
      await tx.remove(file);
      removed = true;
    }
    // a2dismod/a2enmod may have left their markers for our module: gone with it.
    if (removed) await clearMarkers(tx, sr.root, 'module', name);
  },
  async hasModule(sr, name, view = disk) {
    return isOurs(await readText(availFile(sr, 'mods', `${name}.load`), view));
  },
  async foreignModuleConfig(sr, name, view = disk) {
    for (const ext of ['load', 'conf']) {
      const file = availFile(sr, 'mods', `${name}.${ext}`);
      const text = await readText(file, view);
      if (text !== undefined && !isOurs(text)) return file;
      // An admin's own mods-enabled/NAME.load (a file, or a link to one elsewhere) loads a module
      // of that name too.
      const entry = await foreignEnabledEntry(sr, 'mods', `${name}.${ext}`, view);
      if (entry) return entry;
    }
    return undefined;
  },
  moduleFiles: (sr, name) => [
    ...['load', 'conf'].flatMap((ext) => [
      availFile(sr, 'mods', `${name}.${ext}`),
      enabledLink(sr, 'mods', `${name}.${ext}`),
    ]),
    ...markerPaths(sr.root, 'module', name),
  ],
  siteFile: (sr, name) => availFile(sr, 'sites', `${name}.conf`),
  // Web content under /var/www as Debian's own site has it, never under /etc; APXS_TS_WWW_DIR moves
  // it (and a copy of the tree keeps it beside itself).
  defaultDocroot: (sr, name) =>
    path.join(
      process.env.APXS_TS_WWW_DIR ||
        (sr.root === '/etc/apache2' ? '/var/www' : path.join(sr.root, 'www')),
      name,
    ),
  async enableSite(tx, sr, name, header, edit) {
    const file = this.siteFile(sr, name);
    const current = await readText(file, tx);
    if (current !== undefined && !hasVhostBlock(current, file)) {
      throw new ApxsError(
        'SITE_EXISTS',
        `${file} exists and was not written by apxs-ts: not replacing it`,
        {
          hint:
            `choose another name, or edit that site yourself (a2ensite ${name} enables it); ` +
            'apxs-ts writes only files it made or its own "# BEGIN apxs-ts vhost" blocks',
          data: { file },
        },
      );
    }
    const entry = await foreignEnabledEntry(sr, 'sites', `${name}.conf`, tx);
    if (entry) {
      throw new ApxsError(
        'SITE_EXISTS',
        `${entry} exists and is not a2ensite's link to ${file}: not replacing it`,
        {
          hint:
            `choose another name, or move that file to ${file} yourself (then a2ensite ` +
            `${name}); apxs-ts never replaces what the admin put in sites-enabled`,
          data: { file: entry },
        },
      );
    }
    await tx.write(file, edit(current ?? header));
    if (current === undefined) await recordCreated(tx, sr.stateDir, file, `vhost ${name}`);
    await tx.symlink(`../sites-available/${name}.conf`, enabledLink(sr, 'sites', `${name}.conf`));
    await markEnabled(tx, sr.root, 'site', name);
  },
  async disableSite(tx, sr, name, header, edit) {
    const file = this.siteFile(sr, name);
    const current = (await readText(file, tx)) ?? '';
    const next = edit(current);
    const rest = next.startsWith(header) ? next.slice(header.length) : next;
    // Deleted only when nothing but apxs-ts's header is left in a file it made (recorded, or made
    // before the record existed: then it starts with that header); anyone's other text stays,
    // enabled as it was.
    const ours = (await createdByApxs(sr.stateDir, file, tx)) || current.startsWith(header);
    if (listBlockIds(next, 'vhost ', file).length > 0 || rest.trim() !== '' || !ours) {
      await tx.write(file, next);
      return;
    }
    await removeEnabledLink(tx, sr, 'sites', `${name}.conf`);
    await tx.remove(file);
    await recordCreated(tx, sr.stateDir, file, undefined);
    await clearMarkers(tx, sr.root, 'site', name);
  },
  async disabledSites(sr) {
    const names = await fs
      .readdir(path.join(sr.root, 'sites-available'))
      .catch(() => [] as string[]);
    const out: string[] = [];
    for (const n of names.filter((x) => x.endsWith('.conf')).sort()) {
      if (
        !(await fs.stat(enabledLink(sr, 'sites', n)).then(
          () => true,
          () => false,
        ))
      )
        out.push(availFile(sr, 'sites', n));
    }
    return out;
  },
  snippetFile: (sr, name) => availFile(sr, 'conf', `${name}.conf`),
  async enableSnippet(tx, sr, name, text) {
    const file = availFile(sr, 'conf', `${name}.conf`);
    const current = await readText(file, tx);
    // A file of that name apxs-ts did not make (no record, no block of its own) is the admin's,
    // perhaps disabled on purpose: enabling it would switch on their other lines too, and
    // a2disconf's choice would not come back on --reset.
    if (
      current !== undefined &&
      !(await createdByApxs(sr.stateDir, file, tx)) &&
      scanBlocks(current, file).length === 0
    ) {
      throw new ApxsError(
        'CONF_EXISTS',
        `${file} exists and was not written by apxs-ts: not taking it over`,
        {
          hint:
            'rename that file (and a2enconf it under its new name if ' +
            `it was enabled); apxs-ts keeps its ${name} snippet in it`,
          data: { file },
        },
      );
    }
    if (current === undefined) await recordCreated(tx, sr.stateDir, file, `conf ${name}`);
    await tx.write(file, text);
    await tx.symlink(`../conf-available/${name}.conf`, enabledLink(sr, 'conf', `${name}.conf`));
    await markEnabled(tx, sr.root, 'conf', name);
  },
  async hasSharedModule(sr, m) {
    return (await readText(availFile(sr, 'mods', `${m.name}.load`))) !== undefined;
  },
  // a2enmod's way: links to the package's mods-available files and its marker; a module enabled
  // already is left as it is.
  async enableSharedModules(tx, sr, _id, mods) {
    const names: string[] = [];
    for (const m of mods) {
      if (await tx.exists(enabledLink(sr, 'mods', `${m.name}.load`))) continue;
      if ((await readText(availFile(sr, 'mods', `${m.name}.load`), tx)) === undefined) continue;
      for (const ext of ['load', 'conf']) {
        if ((await readText(availFile(sr, 'mods', `${m.name}.${ext}`), tx)) !== undefined)
          await tx.symlink(
            `../mods-available/${m.name}.${ext}`,
            enabledLink(sr, 'mods', `${m.name}.${ext}`),
          );
      }
      await markEnabled(tx, sr.root, 'module', m.name);
      names.push(m.name);
    }
    return names;
  },
  async disableSharedModules(tx, sr, _id, names) {
    for (const n of names) {
      for (const ext of ['load', 'conf']) await removeEnabledLink(tx, sr, 'mods', `${n}.${ext}`);
      await clearMarkers(tx, sr.root, 'module', n);
    }
  },
  defaultTlsPort: async () => undefined,
  async disableSnippet(tx, sr, name) {
    const file = availFile(sr, 'conf', `${name}.conf`);
    await tx.remove(enabledLink(sr, 'conf', `${name}.conf`));
    await tx.remove(file);
    await recordCreated(tx, sr.stateDir, file, undefined);
    await clearMarkers(tx, sr.root, 'conf', name);
  },
};

export const LAYOUTS: Record<ServerKind, Layout> = {
  sandbox: mainConfigLayout('sandbox'),
  prefix: mainConfigLayout('prefix'),
  debian: debianLayout,
};
