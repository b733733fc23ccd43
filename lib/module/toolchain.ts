/**
 * Compiler and flags for building modules against one httpd, from its apxs
 * (`apxs -q`) or, for a prefix without perl, its build/config_vars.mk. The
 * answer is cached per apxs file identity, so only the first build pays for
 * starting perl.
 *
 * What apxs can be asked differs per series (the server profile's
 * apxsVars): 1.3's apxs has no CXX, CPPFLAGS or EXTRA_* variables, refuses
 * a name it does not know, and takes one name per query; its shared-object
 * flags are CFLAGS_SHLIB / LDFLAGS_SHLIB instead of libtool's.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { cached, isStringRecord } from '../core/cache.js';
import { exists } from '../core/fs.js';
import { ApxsError } from '../core/errors.js';
import { runCapture } from '../core/run.js';
import { httpdCommand } from '../httpd/invoke.js';
import {
  ALL_APXS_VARS,
  type ApxsVar,
  serverProfile,
  traitsOf,
  type SeriesTraits,
} from '../httpd/profile.js';
import type { ServerRoot } from '../httpd/server-root.js';

export type ModuleApi = SeriesTraits['moduleApi'];

/** The httpd that will load what is built: what its symbols are checked against. */
export interface RuntimeTarget {
  /** The httpd binary. */
  httpd: string;
  /**
   * The environment it runs with (a prefix's envvars set LD_LIBRARY_PATH), asked only when needed.
   */
  env: () => Promise<Record<string, string>>;
  /** Where other modules are: what one of them exports is there at run time once it is loaded. */
  moduleDirs: string[];
}

/** The server a toolchain builds for, as errors name it. */
export interface BuildTarget {
  /** The module API its httpd loads. */
  api: ModuleApi;
  /** e.g. "httpd 1.3.42 at /opt/apache13", or "the system apxs (/usr/bin/apxs)". */
  describe: string;
  /**
   * Undefined when apxs does not say where its httpd is: then undefined symbols are not checked.
   */
  runtime?: RuntimeTarget;
}

export interface Toolchain {
  /** Identity of the source of these flags (path + mtime + size); a change means rebuild. */
  key: string;
  cc: string;
  cxx: string;
  /** Flags for the C compiler (optimisation, defines, includes, PIC). */
  cflags: string[];
  /** The same for the C++ compiler, without the options only C accepts. */
  cxxflags: string[];
  /** Flags for linking a shared module, with apxs -q LDFLAGS (Debian's asks for -z now). */
  ldflags: string[];
  /** Where httpd's and APR's headers are: a symbol's declaration is looked up there. */
  includeDirs: string[];
  target: BuildTarget;
}

/** Every variable the flags are made of; each server is asked only those its apxs knows. */
const WANTED = ALL_APXS_VARS;
type Vars = Record<ApxsVar, string>;

/** What to ask apxs: the profile's view of one series' apxs. */
type ApxsDialect = Pick<SeriesTraits, 'apxsVars' | 'apxsOneQueryAtATime'>;

async function fileKey(file: string): Promise<string> {
  const st = await fs.stat(file);
  return `${file}:${st.mtimeMs}:${st.size}`;
}

function words(s: string): string[] {
  return s.split(/\s+/).filter(Boolean);
}

function queryFailure(
  apxs: string,
  names: readonly string[],
  res: { exitCode: number; all: string },
): ApxsError {
  const details = res.all.split('\n').slice(-5);
  if (/Invalid query string/.test(res.all)) {
    // Not a missing tool: apxs ran and does not know a name (a series mix-up).
    return new ApxsError(
      'INTERNAL',
      `${apxs} does not know ${names.join(', ')} (apxs -q exit ${res.exitCode})`,
      {
        details,
        hint:
          'this apxs belongs to another httpd series ' +
          'than apxs-ts took it for; please report it',
      },
    );
  }
  return new ApxsError('TOOL_MISSING', `${apxs} -q failed (exit ${res.exitCode})`, {
    details,
    hint:
      'apxs needs perl and the httpd build files (apache2-dev, ' +
      "or the prefix's build/ directory)",
  });
}

async function queryApxs(
  apxs: string,
  names: readonly string[],
  oneAtATime: boolean,
): Promise<Record<string, string>> {
  if (oneAtATime) {
    // 1.3's apxs prints several values run together with nothing between them.
    const values = await Promise.all(
      names.map(async (n) => {
        const res = await runCapture(apxs, ['-q', n]);
        if (res.exitCode !== 0) throw queryFailure(apxs, [n], res);
        return res.stdout.trim();
      }),
    );
    return Object.fromEntries(names.map((n, i) => [n, values[i] ?? '']));
  }
  const res = await runCapture(apxs, ['-q', ...names]);
  if (res.exitCode !== 0) throw queryFailure(apxs, names, res);
  // 2.x's apxs -q with several names prints their values joined by ";;".
  const values = res.stdout.replace(/\n$/, '').split(';;');
  return Object.fromEntries(names.map((n, i) => [n, (values[i] ?? '').trim()]));
}

/** Reads `NAME = value` lines of config_vars.mk, expanding $(NAME) references. */
export function parseConfigVars(text: string): Record<string, string> {
  const raw: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (m) raw[m[1]!] = m[2]!;
  }
  const expand = (v: string, depth: number): string =>
    depth > 10
      ? v
      : v.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (_, n: string) =>
          expand(raw[n] ?? '', depth + 1),
        );
  return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, expand(v, 0)]));
}

function pickCxx(cc: string, cxx: string, env: NodeJS.ProcessEnv): string {
  if (env.CXX) return env.CXX;
  if (cxx) return cxx;
  // x86_64-linux-gnu-gcc -> x86_64-linux-gnu-g++, gcc -> g++, clang -> clang++
  if (/gcc$/.test(cc)) return cc.replace(/gcc$/, 'g++');
  if (/clang$/.test(cc)) return `${cc}++`;
  return 'g++';
}

/**
 * Options g++ rejects or warns about ("valid for C/ObjC but not for C++"):
 * 1.3's CFLAGS carry -fgnu89-inline, and apxs's CFLAGS are C flags.
 */
const C_ONLY_WARNINGS = [
  'declaration-after-statement',
  'strict-prototypes',
  'missing-prototypes',
  'old-style-definition',
  'old-style-declaration',
  'nested-externs',
  'bad-function-cast',
  'implicit-function-declaration',
  'implicit-int',
  'pointer-sign',
  'missing-parameter-type',
  'jump-misses-init',
  'override-init',
  'traditional',
  String.raw`c\+\+-compat`,
];
const C_ONLY = new RegExp(
  String.raw`^(-fgnu89-inline|-std=(c|gnu|iso9899:)\w*|-W(no-)?(error=)?(` +
    `${C_ONLY_WARNINGS.join('|')}))$`,
);

/**
 * A C compiler driver, which takes -shared and compiler flags alike (1.3's LD_SHLIB may be plain
 * `ld`).
 */
const isCompilerDriver = (cmd: string) =>
  /(^|\/)([\w.-]*-)?(gcc|cc|clang)(-[\d.]+)?$/.test(words(cmd)[0] ?? '');

function fromVars(v: Vars, key: string, target: BuildTarget, env: NodeJS.ProcessEnv): Toolchain {
  const cc = env.CC || v.CC || 'gcc';
  const includes = [`-I${v.INCLUDEDIR}`, ...words(v.EXTRA_INCLUDES)];
  const seen = new Set<string>();
  const flags = [
    ...words(v.CFLAGS),
    ...words(v.EXTRA_CFLAGS),
    ...words(v.CPPFLAGS),
    ...words(v.EXTRA_CPPFLAGS),
    ...includes,
  ]
    // "-I." and "-I/usr/include" from apxs only slow the compiler down and shadow headers.
    .filter((f) => {
      if (f === '-I.' || f === '-I/usr/include' || (f.startsWith('-I') && seen.has(f)))
        return false;
      seen.add(f);
      return true;
    });
  // 1.3 says how it compiles shared objects (-fpic -DSHARED_MODULE); 2.x leaves it to libtool.
  const pic = v.CFLAGS_SHLIB ? words(v.CFLAGS_SHLIB) : ['-fPIC', '-DPIC'];
  // -Wall: the templates compile without a warning on every series, so a
  // warning in the build log is the developer's code speaking.
  // -g always (issue #21): a crash's backtrace names the module's file:line only with debug info;
  // it does not change the code.
  const debug = flags.some((f) => /^-g(?!0$)/.test(f)) ? [] : ['-g'];
  const cflags = [...flags, ...debug, '-Wall', ...pic];
  // apxs links with its LDFLAGS too (2.x; 1.3's apxs has LDFLAGS_SHLIB only): Debian's carry -z now
  // and relro.
  const ldflags =
    v.LDFLAGS_SHLIB && (!v.LD_SHLIB || isCompilerDriver(v.LD_SHLIB))
      ? words(v.LDFLAGS_SHLIB)
      : ['-shared', ...words(v.LDFLAGS)];
  // httpd's and APR's own: /usr/include would make every system header look like httpd's.
  const includeDirs = includes
    .filter((f) => f.startsWith('-I') && f !== '-I.' && f !== '-I/usr/include' && f.length > 2)
    .map((f) => f.slice(2));
  let runtime = target.runtime;
  const binary = v.progname || v.TARGET;
  if (!runtime && v.SBINDIR && binary)
    runtime = { httpd: path.join(v.SBINDIR, binary), env: async () => ({}), moduleDirs: [] };
  if (runtime && v.LIBEXECDIR && !runtime.moduleDirs.includes(v.LIBEXECDIR))
    runtime = { ...runtime, moduleDirs: [...runtime.moduleDirs, v.LIBEXECDIR] };
  return {
    key,
    cc,
    cxx: pickCxx(cc, v.CXX, env),
    cflags,
    cxxflags: cflags.filter((f) => !C_ONLY.test(f)),
    ldflags,
    includeDirs,
    target: { ...target, runtime },
  };
}

/** 2.x's apxs, for an apxs of no known server (the system's, from apache2-dev). */
const DEFAULT_DIALECT: ApxsDialect = traitsOf('2.4');

export async function loadToolchain(
  opts: { apxs?: string; root?: string; dialect?: ApxsDialect; target?: BuildTarget },
  env = process.env,
): Promise<Toolchain> {
  let source: string | undefined;
  if (opts.apxs && (await exists(opts.apxs))) source = opts.apxs;
  else if (opts.root && (await exists(path.join(opts.root, 'build', 'config_vars.mk'))))
    source = path.join(opts.root, 'build', 'config_vars.mk');
  else if (!opts.apxs && (await exists('/usr/bin/apxs'))) source = '/usr/bin/apxs';
  if (!source) {
    throw new ApxsError('TOOL_MISSING', 'no apxs found to take compiler flags from', {
      hint:
        'install apache2-dev (apt-get install -y apache2-dev), ' +
        'or pass --server-root of an httpd built with apxs',
    });
  }
  const dialect = opts.dialect ?? DEFAULT_DIALECT;
  const names = WANTED.filter((n) => dialect.apxsVars.includes(n));
  const key = await fileKey(source);
  // The names asked are part of the cache key: an answer to other questions is no answer.
  const vars = await cached(
    'toolchain',
    `${key}|${names.join(',')}`,
    isStringRecord,
    async () => {
      const all = source.endsWith('.mk')
        ? parseConfigVars(await fs.readFile(source, 'utf8'))
        : await queryApxs(source, names, dialect.apxsOneQueryAtATime);
      return Object.fromEntries(names.map((n) => [n, all[n] ?? '']));
    },
    { env },
  );
  const full = Object.fromEntries(WANTED.map((n) => [n, vars[n] ?? ''])) as Vars;
  return fromVars(full, key, opts.target ?? { api: '2', describe: `the apxs ${source}` }, env);
}

/**
 * The toolchain for a server root (its apxs, asked as its series' apxs must
 * be), or for the system's apxs when there is no server root.
 */
export async function toolchainForServer(
  sr: ServerRoot | undefined,
  env = process.env,
): Promise<Toolchain> {
  if (!sr) return loadToolchain({}, env);
  const profile = await serverProfile(sr);
  return loadToolchain(
    {
      apxs: sr.apxs,
      root: sr.layout.buildRoot(sr),
      dialect: profile.traits,
      target: {
        api: profile.traits.moduleApi,
        describe: `httpd ${profile.version} at ${sr.root}`,
        runtime: {
          httpd: sr.httpd,
          env: async () => (await httpdCommand(sr, [])).env,
          moduleDirs: [sr.modulesDir],
        },
      },
    },
    env,
  );
}
