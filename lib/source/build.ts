/**
 * `source build`: the whole way from a version to an installed httpd prefix
 * that the other commands use as a server root. Prerequisites are checked
 * before anything is downloaded; each phase logs to a file; success is
 * decided by asking the installed httpd, and recorded in a receipt.
 */
import { promises as fs, type Stats } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApxsError, isErrno } from '../core/errors.js';
import { firstExisting } from '../core/fs.js';
import { dialectOf } from '../httpd/dialect.js';
import type { Series } from '../httpd/version.js';
import { offsetAfterLine, upsertBlock } from '../core/marked-block.js';
import { runCapture } from '../core/run.js';
import { acquire, findRelease, listReleases, type Verified } from './acquire.js';
import { checkCacheDir } from './cache.js';
import { extractTarball } from './extract.js';
import type { DownloadProgress, FetchNotice } from './fetch.js';
import type { DownloadLimits } from './limits.js';
import type { FixRecord } from './legacy-fixes.js';
import { RECIPES, stagedInstallArgs } from './recipes.js';
import { failpoint } from '../core/failpoint.js';
import { isAlive } from '../core/proc.js';
import { runPhase, type PhaseEvent } from './phase.js';
import { checkPrereqs } from './prereqs.js';
import { defaultPrefix, RECEIPT_FILE } from './receipts.js';
import { configureLogWarnings } from './configure-warnings.js';

export interface SourceBuildOptions {
  version: string;
  mirrors: string[];
  cacheDir: string;
  /** Default: a directory per version under the user's data dir (receipts.ts defaultPrefix). */
  prefix?: string;
  port: number;
  jobs?: number;
  keysFile?: string;
  insecure?: boolean;
  dryRun?: boolean;
  configureArgs?: string[];
  /** Build mod_ssl too (2.4 only: the recipe's ssl arguments, libssl-dev). */
  withSsl?: boolean;
  limits?: Partial<DownloadLimits>;
  onEvent?: (
    e:
      | PhaseEvent
      | { phase: 'download'; progress: DownloadProgress }
      | { phase: 'download'; notice: FetchNotice },
  ) => void;
}

export interface Receipt {
  version: string;
  series: Series;
  url: string;
  checksum: Verified['checksum'];
  signer: Verified['signer'];
  configure: string[];
  fixes: FixRecord[];
  jobs: number;
  builtAt: string;
  phasesMs: Record<string, number>;
}

export interface SourceBuildResult {
  /**
   * False: the prefix already holds this version built with these options and this port; nothing
   * was done (#23).
   */
  changed: boolean;
  dryRun: boolean;
  version: string;
  prefix: string;
  steps: string[];
  receipt?: Receipt;
  workDir?: string;
  warnings: string[];
}

/**
 * The installed httpd.conf listens where we say: the shipped Listen line is switched off, ours is
 * in our block.
 */
export function setListen(text: string, series: Series, port: number): string {
  const { shipped, lines } = dialectOf(series).listen;
  let lastLine = 0;
  const switchedOff = text.replace(new RegExp(shipped), (line: string, ...rest: unknown[]) => {
    const offset = rest[rest.length - 2] as number;
    lastLine = text.slice(0, offset).split('\n').length;
    return `# ${line.trim()}   (apxs-ts: see the apxs-ts listen block)`;
  });
  return upsertBlock(
    switchedOff,
    'listen',
    lines(port),
    lastLine ? offsetAfterLine(switchedOff, lastLine) : switchedOff.length,
  );
}

/**
 * What make install leaves in a prefix (any one of them), or our receipt: a prefix httpd was built
 * into before.
 */
const PREFIX_MARKERS = ['bin/httpd', 'bin/apachectl', 'conf/httpd.conf', 'apxs-ts-receipt.json'];

/**
 * make install writes bin/, conf/, lib/, include/, man/ ... into the prefix,
 * over whatever is there: so the prefix must be new, empty, or a prefix httpd
 * was installed in before (rebuilding over it is allowed). `/`, a file, or a
 * directory holding other things (a home, /usr/local) is refused.
 */
export async function checkPrefix(prefixArg: string): Promise<string> {
  const prefix = path.resolve(prefixArg);
  const refuse = (message: string, hint: string, data: Record<string, unknown> = {}) =>
    new ApxsError('BAD_INPUT', message, { hint, data: { prefix, ...data } });
  const ownDir = 'give a new or empty directory of its own, e.g. /opt/httpd-2.4 or ~/httpd-2.4';
  let st: Stats;
  try {
    st = await fs.stat(prefix);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return prefix;
    if (isErrno(err, 'ENOTDIR'))
      throw refuse(`--prefix ${prefix}: part of the path is a file`, ownDir);
    if (isErrno(err, 'EACCES') || isErrno(err, 'EPERM')) {
      throw new ApxsError('PERMISSION_DENIED', `permission denied looking at --prefix ${prefix}`, {
        hint: 'run with sudo, or pass a prefix you own',
        cause: err,
      });
    }
    throw err;
  }
  // realpath: a symlink to / is / too.
  const real = await fs.realpath(prefix);
  if (path.dirname(real) === real)
    throw refuse(`--prefix ${prefix} is the root of the file system`, ownDir);
  if (!st.isDirectory()) throw refuse(`--prefix ${prefix} is a file, not a directory`, ownDir);
  let entries: string[];
  try {
    entries = await fs.readdir(prefix);
  } catch (err) {
    if (isErrno(err, 'EACCES') || isErrno(err, 'EPERM')) {
      throw new ApxsError('PERMISSION_DENIED', `permission denied reading --prefix ${prefix}`, {
        hint: 'run with sudo, or pass a prefix you own',
        cause: err,
      });
    }
    throw err;
  }
  if (
    entries.length === 0 ||
    (await firstExisting(PREFIX_MARKERS.map((m) => path.join(prefix, m))))
  )
    return prefix;
  throw refuse(
    `--prefix ${prefix} is not empty and is not an httpd prefix (no ` +
      'bin/httpd, bin/apachectl, conf/httpd.conf or apxs-ts receipt)',
    `make install would write bin/, conf/, lib/ ... among what is there: ${ownDir}`,
    { entries: entries.slice(0, 20) },
  );
}

/**
 * The receipt of a prefix that already holds what is asked: the same version
 * configured with the same arguments (the prefix and --with-ssl are among
 * them), bin/httpd there, and httpd.conf already listening on `port`
 * (setListen would change nothing). Else undefined: build.
 */
async function sameBuild(
  prefix: string,
  version: string,
  series: Series,
  configure: string[],
  port: number,
): Promise<Receipt | undefined> {
  const read = (rel: string) => fs.readFile(path.join(prefix, rel), 'utf8').catch(() => undefined);
  const text = await read(RECEIPT_FILE);
  if (text === undefined) return undefined;
  let r: Partial<Receipt>;
  try {
    r = JSON.parse(text) as Partial<Receipt>;
  } catch {
    return undefined;
  }
  if (r.version !== version || JSON.stringify(r.configure) !== JSON.stringify(configure))
    return undefined;
  if (
    !(await fs.stat(path.join(prefix, 'bin', 'httpd')).then(
      (st) => st.isFile(),
      () => false,
    ))
  )
    return undefined;
  const conf = await read(path.join('conf', 'httpd.conf'));
  if (conf === undefined || setListen(conf, series, port) !== conf) return undefined;
  return r as Receipt;
}

const STAGE_INFIX = '.apxs-ts-stage-';

/**
 * A fresh staging directory beside the prefix (`.NAME.apxs-ts-stage-PID-…`);
 * those a killed build left (its pid gone) are removed first.
 */
async function makeStage(prefix: string): Promise<string> {
  const parent = path.dirname(prefix);
  const mine = `.${path.basename(prefix)}${STAGE_INFIX}`;
  await fs.mkdir(parent, { recursive: true });
  for (const f of await fs.readdir(parent).catch(() => [] as string[])) {
    const pid = f.startsWith(mine) ? Number(/^(\d+)-/.exec(f.slice(mine.length))?.[1]) : NaN;
    if (pid > 0 && !isAlive(pid))
      await fs.rm(path.join(parent, f), { recursive: true, force: true });
  }
  return fs.mkdtemp(path.join(parent, `${mine}${process.pid}-`));
}

/**
 * Puts the staged install where it belongs with renames only: into a new or
 * empty prefix in one step; over an earlier httpd prefix by moving that one
 * aside first (returned, so the caller can say where it is).
 */
async function moveIntoPlace(staged: string, prefix: string): Promise<string | undefined> {
  const entries = await fs.readdir(prefix).catch((err: unknown) => {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw err;
  });
  let previous: string | undefined;
  if (entries && entries.length === 0) await fs.rmdir(prefix);
  else if (entries) {
    previous = `${prefix}.previous-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    await fs.rename(prefix, previous);
  }
  await fs.rename(staged, prefix);
  return previous;
}

export async function buildFromSource(o: SourceBuildOptions): Promise<SourceBuildResult> {
  // Arguments first, dry run or not: nothing is fetched for a build that cannot go where it is
  // told.
  const given = o.prefix === undefined ? undefined : await checkPrefix(o.prefix);
  await checkCacheDir(o.cacheDir, { create: false });
  const listings = await listReleases(o.mirrors, {
    limits: o.limits,
    onNotice: (n) => o.onEvent?.({ phase: 'download', notice: n }),
  });
  const { mirror, release } = findRelease(listings, o.version);
  // No --prefix: ~/.local/share/apxs-ts/httpd/VERSION, once the version is known; `source versions`
  // finds it there.
  const prefix = given ?? (await checkPrefix(defaultPrefix(release.version)));
  const recipe = RECIPES[release.series];
  if (o.withSsl && !recipe.ssl) {
    throw new ApxsError(
      'TLS_UNSUPPORTED',
      `--with-ssl: apxs-ts builds mod_ssl for httpd 2.4 only, not ${release.version}`,
      {
        hint:
          "build a 2.4 (apxs-ts source build 2.4 --with-ssl), or pass configure's own " +
          '--enable-ssl after -- (TLS vhosts need 2.2.12+ and a loadable mod_ssl)',
      },
    );
  }
  const plan = recipe.configure(prefix, [
    ...(o.withSsl && recipe.ssl ? recipe.ssl.args : []),
    ...(o.configureArgs ?? []),
  ]);
  const jobs = Math.max(1, o.jobs ?? os.availableParallelism());
  const url = `${mirror}${release.file}`;
  // Built there before as asked (its receipt says so): nothing to do, nothing downloaded (#23).
  const already = await sameBuild(
    prefix,
    release.version,
    release.series,
    [...(plan.shell ? [plan.shell] : []), './configure', ...plan.args],
    o.port,
  );
  if (already)
    return {
      changed: false,
      dryRun: !!o.dryRun,
      version: release.version,
      prefix,
      steps: [],
      receipt: already,
      warnings: [],
    };
  const steps = [
    `download ${url} (cache: ${o.cacheDir})`,
    ...(release.depsFile
      ? [`download ${mirror}${release.depsFile} and unpack it over the tree`]
      : []),
    o.insecure
      ? 'skip verification (--insecure)'
      : `verify the strongest checksum of ${url}.{sha512,sha256,sha1,md5} ` +
        `and ${url}.asc against ${o.keysFile ?? 'the ASF KEYS'}`,
    `extract into a fresh work dir`,
    ...(recipe.treeFixes ? [recipe.treeFixes.plan] : []),
    `${plan.shell ? `${plan.shell} ` : ''}./configure ${plan.args.join(' ')}${
      Object.keys(plan.env).length
        ? `  (env: ${Object.entries(plan.env)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')})`
        : ''
    }`,
    `make -j${jobs}`,
    'make install',
    ...(recipe.confFixes ? [recipe.confFixes.plan] : []),
    `set Listen localhost:${o.port} in ${path.join(prefix, 'conf', 'httpd.conf')}`,
    `check ${path.join(prefix, 'bin', 'httpd')} -v and -l (mod_so), ` +
      `write ${path.join(prefix, 'apxs-ts-receipt.json')}`,
  ];
  const prereqs = await checkPrereqs(release.version, process.env, { ssl: o.withSsl });
  if (o.dryRun)
    return {
      changed: true,
      dryRun: true,
      version: release.version,
      prefix,
      steps,
      warnings: prereqs.installLine ? [`missing: ${prereqs.installLine}`] : [],
    };
  if (prereqs.installLine) {
    throw new ApxsError(
      'TOOL_MISSING',
      `building httpd ${release.version} needs ${prereqs.missing.map((m) => m.what).join(', ')}`,
      {
        hint: `as root: ${prereqs.installLine}`,
        data: { missing: prereqs.missing.map((m) => m.pkg) },
      },
    );
  }

  const fetching = {
    cacheDir: o.cacheDir,
    keysFile: o.keysFile,
    insecure: o.insecure,
    limits: o.limits,
    onProgress: (p: DownloadProgress) => o.onEvent?.({ phase: 'download', progress: p }),
    onNotice: (n: FetchNotice) => o.onEvent?.({ phase: 'download', notice: n }),
  };
  const verified = await acquire(mirror, release, fetching);
  const deps = release.depsFile
    ? await acquire(mirror, { ...release, file: release.depsFile, depsFile: undefined }, fetching)
    : undefined;

  // Inside the cache dir, never beside it: --cache-dir is the one place the user gave us to write.
  const workRoot = path.join(o.cacheDir, 'build');
  await fs.mkdir(workRoot, { recursive: true });
  const workDir = await fs.mkdtemp(path.join(workRoot, `httpd-${release.version}-`));
  const phasesMs: Record<string, number> = {};
  let stage: string | undefined;
  try {
    const t0 = Date.now();
    const x = await extractTarball(verified.file, path.join(workDir, 'src'));
    if (!x.top)
      throw new ApxsError(
        'UNSAFE_ARCHIVE',
        `${release.file} does not hold a single top-level directory`,
      );
    if (deps) {
      // The -deps tarball has the same top directory (srclib/apr, srclib/apr-util).
      const d = await extractTarball(deps.file, path.join(workDir, 'deps'));
      if (d.top) await fs.cp(d.top, x.top, { recursive: true });
    }
    phasesMs.extract = Date.now() - t0;
    if (
      !(await fs.stat(path.join(x.top, 'configure')).then(
        (st) => st.isFile(),
        () => false,
      ))
    ) {
      throw new ApxsError(
        'BAD_INPUT',
        `${release.file} is not an httpd source tree: ${path.basename(x.top)}/ ` +
          'has no configure script',
        {
          hint:
            "the mirror serves something else under a release's " +
            'name: check --mirror, or use another mirror',
          data: { file: verified.file },
        },
      );
    }
    const fixes = [...((await recipe.treeFixes?.apply(x.top)) ?? []), ...plan.fixes];
    const logs = path.join(workDir, 'logs');
    const env = plan.env;
    const configure = plan.shell
      ? ([plan.shell, ['./configure', ...plan.args]] as const)
      : (['./configure', plan.args] as const);
    phasesMs.configure = (
      await runPhase('configure', configure[0], [...configure[1]], {
        cwd: x.top,
        env,
        logFile: path.join(logs, 'configure.log'),
        onEvent: o.onEvent,
      })
    ).elapsedMs;
    const configureWarnings = await configureLogWarnings(
      path.join(logs, 'configure.log'),
      path.join(x.top, 'configure'),
      o.configureArgs ?? [],
    );
    phasesMs.make = (
      await runPhase('make', 'make', [`-j${jobs}`], {
        cwd: x.top,
        env,
        logFile: path.join(logs, 'make.log'),
        onEvent: o.onEvent,
      })
    ).elapsedMs;
    // make install goes to a staging directory beside the prefix (same file system: one rename
    // moves it in), so the prefix is either absent or complete with its receipt, kill -9 or not.
    stage = await makeStage(prefix);
    phasesMs.install = (
      await runPhase('make install', 'make', ['install', ...stagedInstallArgs(recipe, stage)], {
        cwd: x.top,
        env,
        logFile: path.join(logs, 'install.log'),
        onEvent: o.onEvent,
      })
    ).elapsedMs;
    const staged = path.join(stage, prefix);

    const conf = path.join(staged, 'conf', 'httpd.conf');
    fixes.push(...((await recipe.confFixes?.apply(conf)) ?? []));
    await fs.writeFile(conf, setListen(await fs.readFile(conf, 'utf8'), release.series, o.port));

    // Success is what the installed httpd says, not what make said. It runs from the stage:
    // libraries a build bundles (2.2's APR) are found there, not yet in the prefix.
    const httpd = path.join(staged, 'bin', 'httpd');
    const runEnv = {
      ...process.env,
      LD_LIBRARY_PATH: [path.join(staged, 'lib'), process.env.LD_LIBRARY_PATH]
        .filter(Boolean)
        .join(':'),
    };
    const v = await runCapture(httpd, ['-v'], { env: runEnv });
    if (!v.stdout.includes(`/${release.version}`)) {
      throw new ApxsError('CHILD_FAILED', `${httpd} -v does not report ${release.version}`, {
        details: v.all.split('\n').slice(0, 4),
        hint: `the work dir is kept: ${workDir}`,
      });
    }
    const l = await runCapture(httpd, ['-l'], { env: runEnv });
    if (!/mod_so\.c/.test(l.stdout)) {
      throw new ApxsError('CHILD_FAILED', `${httpd} was built without mod_so (no DSO support)`, {
        details: l.stdout.split('\n').slice(0, 20),
      });
    }
    const receipt: Receipt = {
      version: release.version,
      series: release.series,
      url: verified.url,
      checksum: verified.checksum,
      signer: verified.signer,
      configure: [...(plan.shell ? [plan.shell] : []), './configure', ...plan.args],
      fixes,
      jobs,
      builtAt: new Date().toISOString(),
      phasesMs,
    };
    await fs.writeFile(path.join(staged, RECEIPT_FILE), JSON.stringify(receipt, null, 2) + '\n');
    failpoint('source:before-move');
    const previous = await moveIntoPlace(staged, prefix);
    await fs.rm(stage, { recursive: true, force: true });
    stage = undefined;
    await fs.rm(workDir, { recursive: true, force: true });
    const warnings = [...verified.warnings, ...(deps?.warnings ?? []), ...configureWarnings];
    if (previous)
      warnings.push(
        `the httpd that was in ${prefix} before was moved ` +
          `to ${previous} (its conf/ and htdocs/ are there)`,
      );
    return {
      changed: true,
      dryRun: false,
      version: release.version,
      prefix,
      steps,
      receipt,
      warnings,
    };
  } catch (err) {
    // A half-made install is of no use to anyone; the logs are in the work dir.
    if (stage) await fs.rm(stage, { recursive: true, force: true }).catch(() => undefined);
    // The work dir stays for a look at the logs.
    if (err instanceof ApxsError) {
      throw new ApxsError(err.code, err.message, {
        hint: err.hint,
        details: [...err.details, `work dir kept: ${workDir}`],
        data: { ...(err.data ?? {}), workDir },
        cause: err,
      });
    }
    throw err;
  }
}
