/**
 * #23's contract, one row per command that changes a file, a process or the
 * hosts file (lib/core/change-report.ts), each on a fresh temp tree that also
 * holds apxs-ts's per-user cache and data (XDG_CACHE_HOME, XDG_DATA_HOME,
 * APXS_TS_CA_DIR), so "anywhere" is the whole tree:
 *
 * 1. `--check --diff --json` on the fresh setup changes no byte (path, size,
 *    mtime, sha256 of every file; every symlink and directory);
 * 2. the real `--diff --json` run then says changed: true, and the same
 *    `changed` and the same `diff` the check run reported; every file whose
 *    content it changed is in that diff (but apxs-ts's own records: bookkeeping);
 * 3. a second real run exits 0, says changed: false, and no file's mtime
 *    (or byte) changed.
 *
 * The rows are data; runRow is the one runner.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type CliResult,
  cli,
  freePort,
  HOSTS_START,
  scratchStore,
  scratchStorePaths,
  tmpDir,
} from '../helpers.js';
import type { FileDiff } from '../../lib/core/change-report.js';
import { treeChanges, treeState, type TreeState } from '../tree-state.js';
import { builtHttpd, mirrorOf, SERIES_BUILDS_DIR, withBuiltHttpd } from '../series-builds.js';

/** One row's temp tree: base/{work/{srv,hosts,mod_greet,prefix},cache,data,ca}. */
interface Env {
  base: string;
  work: string;
  sr: string;
  port: number;
  hosts: string;
  mod: string;
  tlsPort: number;
  /** source build's --prefix (a row's realRun may point it at the shared cached build). */
  prefix: string;
}

/** Every tree a row's command may touch: the temp base, and a prefix outside it. */
async function stateOf(e: Env, opts: { dirMtimes?: boolean } = {}): Promise<TreeState> {
  const base = await treeState(e.base, opts);
  if (!path.relative(e.base, e.prefix).startsWith('..')) return base;
  for (const [rel, st] of Object.entries(await treeState(e.prefix, opts)))
    base[`PREFIX/${rel}`] = st;
  return base;
}

const envs: Env[] = [];
afterAll(async () => {
  for (const e of envs) {
    await run(e, ['ctl', 'stop', '--server-root', e.sr]);
    await fs.rm(e.base, { recursive: true, force: true });
  }
});

async function freshEnv(): Promise<Env> {
  const base = await tmpDir('apxs-ts-contract-');
  const work = path.join(base, 'work');
  await fs.mkdir(work, { mode: 0o755 });
  const e = {
    base,
    work,
    sr: path.join(work, 'srv'),
    port: await freePort(),
    hosts: path.join(work, 'hosts'),
    mod: path.join(work, 'mod_greet'),
    prefix: path.join(work, 'prefix'),
    tlsPort: 0,
  };
  do e.tlsPort = await freePort();
  while (e.tlsPort === e.port);
  envs.push(e);
  return e;
}

function run(e: Env, args: string[]): Promise<CliResult> {
  return cli(args, {
    cwd: e.work,
    timeoutMs: 300_000,
    env: {
      XDG_CACHE_HOME: path.join(e.base, 'cache'),
      XDG_DATA_HOME: path.join(e.base, 'data'),
      APXS_TS_CA_DIR: path.join(e.base, 'ca'),
    },
  });
}

/** A setup step: a command that must succeed, or a file written. */
type Step = (e: Env) => Promise<void>;

const must =
  (args: (e: Env) => string[]): Step =>
  async (e) => {
    const r = await run(e, [...args(e), '--json']);
    if (r.code !== 0)
      throw new Error(`setup ${args(e).join(' ')}: exit ${r.code}\n${r.stdout}${r.stderr}`);
  };

const SANDBOX = must((e) => ['sandbox', 'create', e.sr, '--port', String(e.port), '--no-project']);
const HOSTS: Step = (e) => fs.writeFile(e.hosts, HOSTS_START);
const SCAFFOLD = must((e) => ['new', 'mod_greet', '--dir', e.work, '--api', '2']);
const BUILD = must((e) => ['build', e.mod, '--server-root', e.sr]);
const INSTALL = must((e) => ['install', e.mod, '--server-root', e.sr]);
const START = must((e) => ['ctl', 'start', '--server-root', e.sr]);
const VHOST = must((e) => [
  'vhost',
  'add',
  'one.test',
  '--server-root',
  e.sr,
  '--hosts-file',
  e.hosts,
]);
const HOSTS_ADDED = must((e) => ['hosts', 'add', 'a.test', 'b.test', '--hosts-file', e.hosts]);
const LOGLEVEL = must((e) => ['ctl', 'loglevel', 'debug', '--server-root', e.sr]);
const CA = must(() => ['tls', 'ca']);
const TLS_VHOST = must((e) => [
  'vhost',
  'add',
  'one.test',
  '--tls',
  '--tls-port',
  String(e.tlsPort),
  '--server-root',
  e.sr,
  '--hosts-file',
  e.hosts,
]);

/** A scratch system trust store in the tree (update-ca-certificates run on it), never the machine's. */
const STORE: Step = async (e) => {
  await scratchStore(path.join(e.work, 'store'));
};
const storeArgs = (e: Env) => [...scratchStorePaths(path.join(e.work, 'store')).args, '--no-nss'];
const TRUSTED = must((e) => ['tls', 'trust', ...storeArgs(e)]);

interface Row {
  name: string;
  setup: Step[];
  command: (e: Env) => string[];
  /** Why a second run acts again (restart, graceful, renew: as Ansible's service module's restarted): it must say changed: true again. */
  alwaysActs?: string;
  /** httpd runs during the row: it appends its own logs on every request (the health probes too). */
  serverRuns?: boolean;
  /**
   * An edit through withConfigEdit: even with nothing to do it decides under the root's config
   * lock (RELIABILITY.md, "concurrent process commands and no-op runs": why), whose file is made
   * and removed in `.apxs-ts/`, so that directory's own mtime moves; every file and every other
   * directory must not.
   */
  configLock?: boolean;
  /** The command has no --diff, and why. */
  noDiff?: string;
  /** Files the real run changes that its diff may leave out (with the reason in a comment). */
  undiffed?: RegExp;
  /** Why `warnings` stays what it was before #23 (a count), not the contract's list. */
  warningsKept?: string;
  /**
   * The first real run is not made here (why), and `state` makes what it would have left:
   * the check (1.) still runs on the fresh setup, the second run (3.) on that state.
   */
  realRun?: { why: string; state: Step; around?: (fn: () => Promise<void>) => Promise<void> };
  /** Why this row cannot run here. */
  skip?: string;
  /**
   * Names a run makes from what it issues (a certificate file named by its random serial): --check
   * cannot know them, so they read as `<issued>` in both diffs before they are compared.
   */
  issued?: { why: string; names: RegExp };
}

/** A vhost's certificate file is named by the new certificate's serial (lib/sites/vhost-tls.ts). */
const SERIAL_NAMED = {
  why: "each issuance names the vhost's .pem by the new certificate's random serial",
  names: /-[0-9a-f]{12}\.pem/g,
};

/** httpd 2.4.68 as test/series-builds.ts builds it (the same `source build` arguments, its port). */
const SOURCE_BUILD = (e: Env, port: number) => [
  'source',
  'build',
  '2.4.68',
  '--mirror',
  mirrorOf('2.4.68'),
  '--keys',
  path.join(mirrorOf('2.4.68'), 'KEYS'),
  '--prefix',
  e.prefix,
  '--port',
  String(port),
  '--cache-dir',
  path.join(SERIES_BUILDS_DIR, 'cache'),
];
let cachedPort = 0;

/** A copy of the cached 2.4.68 prefix where `source build` installs by default ($XDG_DATA_HOME/apxs-ts/httpd/VERSION). */
const BUILT_COPY: Step = async (e) => {
  const built = await builtHttpd('2.4.68');
  const dest = path.join(e.base, 'data', 'apxs-ts', 'httpd', '2.4.68');
  await fs.mkdir(path.dirname(dest), { recursive: true });
  await fs.cp(built.prefix, dest, {
    recursive: true,
    verbatimSymlinks: true,
    preserveTimestamps: true,
  });
};

const ROWS: Row[] = [
  {
    name: 'build',
    setup: [SANDBOX, SCAFFOLD],
    command: (e) => ['build', e.mod, '--server-root', e.sr],
    noDiff: 'build writes a .so and object files: no text to diff',
    warningsKept:
      'build: warnings is the compiler warning count scripts compare with 0 (the lines: warningLines)',
  },
  {
    name: 'install',
    configLock: true,
    setup: [SANDBOX, SCAFFOLD, BUILD],
    command: (e) => ['install', e.mod, '--server-root', e.sr],
  },
  {
    name: 'uninstall',
    configLock: true,
    setup: [SANDBOX, SCAFFOLD, BUILD, INSTALL],
    command: (e) => ['uninstall', 'greet', '--server-root', e.sr],
  },
  {
    name: 'vhost add',
    configLock: true,
    setup: [SANDBOX, HOSTS],
    command: (e) => [
      'vhost',
      'add',
      'one.test',
      '--alias',
      'www.one.test',
      '--server-root',
      e.sr,
      '--hosts-file',
      e.hosts,
    ],
  },
  {
    name: 'vhost remove',
    configLock: true,
    setup: [SANDBOX, HOSTS, VHOST],
    command: (e) => ['vhost', 'remove', 'one.test', '--server-root', e.sr, '--hosts-file', e.hosts],
  },
  {
    name: 'hosts add',
    setup: [HOSTS],
    command: (e) => ['hosts', 'add', 'a.test', 'b.test', '--hosts-file', e.hosts],
  },
  {
    name: 'hosts remove',
    setup: [HOSTS, HOSTS_ADDED],
    command: (e) => ['hosts', 'remove', 'a.test', 'b.test', '--hosts-file', e.hosts],
  },
  {
    name: 'ctl loglevel',
    configLock: true,
    setup: [SANDBOX],
    command: (e) => ['ctl', 'loglevel', 'debug', '--server-root', e.sr],
  },
  {
    name: 'ctl loglevel --reset',
    configLock: true,
    setup: [SANDBOX, LOGLEVEL],
    command: (e) => ['ctl', 'loglevel', '--reset', '--server-root', e.sr],
  },
  {
    name: 'ctl start',
    setup: [SANDBOX],
    command: (e) => ['ctl', 'start', '--server-root', e.sr],
    serverRuns: true,
  },
  {
    name: 'ctl stop',
    setup: [SANDBOX, START],
    command: (e) => ['ctl', 'stop', '--server-root', e.sr],
    serverRuns: true,
  },
  {
    name: 'ctl graceful-stop',
    setup: [SANDBOX, START],
    command: (e) => ['ctl', 'graceful-stop', '--server-root', e.sr],
    serverRuns: true,
  },
  {
    name: 'ctl restart',
    setup: [SANDBOX, START],
    command: (e) => ['ctl', 'restart', '--server-root', e.sr],
    serverRuns: true,
    alwaysActs: 'restart always restarts (Ansible: state=restarted)',
  },
  {
    name: 'ctl graceful',
    setup: [SANDBOX, START],
    command: (e) => ['ctl', 'graceful', '--server-root', e.sr],
    serverRuns: true,
    alwaysActs: 'graceful always reloads (Ansible: state=reloaded)',
  },
  {
    name: 'sandbox create',
    setup: [],
    command: (e) => ['sandbox', 'create', e.sr, '--port', String(e.port), '--no-project'],
  },
  {
    name: 'sandbox remove',
    setup: [SANDBOX],
    command: (e) => ['sandbox', 'remove', e.sr],
  },
  {
    name: 'source build',
    setup: [
      async () => {
        cachedPort = (await builtHttpd('2.4.68')).port;
      },
    ],
    command: (e) => SOURCE_BUILD(e, cachedPort),
    noDiff: 'source build installs a whole httpd: no text to diff',
    // Its --cache-dir is test/series-builds.ts's shared tarball cache, outside the snapshot (other files use it).
    // A real first build is minutes of CPU on a shared machine: realRun says where it comes from.
    realRun: {
      why: "a real build of httpd is minutes of CPU: the first run is test/series-builds.ts's cached build, made by this very command",
      state: async (e) => {
        e.prefix = (await builtHttpd('2.4.68')).prefix;
      },
      // The cached prefix is shared: no other test file uses it while the second run does.
      around: (fn) => withBuiltHttpd('2.4.68', fn),
    },
  },
  {
    name: 'source uninstall',
    setup: [BUILT_COPY],
    command: () => ['source', 'uninstall', '2.4.68'],
    // A whole installed httpd goes: its conf/ is diffed, not its binaries, headers and manual.
    undiffed: /\/data\/apxs-ts\/httpd\/2\.4\.68\/(?!conf\/)/,
  },
  {
    name: 'tls ca',
    setup: [],
    command: () => ['tls', 'ca'],
  },
  {
    name: 'tls trust',
    setup: [CA, STORE],
    command: (e) => ['tls', 'trust', ...storeArgs(e)],
    // The bundle update-ca-certificates rebuilds from the CA file trust writes (that one is diffed).
    undiffed: /\/etc-certs\/ca-certificates\.crt$/,
  },
  {
    name: 'tls untrust',
    setup: [CA, STORE, TRUSTED],
    command: (e) => ['tls', 'untrust', ...storeArgs(e)],
  },
  {
    name: 'vhost add --tls',
    configLock: true,
    setup: [SANDBOX, HOSTS, CA],
    command: (e) => [
      'vhost',
      'add',
      'one.test',
      '--tls',
      '--tls-port',
      String(e.tlsPort),
      '--server-root',
      e.sr,
      '--hosts-file',
      e.hosts,
    ],
    issued: SERIAL_NAMED,
  },
  {
    name: 'tls renew',
    setup: [SANDBOX, HOSTS, CA, TLS_VHOST],
    command: (e) => ['tls', 'renew', 'one.test', '--server-root', e.sr],
    alwaysActs: 'renew reissues the certificate with a new key each time',
    issued: SERIAL_NAMED,
  },
];

/** httpd's own appends while it runs (requests, health probes): not apxs-ts's writes. */
const httpdLog = (rel: string) => /^work\/srv\/logs\/(access|error)_log$/.test(rel);

/**
 * A memo apxs-ts keeps of a fact it read (httpd -v, apxs -q: lib/core/cache.ts's NAME-HASH.json),
 * made by read-only commands too: its creation is not a change. Rewriting one, or any other file
 * of the cache dir (sandboxes.json, the sandbox registry), is.
 */
const memoMade = (line: string) =>
  /^cache\/apxs-ts\/[a-z0-9-]+-[0-9a-f]{16}\.json: created$/.test(line);

const said = (r: CliResult) => `exit ${r.code}\n${r.stdout}\n${r.stderr}`;

/**
 * apxs-ts's own records and httpd's runtime files, which no diff shows: a `.apxs-ts/` state
 * directory (ledger, journal, backups, the last start), a backup beside the hosts file, the
 * per-user cache (memos, the sandbox registry), a sandbox's manifest, httpd's logs and pid file.
 */
const bookkeeping = (rel: string) =>
  /(^|\/)\.apxs-ts\/|\.bak$|^cache\/|(^|\/)apxs-ts-sandbox\.json$|^work\/srv\/logs\//.test(rel);

/** The files whose content a run created, changed or removed (absolute paths). */
function filesChanged(a: TreeState, b: TreeState, e: Env): string[] {
  const abs = (rel: string) =>
    rel.startsWith('PREFIX/') ? path.join(e.prefix, rel.slice(7)) : path.join(e.base, rel);
  return [...new Set([...Object.keys(a), ...Object.keys(b)])]
    .filter((p) => (a[p]?.type ?? 'file') === 'file' && (b[p]?.type ?? 'file') === 'file')
    .filter((p) => a[p]?.sha256 !== b[p]?.sha256)
    .map(abs)
    .sort();
}

async function runRow(row: Row): Promise<void> {
  const e = await freshEnv();
  for (const step of row.setup) await step(e);
  const ignore = row.serverRuns ? httpdLog : () => false;
  const args = row.command(e);
  const diffFlag = row.noDiff ? [] : ['--diff'];

  // 1. --check on the fresh setup: no byte anywhere.
  const before = await stateOf(e);
  const checked = await run(e, [...args, '--check', ...diffFlag, '--json']);
  expect(checked.code, said(checked)).toBe(0);
  expect(checked.json?.changed, said(checked)).toBe(true);
  expect(checked.json?.check, said(checked)).toBe(true);
  expect(treeChanges(before, await stateOf(e), ignore).filter((l) => !memoMade(l))).toEqual([]);

  if (row.realRun) {
    const { state, around = (fn) => fn() } = row.realRun;
    await state(e);
    await around(() => secondRun(row, e, ignore));
    return;
  }

  // 2. The real run: changed, and the same diff the check reported.
  const unchanged = await stateOf(e);
  const first = await run(e, [...args, ...diffFlag, '--json']);
  const contentChanges = filesChanged(unchanged, await stateOf(e), e);
  expect(first.code, said(first)).toBe(0);
  expect(first.json?.changed, said(first)).toBe(true);
  expect(typeof first.json?.msg, said(first)).toBe('string');
  if (row.warningsKept) expect(typeof first.json?.warnings, said(first)).toBe('number');
  else expect(Array.isArray(first.json?.warnings), said(first)).toBe(true);
  if (!row.noDiff) {
    expect(Array.isArray(first.json?.diff), said(first)).toBe(true);
    // A diff lands in logs (Ansible prints it): a private key never goes into one.
    for (const r of [checked, first])
      expect(JSON.stringify(r.json.diff), 'a private key in the diff').not.toMatch(
        /PRIVATE KEY-----/,
      );
    const issued = (d: unknown) =>
      row.issued ? JSON.parse(JSON.stringify(d).replace(row.issued.names, '<issued>')) : d;
    expect(issued(checked.json?.diff)).toEqual(issued(first.json?.diff));
    const diffed = new Set(
      (first.json.diff as FileDiff[]).flatMap((d) => [d.before_header, d.after_header]),
    );
    const undiffed = contentChanges.filter(
      (f) => !diffed.has(f) && !bookkeeping(path.relative(e.base, f)) && !row.undiffed?.test(f),
    );
    expect(undiffed, 'files the real run changed that its diff does not show').toEqual([]);
  }

  await secondRun(row, e, ignore);
}

/** 3. A second run: nothing to do, no file touched (or, for a command that always acts, changed again). */
async function secondRun(row: Row, e: Env, ignore: (rel: string) => boolean): Promise<void> {
  // Directory mtimes too: a no-op run takes no lock (but a config edit's: configLock), so it
  // creates and removes no lock file.
  const settled = await stateOf(e, { dirMtimes: true });
  const second = await run(e, [...row.command(e), '--json']);
  expect(second.code, said(second)).toBe(0);
  if (row.alwaysActs) {
    expect(second.json?.changed, said(second)).toBe(true);
    return;
  }
  expect(second.json?.changed, said(second)).toBe(false);
  const lockDir = (rel: string) => !!row.configLock && rel === 'work/srv/.apxs-ts';
  expect(
    treeChanges(settled, await stateOf(e, { dirMtimes: true }), (p) => ignore(p) || lockDir(p)),
  ).toEqual([]);
}

describe('the #23 contract, command by command', () => {
  for (const row of ROWS) {
    if (row.skip) it.skip(`${row.name} (${row.skip})`, () => {});
    else it(row.name, () => runRow(row), 600_000);
  }
});
