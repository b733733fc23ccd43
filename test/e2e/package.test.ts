/**
 * The package as a user gets it: `npm pack` + `npm install -g` of the
 * tarball, `npx --package=TARBALL`, and `npm install -g git+file://` of a
 * fresh clone, each into a temporary prefix, run from directories outside the
 * repository. Needs the npm registry for the runtime dependencies (the npm
 * cache makes a second run fast); builds in copies, never in this checkout's
 * dist/ (other tests spawn it meanwhile).
 */
import { execFile } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort, ROOT, tmpDir } from '../helpers.js';

const pkg = JSON.parse(await fs.readFile(path.join(ROOT, 'package.json'), 'utf8')) as {
  version: string;
  dependencies: Record<string, string>;
  engines: { node: string };
};

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function sh(
  file: string,
  args: string[],
  opts: { cwd: string; env?: Record<string, string>; timeoutMs?: number },
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      {
        cwd: opts.cwd,
        env: { ...process.env, ...opts.env },
        maxBuffer: 64 * 1024 * 1024,
        timeout: opts.timeoutMs ?? 240_000,
        killSignal: 'SIGKILL',
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

async function ok(file: string, args: string[], opts: Parameters<typeof sh>[2]): Promise<Run> {
  const r = await sh(file, args, opts);
  if (r.code !== 0)
    throw new Error(
      `${file} ${args.join(' ')} (in ${opts.cwd}) exited ${r.code}:\n${r.stdout}\n${r.stderr}`,
    );
  return r;
}

const npmArgs = ['--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'];
// The installed CLI, found on PATH like a user's: never this checkout's bin/.
const userEnv = (prefix: string) => ({
  PATH: `${path.join(prefix, 'bin')}:${process.env.PATH}`,
  CI: 'true',
  APXS_TS_HOSTS_FILE: '/nonexistent/apxs-ts-test-hosts',
  APXS_TS_SERVER_ROOT: '',
  NO_COLOR: '1',
});

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
});

/** A copy of the working tree (tracked and untracked files, not ignored ones) with this checkout's node_modules linked in. */
async function copyOfWorkingTree(): Promise<string> {
  const dest = path.join(await tmpDir('apxs-ts-pack-src-'), 'apxs-ts');
  const files = (
    await ok('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: ROOT })
  ).stdout
    .split('\0')
    .filter(Boolean);
  for (const f of files) {
    const from = path.join(ROOT, f);
    if (!existsSync(from)) continue; // deleted in the working tree
    await fs.mkdir(path.dirname(path.join(dest, f)), { recursive: true });
    await fs.cp(from, path.join(dest, f), { preserveTimestamps: true });
  }
  await fs.symlink(path.join(ROOT, 'node_modules'), path.join(dest, 'node_modules'));
  return dest;
}

/** sandbox create, new, build, install, ctl start, curl the page, ctl stop: the demo's module loop with the `apxs-ts` on PATH. */
async function moduleLoop(prefix: string): Promise<void> {
  const work = await tmpDir('apxs-ts-user-');
  expect(path.relative(ROOT, work).startsWith('..')).toBe(true);
  const env = userEnv(prefix);
  const which = await ok('sh', ['-c', 'command -v apxs-ts'], { cwd: work, env });
  expect(which.stdout.trim()).toBe(path.join(prefix, 'bin', 'apxs-ts'));
  const port = await freePort();
  const srv = path.join(work, 'srv');
  const apxs = (args: string[], cwd = work) => ok('apxs-ts', args, { cwd, env, timeoutMs: 60_000 });
  await apxs(['sandbox', 'create', './srv', '--port', String(port)]);
  cleanups.push(() => sh('apxs-ts', ['ctl', 'stop', '--server-root', srv], { cwd: work, env }));
  await apxs(['new', 'hello', '--template', 'hello']);
  await apxs(['build'], path.join(work, 'mod_hello'));
  await apxs(['install'], path.join(work, 'mod_hello'));
  const started = await apxs(['ctl', 'start', '--json']);
  expect(JSON.parse(started.stdout)).toMatchObject({ ok: true, action: 'start' });
  const page = await ok('curl', ['-sS', '--max-time', '10', `http://127.0.0.1:${port}/hello`], {
    cwd: work,
  });
  expect(page.stdout.toLowerCase()).toContain('hello');
  const stopped = await apxs(['ctl', 'stop', '--json']);
  expect(JSON.parse(stopped.stdout)).toMatchObject({ ok: true });
}

/** What the installed package holds: the bundle and no tsc output, templates, and every runtime dependency. */
async function expectInstalled(prefix: string): Promise<void> {
  const dir = path.join(prefix, 'lib', 'node_modules', 'apxs-ts');
  // Where README's "Many machines" points Ansible: $(npm root -g)/apxs-ts/ansible/plugins/… (#23).
  expect((await fs.readdir(path.join(dir, 'ansible', 'plugins', 'modules'))).sort()).toEqual([
    'apxs_ts_module.py',
    'apxs_ts_sandbox.py',
    'apxs_ts_server.py',
    'apxs_ts_vhost.py',
  ]);
  expect((await fs.readdir(path.join(dir, 'dist'))).sort()).toEqual([
    'apxs-ts-testing.cjs',
    'apxs-ts.cjs',
  ]);
  // `apxs-ts/testing` resolves through the package's "exports" from code beside the install, and loads.
  const lib = await ok(
    process.execPath,
    [
      '-e',
      'const t = require("apxs-ts/testing"); console.log(require.resolve("apxs-ts/testing"), typeof t.serverFor, typeof t.parseCaseFile)',
    ],
    { cwd: path.dirname(path.dirname(dir)) },
  );
  expect(lib.stdout.trim()).toBe(
    `${path.join(dir, 'dist', 'apxs-ts-testing.cjs')} function function`,
  );
  expect(existsSync(path.join(dir, 'templates', 'module'))).toBe(true);
  expect(existsSync(path.join(dir, 'LICENSE'))).toBe(true);
  for (const d of Object.keys(pkg.dependencies))
    expect(existsSync(path.join(dir, 'node_modules', d, 'package.json')), d).toBe(true);
}

/** A part of the bundle beside its front (scripts/bundle.mjs): a command's body, a shared module. */
const BUNDLE_PART = /^dist\/apxs-ts\.[a-z0-9-]+\.cjs$/;

describe('npm pack, then npm install -g of the tarball', () => {
  it("holds bin, the bundle, templates, ansible/, README, LICENSE and package.json only; installed, the demo's module loop runs outside the repository; npx runs it too", async () => {
    const src = await copyOfWorkingTree();
    cleanups.push(() => fs.rm(path.dirname(src), { recursive: true, force: true }));
    const out = await tmpDir('apxs-ts-pack-');
    cleanups.push(() => fs.rm(out, { recursive: true, force: true }));

    const packed = await ok('npm', ['pack', '--json', '--pack-destination', out, ...npmArgs], {
      cwd: src,
      timeoutMs: 240_000,
    });
    const info = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as {
      filename: string;
      files: { path: string }[];
    }[];
    const files = info[0]!.files.map((f) => f.path).sort();
    const stray = files.filter(
      (f) =>
        !/^(bin\/|templates\/|ansible\/)/.test(f) &&
        ![
          'dist/apxs-ts.cjs',
          'dist/apxs-ts-testing.cjs',
          'README.md',
          'LICENSE',
          'package.json',
        ].includes(f) &&
        !BUNDLE_PART.test(f),
    );
    expect(stray).toEqual([]);
    for (const f of ['bin/apxs-ts.js', 'dist/apxs-ts.cjs', 'README.md', 'LICENSE', 'package.json'])
      expect(files).toContain(f);
    expect(files.some((f) => f.startsWith('templates/module/'))).toBe(true);
    // The Ansible modules ship too (#23), without Python's byte-code caches.
    expect(files).toContain('ansible/plugins/module_utils/apxs_ts.py');
    expect(files.filter((f) => f.includes('__pycache__'))).toEqual([]);
    const tarball = path.join(out, info[0]!.filename);

    const prefix = path.join(out, 'prefix');
    await ok('npm', ['install', '-g', '--prefix', prefix, tarball, ...npmArgs], {
      cwd: out,
      timeoutMs: 240_000,
    });
    await expectInstalled(prefix);
    const version = await ok('apxs-ts', ['--version'], { cwd: out, env: userEnv(prefix) });
    expect(version.stdout.trim()).toBe(pkg.version);
    await moduleLoop(prefix);

    const npx = await ok(
      'npx',
      ['--yes', `--package=${tarball}`, ...npmArgs, 'apxs-ts', '--version'],
      { cwd: out, env: { CI: 'true' }, timeoutMs: 240_000 },
    );
    expect(npx.stdout.trim()).toBe(pkg.version);
  }, 600_000);
});

describe('npm install -g git+file:// of a fresh clone', () => {
  it('builds dist/ in the clone (devDependencies and all), installs it with its runtime dependencies, and the CLI scaffolds and builds a module', async () => {
    const base = await tmpDir('apxs-ts-git-');
    cleanups.push(() => fs.rm(base, { recursive: true, force: true }));
    const clone = path.join(base, 'clone');
    // HEAD of this checkout, as committed: what a user's clone gets.
    await ok('git', ['clone', '--quiet', ROOT, clone], { cwd: base });
    const prefix = path.join(base, 'prefix');
    await ok('npm', ['install', '-g', '--prefix', prefix, `git+file://${clone}`, ...npmArgs], {
      cwd: base,
      timeoutMs: 480_000,
    });
    await expectInstalled(prefix);
    const env = userEnv(prefix);
    expect((await ok('apxs-ts', ['--version'], { cwd: base, env })).stdout.trim()).toBe(
      pkg.version,
    );
    const work = await tmpDir('apxs-ts-user-');
    cleanups.push(() => fs.rm(work, { recursive: true, force: true }));
    await ok('apxs-ts', ['new', 'hello', '--template', 'hello'], { cwd: work, env });
    const built = await ok('apxs-ts', ['build', '--json'], {
      cwd: path.join(work, 'mod_hello'),
      env,
      timeoutMs: 60_000,
    });
    expect(JSON.parse(built.stdout)).toMatchObject({ ok: true, upToDate: false });
    expect(existsSync(path.join(work, 'mod_hello', 'mod_hello.so'))).toBe(true);
  }, 600_000);
});

describe('engines', () => {
  /** The lowest version a `>=X`, `^X` or `X || Y` range admits, for each alternative. */
  const floors = (range: string) =>
    range
      .split('||')
      .map((r) => /(?:>=|\^)\s*(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(r))
      .filter((m): m is RegExpExecArray => !!m)
      .map((m) => [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)] as const);
  const cmp = (a: readonly number[], b: readonly number[]) =>
    a[0]! - b[0]! || a[1]! - b[1]! || a[2]! - b[2]!;

  it('says the oldest Node every runtime dependency runs on, and this Node satisfies it', async () => {
    const ours = floors(pkg.engines.node);
    expect(ours).toHaveLength(1);
    for (const d of Object.keys(pkg.dependencies)) {
      const dep = JSON.parse(
        await fs.readFile(path.join(ROOT, 'node_modules', d, 'package.json'), 'utf8'),
      ) as { engines?: { node?: string } };
      if (!dep.engines?.node) continue;
      // Some alternative of the dependency's range admits our floor (one with our major, or a lower major open upward).
      const ok = floors(dep.engines.node).some(
        (f) =>
          cmp(f, ours[0]!) <= 0 &&
          (f[0] === ours[0]![0] ||
            /^\s*>=/.test(
              dep.engines!.node!.split('||').find((r) => r.includes(String(f[0]))) ?? '',
            )),
      );
      expect(ok, `${d} wants node ${dep.engines.node}; engines says ${pkg.engines.node}`).toBe(
        true,
      );
    }
    expect(cmp(process.versions.node.split('.').map(Number), ours[0]!)).toBeGreaterThanOrEqual(0);
  });
});
