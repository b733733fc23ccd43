/** Reading a config for `vhost list` and `vhost check`, and httpd's own -S beside it. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ApxsError } from '../core/errors.js';
import { loadConfTree } from '../httpd/conf-tree.js';
import { hostsList, type HostsEntry } from './hosts-file.js';
import { httpdCommand } from '../httpd/invoke.js';
import { serverProfile } from '../httpd/profile.js';
import type { Series } from '../httpd/version.js';
import { runCapture } from '../core/run.js';
import type { ServerRoot } from '../httpd/server-root.js';
import { serverInfoFromTree } from '../httpd/server-info.js';
import { checkVhosts, listVhosts, type Finding } from './vhost-rules.js';
import { collectVhosts } from './vhost-model.js';

/**
 * A vhost as `vhost list` shows it; `disabled`: in a site file the layout has but does not enable
 * (Debian's a2dissite).
 */
export type ListedVhost = ReturnType<typeof listVhosts>[number] & { disabled: boolean };

export interface InspectOptions {
  /** A server root: its config, its httpd for the series and for -S. */
  sr?: ServerRoot;
  /** A config file to check instead of the server root's (with `sr`: still run by its httpd). */
  configFile?: string;
  series?: Series;
  hostsFile: string;
  /** Also run httpd -S (needs a server root). */
  httpdS?: boolean;
}

export interface InspectResult {
  configFile: string;
  series: Series;
  /** No server root and no series given: 2.4 was assumed, not asked of an httpd. */
  seriesAssumed: boolean;
  vhosts: ListedVhost[];
  findings: Finding[];
  httpdS: { exitCode: number; output: string } | null;
}

/** The series taken when there is no httpd to ask, said in the output as assumed. */
export const ASSUMED_SERIES: Series = '2.4';

/**
 * A config file that is not there is a bad argument when the user named it, a broken server root
 * otherwise.
 */
async function requireConfigFile(file: string, named: boolean): Promise<void> {
  const st = await fs.stat(file).catch(() => undefined);
  if (st?.isFile()) return;
  const what = st ? 'is not a file' : 'does not exist';
  throw named
    ? new ApxsError('BAD_INPUT', `config file ${file} ${what}`, {
        hint: 'pass the path of an httpd config file to --config',
        data: { configFile: file },
      })
    : new ApxsError('NOT_FOUND', `the server root's config file ${file} ${what}`, {
        data: { configFile: file },
      });
}

export async function inspectVhosts(opts: InspectOptions): Promise<InspectResult> {
  if (!opts.sr && !opts.configFile)
    throw new ApxsError('USAGE', 'a server root or a config file is needed');
  const configFile = opts.configFile ? path.resolve(opts.configFile) : opts.sr!.configFile;
  await requireConfigFile(configFile, !!opts.configFile);
  // --config with a server root: that root's httpd reads this file, for -S as for the series.
  const sr = opts.sr && { ...opts.sr, configFile };
  const env = sr ? (await httpdCommand(sr, [])).env : {};
  // httpd -S and -v run beside our own reading, not after it; one Promise.all
  // holds them all, so a failing one is never an unhandled rejection.
  // When our reading fails (an Include bomb stopped by its guard), httpd -S
  // is killed: it has no such guard, and would keep the command running for
  // minutes after the error was known.
  const stopS = new AbortController();
  const [s, series, hosts, tree] = await Promise.all([
    sr && opts.httpdS
      ? httpdCommand(sr, ['-S']).then((c) =>
          runCapture(c.file, c.args, { env: c.env, signal: stopS.signal }),
        )
      : undefined,
    opts.series ?? (sr ? serverProfile(sr).then((p) => p.series) : ASSUMED_SERIES),
    hostsList(opts.hostsFile).catch((): HostsEntry[] => []),
    loadConfTree(configFile, { serverRoot: sr?.root ?? path.dirname(configFile), env }).catch(
      (err: unknown) => {
        stopS.abort();
        throw err;
      },
    ),
  ]);
  const defaultPort = sr ? serverInfoFromTree(tree).listens[0]?.port : undefined;
  const httpdS = s ? { exitCode: s.exitCode, output: s.all.trim() } : null;
  const locators = {
    serverRoot: opts.sr?.root,
    config: opts.configFile && configFile,
    hostsFile: opts.hostsFile,
    httpdVersion: opts.series,
  };
  const { findings, vhosts } = await checkVhosts({
    tree,
    series,
    hosts,
    hostsFile: opts.hostsFile,
    defaultPort,
    configFile,
    httpdS,
    locators,
  });
  const enabled = listVhosts(vhosts, defaultPort, series).map((v) => ({ ...v, disabled: false }));
  // Only a server root's own layout says which site files are there but switched off (not a
  // --config file).
  const disabled = sr && !opts.configFile ? await disabledVhosts(sr, env, defaultPort, series) : [];
  findings.push(...disabledNameFindings(disabled, enabled, hosts, opts.hostsFile));
  return {
    configFile,
    series,
    seriesAssumed: !opts.series && !sr,
    vhosts: [...enabled, ...disabled],
    findings,
    httpdS,
  };
}

/** The vhosts of the layout's disabled site files, read as httpd would read them once enabled. */
async function disabledVhosts(
  sr: ServerRoot,
  env: Record<string, string>,
  defaultPort: number | undefined,
  series: Series,
): Promise<ListedVhost[]> {
  const out: ListedVhost[] = [];
  for (const file of await sr.layout.disabledSites(sr)) {
    const tree = await loadConfTree(file, { serverRoot: sr.root, env }).catch(() => undefined);
    if (!tree) continue;
    out.push(
      ...listVhosts(collectVhosts(tree), defaultPort, series).map((v) => ({
        ...v,
        isDefault: false,
        disabled: true,
      })),
    );
  }
  return out;
}

/**
 * A name the hosts file maps whose only vhost is in a disabled site: httpd
 * answers it with the default vhost of its address (seen: one.dd after
 * `a2dissite one.dd` served Debian's 000-default page).
 */
function disabledNameFindings(
  disabled: ListedVhost[],
  enabled: ListedVhost[],
  hosts: HostsEntry[],
  hostsFile: string,
): Finding[] {
  const served = new Set(
    enabled
      .flatMap((v) => [v.serverName, ...v.aliases])
      .filter(Boolean)
      .map((n) => n!.toLowerCase()),
  );
  const mapped = new Set(hosts.flatMap((h) => h.names.map((n) => n.toLowerCase())));
  const out: Finding[] = [];
  for (const v of disabled) {
    for (const n of [v.serverName, ...v.aliases].filter((x): x is string => !!x)) {
      const name = n.toLowerCase().replace(/:\d+$/, '');
      if (!mapped.has(name) || served.has(name)) continue;
      const site = path.basename(v.file).replace(/\.conf$/, '');
      out.push({
        code: 'NAME_SITE_DISABLED',
        severity: 'warning',
        file: v.file,
        line: v.line,
        message:
          `${hostsFile} maps ${name}, but its vhost is in a disabled ` +
          `site: requests for ${name} fall to the default vhost`,
        explanation:
          `${v.file} is not enabled (no link in sites-enabled), so no ` +
          `enabled vhost has ServerName or ServerAlias ${name} and httpd ` +
          `answers it with the first vhost of ${v.address}.`,
        fix:
          `enable the site (a2ensite ${site}) and reload, or take ${name} ` +
          `out of ${hostsFile} (apxs-ts vhost remove ${name})`,
      });
    }
  }
  return out;
}
