/**
 * How each httpd series is built from source on a modern Debian: the one
 * table of what differs (prerequisites, fixes to the tree before configure,
 * configure's shell, arguments and environment, fixes to the installed
 * config). Nothing else in lib/source tests a series.
 */
import { firstGroup } from '../core/fs.js';
import type { Series } from '../httpd/version.js';
import { dropSysSiglist, fixGroupMinusOne, renameGetline, type FixRecord } from './legacy-fixes.js';
import { compareVersions } from './versions.js';

/** A tool or header a build needs. */
export interface Requirement {
  what: string;
  /** Debian package that provides it. */
  pkg: string;
  /** Any of these on PATH (or absolute) satisfies it. */
  anyOf: string[];
}

export interface ConfigurePlan {
  shell: string | undefined;
  args: string[];
  env: Record<string, string>;
  fixes: FixRecord[];
}

interface Fixes<A> {
  /** The line a dry run shows. */
  plan: string;
  apply: (target: A) => Promise<FixRecord[]>;
}

export interface Recipe {
  /** What it needs beyond a C compiler, make and perl. */
  requirements: (version: string) => Requirement[];
  /** Fixes to the unpacked source tree, before configure. */
  treeFixes?: Fixes<string>;
  configure: (prefix: string, extra: string[]) => ConfigurePlan;
  /** Fixes to the installed conf/httpd.conf. */
  confFixes?: Fixes<string>;
  /**
   * `--with-ssl`: the configure arguments that build mod_ssl (and what they need); none where
   * apxs-ts serves no TLS (before 2.4).
   */
  ssl?: { args: string[]; requirement: Requirement };
  /**
   * make install's arguments to install under `stage` instead of / (the prefix stays compiled in).
   */
  stagedInstall?: (stage: string) => string[];
}

/**
 * How make install is told to install under a staging directory: DESTDIR, except where a recipe
 * says otherwise.
 */
export const stagedInstallArgs = (recipe: Recipe, stage: string): string[] =>
  recipe.stagedInstall?.(stage) ?? [`DESTDIR=${stage}`];

async function applied(fixes: Promise<FixRecord | undefined>[]): Promise<FixRecord[]> {
  return (await Promise.all(fixes)).filter((f): f is FixRecord => f !== undefined);
}

const BUNDLED_PCRE: Requirement = {
  what: 'PCRE-free build (bundled)',
  pkg: 'libc6-dev',
  anyOf: ['/usr/include/stdio.h'],
};
const plain =
  (more: string[]) =>
  (prefix: string, extra: string[]): ConfigurePlan => ({
    shell: undefined,
    args: [`--prefix=${prefix}`, '--enable-so', ...more, ...extra],
    env: {},
    fixes: [],
  });

export const RECIPES: Record<Series, Recipe> = {
  '1.3': {
    // 1.3's Makefile.tmpl knows no DESTDIR; its variable is root= ($(root)$(bindir) ...).
    stagedInstall: (stage) => [`root=${stage}`],
    requirements: () => [
      { what: "bash (1.3's configure breaks under dash)", pkg: 'bash', anyOf: ['bash'] },
    ],
    treeFixes: {
      plan:
        'apply legacy fixes: rename getline in ' +
        'src/support/{htdigest,htpasswd,logresolve}.c, drop SYS_SIGLIST from ap_config.h',
      apply: (root) => applied([renameGetline(root), dropSysSiglist(root)]),
    },
    configure: (prefix, extra) => ({
      // dash's echo turns backslash sequences in configure's sed scripts into control characters.
      shell: 'bash',
      args: [`--prefix=${prefix}`, '--enable-module=so', ...extra],
      // 1.3's os.h has `extern inline` functions: with C99 inline semantics every
      // file that includes it defines them ("multiple definition of ap_os_is_path_absolute").
      env: { CONFIG_SHELL: 'bash', CFLAGS: '-fgnu89-inline -O2', OPTIM: '-fgnu89-inline -O2' },
      fixes: [
        {
          id: 'configure-bash',
          description:
            "ran configure (and config.status) under bash: dash's echo corrupts its sed scripts",
          files: [],
        },
        {
          id: 'gnu89-inline',
          description: "built with -fgnu89-inline (1.3's extern inline in os.h)",
          files: [],
        },
      ],
    }),
  },
  '2.0': {
    requirements: () => [BUNDLED_PCRE],
    configure: plain([]),
    confFixes: {
      plan: 'apply legacy fix: "Group #-1" in the installed httpd.conf becomes a real group',
      apply: async (conf) =>
        applied([
          fixGroupMinusOne(conf, await firstGroup(['nogroup', 'daemon', 'nobody'], 'nogroup')),
        ]),
    },
  },
  '2.2': { requirements: () => [BUNDLED_PCRE], configure: plain(['--with-included-apr']) },
  '2.4': {
    requirements: (version) => [
      { what: 'APR development files', pkg: 'libapr1-dev', anyOf: ['apr-1-config'] },
      { what: 'APR-util development files', pkg: 'libaprutil1-dev', anyOf: ['apu-1-config'] },
      compareVersions(version, '2.4.53') >= 0
        ? { what: 'PCRE2 development files', pkg: 'libpcre2-dev', anyOf: ['pcre2-config'] }
        : { what: 'PCRE development files', pkg: 'libpcre3-dev', anyOf: ['pcre-config'] },
    ],
    configure: plain([]),
    // mod_ssl and the shmcb session cache it uses as DSOs, against the system's OpenSSL.
    ssl: {
      args: ['--enable-ssl=shared', '--enable-socache-shmcb=shared'],
      requirement: {
        what: 'OpenSSL development files (--with-ssl)',
        pkg: 'libssl-dev',
        anyOf: ['/usr/include/openssl/ssl.h'],
      },
    },
  },
};

/** The fixes a series' source tree needs, applied (each safe to run twice). */
export async function applyTreeFixes(series: Series, root: string): Promise<FixRecord[]> {
  return (await RECIPES[series].treeFixes?.apply(root)) ?? [];
}

export function configurePlan(series: Series, prefix: string, extra: string[]): ConfigurePlan {
  return RECIPES[series].configure(prefix, extra);
}
