/**
 * What `source build` installed, with no bookkeeping left to the user. Every
 * prefix it builds holds a receipt (apxs-ts-receipt.json, written by
 * build.ts). Without --prefix a build goes to a per-user directory per
 * version, $XDG_DATA_HOME/apxs-ts/httpd/VERSION (~/.local/share/...), where
 * `source versions` finds it by listing that directory; a prefix given
 * elsewhere is recorded in the cache dir (prefixes.json) when the build ends.
 * `source uninstall` deletes a prefix only when it holds a receipt.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApxsError, isErrno } from '../core/errors.js';
import { cacheDir } from '../core/cache.js';
import { readRegistry, updateRegistry } from '../core/registry.js';
import { compareVersions } from './versions.js';
import { fileDiff, type FileDiff } from '../core/change-report.js';

export const RECEIPT_FILE = 'apxs-ts-receipt.json';

/** $XDG_DATA_HOME/apxs-ts (default ~/.local/share/apxs-ts). */
export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(env.XDG_DATA_HOME || path.join(os.homedir(), '.local', 'share'), 'apxs-ts');
}

/** Where builds without --prefix go, one directory per version. */
export function installsDir(env: NodeJS.ProcessEnv = process.env): string {
  return path.join(dataDir(env), 'httpd');
}

export function defaultPrefix(version: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(installsDir(env), version);
}

const prefixesFile = (env: NodeJS.ProcessEnv) => path.join(cacheDir(env), 'prefixes.json');

interface PrefixEntry {
  prefix: string;
  version: string;
  builtAt: string;
}

export interface Installed {
  version: string;
  series: string | undefined;
  prefix: string;
  builtAt: string | undefined;
  url: string | undefined;
  /** In the per-user directory (found by listing it), or a --prefix recorded when it was built. */
  where: 'default' | 'elsewhere';
}

interface ReceiptLike {
  version: string;
  series?: string;
  builtAt?: string;
  url?: string;
}

/** The receipt of `prefix`, or undefined when it has none (or one that is not a receipt). */
async function readReceipt(prefix: string): Promise<ReceiptLike | undefined> {
  try {
    const r = JSON.parse(
      await fs.readFile(path.join(prefix, RECEIPT_FILE), 'utf8'),
    ) as Partial<ReceiptLike>;
    return typeof r.version === 'string' ? (r as ReceiptLike) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Records a prefix built outside installsDir(), so that `source versions` finds it; one inside is
 * found by listing.
 */
export async function recordBuild(
  prefix: string,
  receipt: { version: string; builtAt: string },
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  const abs = path.resolve(prefix);
  if (path.dirname(abs) === installsDir(env)) return;
  await updateRegistry<PrefixEntry>(prefixesFile(env), (entries) => [
    ...entries.filter((e) => e.prefix !== abs),
    { prefix: abs, version: receipt.version, builtAt: receipt.builtAt },
  ]);
}

/**
 * Every httpd that `source build` installed and that is still there, newest
 * version first: the receipts in installsDir(), then the recorded prefixes
 * that still hold one (the others are dropped from the record).
 */
export async function installedVersions(
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ installs: Installed[]; dropped: string[]; installsDir: string }> {
  const home = installsDir(env);
  const names = await fs
    .readdir(home)
    .catch((err: unknown) => (isErrno(err, 'ENOENT') ? [] : Promise.reject(err)));
  const installs: Installed[] = [];
  const add = (prefix: string, r: ReceiptLike, where: Installed['where']) =>
    installs.push({
      version: r.version,
      series: r.series,
      prefix,
      builtAt: r.builtAt,
      url: r.url,
      where,
    });
  for (const name of names.sort()) {
    const r = await readReceipt(path.join(home, name));
    if (r) add(path.join(home, name), r, 'default');
  }
  const gone: string[] = [];
  for (const e of await readRegistry<PrefixEntry>(prefixesFile(env))) {
    if (installs.some((i) => i.prefix === e.prefix)) continue;
    const r = await readReceipt(e.prefix);
    if (r) add(e.prefix, r, 'elsewhere');
    else gone.push(e.prefix);
  }
  if (gone.length)
    await updateRegistry<PrefixEntry>(prefixesFile(env), (entries) =>
      entries.filter((e) => !gone.includes(e.prefix)),
    );
  const byVersion = (a: Installed, b: Installed) =>
    (/^\d+\.\d+\.\d+$/.test(a.version) && /^\d+\.\d+\.\d+$/.test(b.version)
      ? compareVersions(b.version, a.version)
      : 0) || a.prefix.localeCompare(b.prefix);
  return { installs: installs.sort(byVersion), dropped: gone, installsDir: home };
}

export interface UninstallOptions {
  /** Which one, when the version is installed in more than one prefix. */
  prefix?: string;
  env?: NodeJS.ProcessEnv;
  /**
   * The pid of the httpd running from `prefix`, if one runs. Asked by the
   * caller (commands/source.ts, through ctl): lib/source does not reach
   * into ctl.
   */
  runningPid: (prefix: string) => Promise<number | undefined>;
  /** Decide and report; delete nothing. */
  check?: boolean;
}

export interface Uninstalled {
  version: string;
  /** The prefix deleted (would be, under check); null when none was installed. */
  prefix: string | null;
  /** False: no httpd `version` built by apxs-ts was there (removed before): nothing done (#23). */
  changed: boolean;
  /**
   * Its conf/ files, as they go (Ansible's shape); the rest of the tree is binaries and manuals.
   */
  diff: FileDiff[];
  series?: string;
  builtAt?: string;
  url?: string;
  where?: Installed['where'];
}

/** The regular files below `dir` (symlinks not followed), sorted. */
async function filesBelow(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await fs.readdir(dir, { withFileTypes: true }).catch(() => []);
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await filesBelow(p)));
    else if (e.isFile()) out.push(p);
  }
  return out;
}

/**
 * Deletes the prefix `version` was built into: only one holding a receipt, never while its httpd
 * runs.
 */
export async function uninstallVersion(
  version: string,
  opts: UninstallOptions,
): Promise<Uninstalled> {
  const env = opts.env ?? process.env;
  const { installs } = await installedVersions(env);
  const want = opts.prefix === undefined ? undefined : path.resolve(opts.prefix);
  const matches = installs.filter(
    (i) => i.version === version && (want === undefined || i.prefix === want),
  );
  const have = installs.map((i) => `${i.version} (${i.prefix})`).join(', ');
  // Not there (a second uninstall, or never built): nothing to do, as asked, unless the prefix it
  // would be in (--prefix, else the per-user one) is a directory holding no receipt for it: not
  // ours to judge, refused as before.
  const wantThere = await fs.stat(want ?? defaultPrefix(version, env)).then(
    () => true,
    () => false,
  );
  if (matches.length === 0 && !wantThere)
    return { version, prefix: want ?? null, changed: false, diff: [] };
  if (matches.length === 0) {
    throw new ApxsError(
      'BAD_INPUT',
      want
        ? `no httpd ${version} built by apxs-ts in ${want} (no receipt there naming it)`
        : `httpd ${version} was not built by apxs-ts (no receipt for it)`,
      {
        hint: have
          ? `apxs-ts source versions lists what was built: ${have}`
          : 'nothing built by apxs-ts source build is installed',
        data: { version },
      },
    );
  }
  if (matches.length > 1) {
    throw new ApxsError(
      'BAD_INPUT',
      `httpd ${version} is installed in ${matches.length} ` +
        `prefixes: ${matches.map((m) => m.prefix).join(', ')}`,
      {
        hint: 'say which one with --prefix',
        data: { version, prefixes: matches.map((m) => m.prefix) },
      },
    );
  }
  const it = matches[0]!;
  // The receipt proves apxs-ts built httpd there; the home directory or / never is such a prefix,
  // whatever a file says.
  const real = await fs.realpath(it.prefix);
  if (path.dirname(real) === real || real === path.resolve(os.homedir())) {
    throw new ApxsError(
      'BAD_INPUT',
      `${it.prefix} is ` +
        `${path.dirname(real) === real ? 'the root of the file system' : 'your home directory'}: ` +
        'not removed',
      { data: { prefix: it.prefix } },
    );
  }
  const pid = await opts.runningPid(it.prefix);
  if (pid !== undefined) {
    throw new ApxsError(
      'IN_USE',
      `httpd ${version} in ${it.prefix} is running (pid ${pid}): not removed`,
      {
        hint: `stop it first: apxs-ts ctl stop --server-root ${it.prefix}`,
        data: { version, prefix: it.prefix, pid },
      },
    );
  }
  const diff: FileDiff[] = [];
  for (const f of await filesBelow(path.join(it.prefix, 'conf')))
    diff.push(fileDiff(f, await fs.readFile(f), undefined));
  if (opts.check) return { ...it, changed: true, diff };
  await fs.rm(it.prefix, { recursive: true, force: true });
  if (it.where === 'elsewhere')
    await updateRegistry<PrefixEntry>(prefixesFile(env), (entries) =>
      entries.filter((e) => e.prefix !== it.prefix),
    );
  return { ...it, changed: true, diff };
}
