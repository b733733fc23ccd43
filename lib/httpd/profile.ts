/**
 * A server profile: what differs between httpd series, in one table, and
 * the series of a server root's httpd, asked once (`httpd -v`) and cached on
 * disk with the binary's identity (path, mtime, size). With the root's
 * layout (lib/httpd/layout.ts) it answers every question that differs from
 * one server to another; nothing else tests a series.
 */
import path from 'node:path';
import { cached } from '../core/cache.js';
import { statIfAny } from '../core/fs.js';
import { dialectOf, type Dialect } from './dialect.js';
import { httpdCommand } from './invoke.js';
import type { SharedModule } from './layout.js';
import type { ServerRoot } from './server-root.js';
import { ApxsError } from '../core/errors.js';
import { httpdSeries, seriesOfVersion, type Series } from './version.js';

export type CtlVerb = 'stop' | 'restart' | 'graceful' | 'gracefulStop';

export interface SeriesTraits {
  series: Series;
  dialect: Dialect;
  /**
   * httpd arguments that start it in the background: 2.x takes `-k start`; 1.3 has no -k and
   * detaches by itself.
   */
  startArgs: string[];
  /**
   * The signal for each verb; undefined where the series has no such verb (graceful-stop came with
   * 2.2).
   */
  signals: Record<CtlVerb, NodeJS.Signals | undefined>;
  /**
   * The module API templates target: 1.3's (module MODULE_VAR_EXPORT, handler_rec) or 2.x's (hooks,
   * APR).
   */
  moduleApi: '1.3' | '2';
  /**
   * What apxs -q can answer. 1.3's apxs knows fewer variables (no CXX, no
   * EXTRA_*), takes one at a time, and joins values with spaces, not ";;".
   * The httpd binary's name is 1.3's TARGET and 2.x's progname (2.x's apxs
   * leaves TARGET out of a query of several names, shifting the rest).
   */
  apxsVars: readonly string[];
  apxsOneQueryAtATime: boolean;
  /**
   * The lines that load a module. LoadModule alone on every series: on 1.3
   * (tried on 1.3.42) LoadModule also activates the module; an AddModule
   * after it only warns "module mod_x.c is already added, skipping" at every
   * start, and ClearModuleList deactivates both alike, so the one thing that
   * counts there is that the lines come after ClearModuleList. (`stem` is
   * what an AddModule would name, stem.c; no series needs it today.)
   */
  loadModule(symbol: string, so: string, stem: string): string[];
  /**
   * TLS vhosts: the first release whose mod_ssl picks a vhost by SNI (2.2.12)
   * and the modules it needs (2.4's session cache is a module of its own;
   * 2.2's shmcb is built into mod_ssl); or why the series cannot (1.3 has no
   * mod_ssl of Apache's, 2.0's has no SNI: several TLS vhosts on one port
   * would all get the first one's certificate).
   */
  tls: { sinceVersion: string; modules: SharedModule[] } | { unsupported: string };
  /**
   * How httpd lists the modules a config loads (module-state's "loaded"):
   * `-t -D DUMP_MODULES` (-M) came with 2.2; 1.3's -l and 2.0's -l list only
   * the compiled-in ones, so there a loaded shared module is not confirmable.
   */
  moduleList: { args: string[] } | { unconfirmable: string };
}

const SSL: SharedModule = { name: 'ssl', symbol: 'ssl_module', file: 'mod_ssl.so' };
const SHMCB: SharedModule = {
  name: 'socache_shmcb',
  symbol: 'socache_shmcb_module',
  file: 'mod_socache_shmcb.so',
};
/** For --https-only's Redirect. */
export const ALIAS_MODULE: SharedModule = {
  name: 'alias',
  symbol: 'alias_module',
  file: 'mod_alias.so',
};

const APXS_2 = [
  'CC',
  'CXX',
  'CFLAGS',
  'CPPFLAGS',
  'EXTRA_CPPFLAGS',
  'EXTRA_CFLAGS',
  'INCLUDEDIR',
  'EXTRA_INCLUDES',
  'LDFLAGS',
  'LIBEXECDIR',
  'SBINDIR',
  'progname',
] as const;
const APXS_13 = [
  'CC',
  'CFLAGS',
  'CFLAGS_SHLIB',
  'LD_SHLIB',
  'LDFLAGS_SHLIB',
  'INCLUDEDIR',
  'LIBEXECDIR',
  'SBINDIR',
  'TARGET',
] as const;
/** Every apxs variable some series' apxs is asked for. */
export type ApxsVar = (typeof APXS_2)[number] | (typeof APXS_13)[number];
export const ALL_APXS_VARS: readonly ApxsVar[] = [...new Set<ApxsVar>([...APXS_2, ...APXS_13])];

const loadLine = (symbol: string, so: string) =>
  `LoadModule ${symbol} ${/\s/.test(so) ? JSON.stringify(so) : so}`;

const TLS: Record<Series, SeriesTraits['tls']> = {
  '1.3': {
    unsupported: "httpd 1.3 has no mod_ssl of Apache's (mod_ssl for 1.3 was a separate patch set)",
  },
  '2.0': {
    unsupported:
      "httpd 2.0's mod_ssl has no SNI: TLS vhosts sharing " +
      "a port would all get the first one's certificate",
  },
  '2.2': { sinceVersion: '2.2.12', modules: [SSL] },
  '2.4': { sinceVersion: '2.4.0', modules: [SHMCB, SSL] },
};

function traits2(series: Series, gracefulStop: boolean, dumpModules: boolean): SeriesTraits {
  return {
    series,
    dialect: dialectOf(series),
    startArgs: ['-k', 'start'],
    signals: {
      stop: 'SIGTERM',
      restart: 'SIGHUP',
      graceful: 'SIGUSR1',
      gracefulStop: gracefulStop ? 'SIGWINCH' : undefined,
    },
    moduleApi: '2',
    apxsVars: APXS_2,
    apxsOneQueryAtATime: false,
    loadModule: (symbol, so) => [loadLine(symbol, so)],
    tls: TLS[series],
    moduleList: dumpModules
      ? { args: ['-t', '-D', 'DUMP_MODULES'] }
      : {
          unconfirmable:
            `httpd ${series} has no DUMP_MODULES (-M came with ` +
            '2.2); its -l lists only compiled-in modules',
        },
  };
}

const TRAITS: Record<Series, SeriesTraits> = {
  '1.3': {
    series: '1.3',
    dialect: dialectOf('1.3'),
    startArgs: [],
    signals: { stop: 'SIGTERM', restart: 'SIGHUP', graceful: 'SIGUSR1', gracefulStop: undefined },
    moduleApi: '1.3',
    apxsVars: APXS_13,
    apxsOneQueryAtATime: true,
    loadModule: (symbol, so) => [loadLine(symbol, so)],
    tls: TLS['1.3'],
    moduleList: {
      unconfirmable: 'httpd 1.3 has no DUMP_MODULES; its -l lists only compiled-in modules',
    },
  },
  '2.0': traits2('2.0', false, false),
  '2.2': traits2('2.2', true, true),
  '2.4': traits2('2.4', true, true),
};

export function traitsOf(series: Series): SeriesTraits {
  return TRAITS[series];
}

export interface ServerProfile {
  /** The full version, e.g. 2.4.68 (or the series alone when it was given, not asked). */
  version: string;
  series: Series;
  traits: SeriesTraits;
}

const memo = new Map<string, Promise<{ series: Series; version: string }>>();

const isVersion = (v: unknown): v is string => typeof v === 'string' && /^\d+\.\d+\.\d+$/.test(v);

/** `httpd -v`, once per binary identity: in this process, and on disk across runs. */
async function versionOf(sr: ServerRoot): Promise<{ series: Series; version: string }> {
  const st = await statIfAny(sr.httpd);
  const key = `${path.resolve(sr.httpd)}:${st?.mtimeMs}:${st?.size}`;
  let hit = memo.get(key);
  if (!hit) {
    const ask = async () => (await httpdSeries(sr.httpd, (await httpdCommand(sr, [])).env)).version;
    // No binary to stat: nothing names the answer, so it is not kept.
    hit = (st ? cached('httpd-version', key, isVersion, ask) : ask()).then((version) => ({
      series: seriesOfVersion(version),
      version,
    }));
    memo.set(key, hit);
  }
  return hit;
}

/**
 * The profile of a server root's httpd; `override` (--httpd-version) names the series instead of
 * asking httpd.
 */
export async function serverProfile(sr: ServerRoot, override?: Series): Promise<ServerProfile> {
  const v = override ? { series: override, version: override } : await versionOf(sr);
  return { ...v, traits: traitsOf(v.series) };
}

const older = (a: string, b: string) => {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) < (y[i] ?? 0);
  return false;
};

/**
 * The modules a TLS vhost needs in this root (with `extra`, e.g. mod_alias
 * for a redirect), or TLS_UNSUPPORTED: a series without SNI, a release
 * before it, or a root with no loadable mod_ssl (httpd built without it).
 */
export async function tlsModules(
  sr: ServerRoot,
  profile: ServerProfile,
  extra: SharedModule[] = [],
): Promise<SharedModule[]> {
  const t = profile.traits.tls;
  const fail = (why: string, hint: string) =>
    new ApxsError(
      'TLS_UNSUPPORTED',
      `${sr.root} (httpd ${profile.version}) cannot serve TLS vhosts: ${why}`,
      { hint, data: { serverRoot: sr.root, version: profile.version } },
    );
  if ('unsupported' in t)
    throw fail(
      t.unsupported,
      'use an httpd 2.4 server root: apxs-ts sandbox create DIR --tls-port ' +
        'N (the system httpd), or apxs-ts source build 2.4.x --with-ssl',
    );
  if (/^\d+\.\d+\.\d+$/.test(profile.version) && older(profile.version, t.sinceVersion)) {
    throw fail(
      `SNI came with ${t.sinceVersion}`,
      `upgrade to ${t.sinceVersion} or later (2.4 preferred)`,
    );
  }
  for (const m of t.modules) {
    if (!(await sr.layout.hasSharedModule(sr, m))) {
      throw fail(
        `no loadable ${m.file} (${m.symbol}) in it`,
        'its httpd was built without mod_ssl: rebuild it with configure --enable-ssl (needs ' +
          "libssl-dev; apxs-ts source build 2.4.x --with-ssl), install your distribution's " +
          'mod_ssl, or use a 2.4 sandbox (apxs-ts sandbox create DIR --tls-port N)',
      );
    }
  }
  return [...t.modules, ...extra];
}
