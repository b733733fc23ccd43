/**
 * What apxs-ts prints, by mode: the spinner (shown only after SPINNER_DELAY_MS,
 * ora loaded only then), NO_COLOR and --no-color (no colour codes at all),
 * -q/--quiet (nothing but errors), --json (one object), on a real pty made by
 * script(1); the command tree declared up front, each command's body loaded
 * only when its action runs; the launcher (bin/apxs-ts.js) plain.
 */
import { execFile, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createProgress,
  type ProgressDeps,
  type Spinner,
  type SpinnerFactory,
} from '../../commands/progress.js';
import { program } from '../../commands/program.js';
import { cli, CLI, newSandbox, ROOT, tmpDir } from '../helpers.js';

/** The top-level commands, from the tree commands/program.ts declares. */
const topLevel = () => program(() => async () => {}).commands.map((c) => c.name());

/** The command bodies (commands/NAME.ts): loaded only by an action that runs. */
const BODIES = [
  'sandbox.js',
  'new.js',
  'build.js',
  'install.js',
  'makefile.js',
  'ctl.js',
  'ctl-log.js',
  'hosts.js',
  'vhost.js',
  'source.js',
  'query.js',
  'doctor.js',
  'dev.js',
  'completion.js',
];

const SGR = /\x1b\[[0-9;]*m/; // a colour (Select Graphic Rendition) sequence
const HIDE_CURSOR = '\x1b[?25l'; // ora hides the cursor while it spins

describe('progress: the spinner only after the delay, ora loaded only then', () => {
  afterEach(() => vi.useRealTimers());

  function fake(
    env: NodeJS.ProcessEnv = {},
    stream: Partial<ProgressDeps['stream']> = { isTTY: true, columns: 80 },
  ) {
    const spinners: (Spinner & { started: string[]; stopped: number; color: unknown })[] = [];
    const load = vi.fn(
      async (): Promise<SpinnerFactory> => (o) => {
        const s = {
          text: '',
          started: [] as string[],
          stopped: 0,
          color: o.color,
          start(t?: string) {
            s.started.push(t ?? '');
          },
          stop() {
            s.stopped++;
          },
        };
        spinners.push(s);
        return s;
      },
    );
    const deps: ProgressDeps = {
      stream: stream as ProgressDeps['stream'],
      env,
      load,
      delayMs: 150,
    };
    return { deps, load, spinners };
  }

  it('an operation done within the delay never loads ora or draws anything', async () => {
    vi.useFakeTimers();
    const { deps, load } = fake();
    const p = createProgress(false, deps, { quiet: false, color: true });
    expect(p.live).toBe(true);
    p.start('start httpd');
    await vi.advanceTimersByTimeAsync(100);
    p.stop();
    await vi.advanceTimersByTimeAsync(1000);
    expect(load).not.toHaveBeenCalled();
  });

  it('a longer one loads ora once, after the delay, with the latest text, and stops it', async () => {
    vi.useFakeTimers();
    const { deps, load, spinners } = fake();
    const p = createProgress(false, deps, { quiet: false, color: true });
    p.start('download');
    p.update('download 1.0 MB');
    await vi.advanceTimersByTimeAsync(149);
    expect(load).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(2);
    expect(load).toHaveBeenCalledTimes(1);
    expect(spinners[0]!.started).toEqual(['download 1.0 MB']);
    expect(spinners[0]!.color).toBe('cyan');
    p.stop();
    expect(spinners[0]!.stopped).toBe(1);
  });

  it('no colour with NO_COLOR or --no-color', async () => {
    vi.useFakeTimers();
    for (const [env, color] of [
      [{ NO_COLOR: '1' }, true],
      [{}, false],
    ] as const) {
      const { deps, spinners } = fake(env);
      const p = createProgress(false, deps, { quiet: false, color });
      p.start('x');
      await vi.advanceTimersByTimeAsync(200);
      expect(spinners[0]!.color).toBe(false);
      p.stop();
    }
  });

  it('nothing at all under --json, -q, CI, without a terminal or a terminal width; -q tells callers to print no progress lines either', async () => {
    vi.useFakeTimers();
    const cases: [boolean, ReturnType<typeof fake>, boolean, boolean][] = [
      [true, fake(), false, false],
      [false, fake(), true, true],
      [false, fake({ CI: 'true' }), false, false],
      [false, fake({}, { isTTY: false, columns: 80 }), false, false],
      [false, fake({}, { isTTY: true, columns: 0 }), false, false],
    ];
    for (const [json, f, quiet, live] of cases) {
      const p = createProgress(json, f.deps, { quiet, color: true });
      expect(p.live).toBe(live);
      p.start('x');
      await vi.advanceTimersByTimeAsync(1000);
      p.stop();
      expect(f.load).not.toHaveBeenCalled();
    }
  });
});

describe('the command tree, declared up front; bodies loaded when their action runs', () => {
  it('every command is declared, and the top-level --help lists each of them', async () => {
    const names = topLevel();
    expect(names).toEqual(
      expect.arrayContaining([
        'sandbox',
        'new',
        'build',
        'install',
        'uninstall',
        'makefile',
        'ctl',
        'hosts',
        'vhost',
        'source',
        'query',
        'doctor',
        'dev',
        'completion',
      ]),
    );
    const help = (await cli(['--help'])).stdout;
    for (const name of names) expect(help).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
  });

  it("each of ctl's subcommands answers --help, and a near miss is still suggested", async () => {
    const listed = [
      ...(await cli(['ctl', '--help'])).stdout.matchAll(/^ {2}([a-z-]+) \[options\]/gm),
    ].map((m) => m[1]!);
    expect(listed).toEqual(
      expect.arrayContaining(['start', 'stop', 'status', 'configtest', 'logs', 'loglevel']),
    );
    for (const name of listed) {
      const r = await cli(['ctl', name, '--help']);
      expect(r.code, name).toBe(0);
      expect(r.stdout, name).toMatch(new RegExp(`^Usage: apxs-ts ctl ${name} `));
    }
    const miss = await cli(['ctl', 'statu']);
    expect(miss.code).toBe(2);
    expect(miss.stderr).toMatch(/Did you mean status\?/);
  });

  it('--version and --help load no command body; a command loads its own body only; --version under --json is one JSON object', async () => {
    const probe = `const m = require(${JSON.stringify(path.join(ROOT, 'dist/commands/index.js'))});
      m.main(['node', 'apxs-ts', ...process.argv.slice(1)]).then((code) => {
        const loaded = Object.keys(require.cache).filter((k) => k.includes('/dist/commands/')).map((k) => k.split('/').pop()).sort();
        process.stderr.write(JSON.stringify({ code, loaded }));
      });`;
    const run = (args: string[]) =>
      new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
        execFile(
          process.execPath,
          ['-e', probe, '--', ...args],
          { cwd: ROOT },
          (err, stdout, stderr) =>
            err && err.code !== 2 && err.code !== 1 ? reject(err) : resolve({ stdout, stderr }),
        );
      });
    const bodiesOf = (stderr: string) =>
      (JSON.parse(stderr.slice(stderr.lastIndexOf('{"code"'))).loaded as string[]).filter((f) =>
        BODIES.includes(f),
      );
    const pkg = JSON.parse(await fs.readFile(path.join(ROOT, 'package.json'), 'utf8')) as {
      version: string;
    };
    const plain = await run(['--version']);
    expect(plain.stdout).toBe(`${pkg.version}\n`);
    expect(JSON.parse(plain.stderr)).toMatchObject({ code: 0 });
    expect(bodiesOf(plain.stderr)).toEqual([]);
    const json = await run(['--json', '--version']);
    expect(JSON.parse(json.stdout)).toEqual({ ok: true, version: pkg.version });
    expect(bodiesOf((await run(['--help'])).stderr)).toEqual([]);
    expect(bodiesOf((await run(['ctl', '--help'])).stderr)).toEqual([]);
    // A run of ctl status (here: a server root that is not there, exit 2) loads ctl's body and no other.
    const status = await run(['ctl', 'status', '--server-root', '/nonexistent/apxs-ts-root']);
    expect(bodiesOf(status.stderr)).toEqual(['ctl.js']);
  });

  it("the bundle's top-level --help is the tsc build's, byte for byte", async () => {
    const dir = await tmpDir('apxs-ts-bundle-');
    const bundle = path.join(dir, 'dist', 'apxs-ts.cjs');
    await new Promise<void>((resolve, reject) =>
      execFile(
        process.execPath,
        [path.join(ROOT, 'scripts/bundle.mjs'), bundle],
        { cwd: ROOT },
        (e) => (e ? reject(e) : resolve()),
      ),
    );
    const help = (entry: string, args: string[]) =>
      new Promise<string>((resolve, reject) => {
        execFile(
          process.execPath,
          [
            '-e',
            `require(${JSON.stringify(entry)}).main(['node', 'apxs-ts', ...process.argv.slice(1)]).then((c) => { process.exitCode = c; })`,
            '--',
            ...args,
          ],
          { cwd: ROOT, env: { ...process.env, COLUMNS: '100' } },
          (e, stdout) => (e ? reject(e) : resolve(stdout)),
        );
      });
    for (const args of [['--help'], ['help'], ['--json', '--help']]) {
      const fromBundle = await help(bundle, args);
      expect(fromBundle).toBe(await help(path.join(ROOT, 'dist/commands/index.js'), args));
    }
    const text = await help(bundle, ['--help']);
    for (const name of topLevel()) expect(text).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
    // An unknown command is still told apart, with a suggestion.
    const bogus = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [
          '-e',
          `require(${JSON.stringify(bundle)}).main(['node', 'apxs-ts', 'sandbx']).then((c) => { process.exitCode = c; })`,
        ],
        { cwd: ROOT },
        (e, _o, stderr) => resolve({ code: e ? (e.code as number) : 0, stderr }),
      );
    });
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toMatch(/unknown command 'sandbx'[\s\S]*sandbox/);
    await fs.rm(dir, { recursive: true, force: true });
  });
  it('a run loads jsdiff only when it prints a diff: `ctl status` does not, `hosts add --check --diff` does', async () => {
    const bundle = path.join(ROOT, 'dist', 'apxs-ts.cjs');
    const probe = `require(${JSON.stringify(bundle)}).main(['node', 'apxs-ts', ...process.argv.slice(1)]).then((code) => {
        const jsdiff = Object.keys(require.cache).some((k) => k.includes('/node_modules/diff/'));
        process.exitCode = code;
        process.stderr.write('\\n' + JSON.stringify({ jsdiff }));
      });`;
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; jsdiff: boolean }>((resolve) =>
        execFile(
          process.execPath,
          ['-e', probe, '--', ...args],
          { cwd: ROOT, env: { ...process.env, CI: 'true' }, timeout: 20_000 },
          (e, stdout, stderr) =>
            resolve({
              code: e ? (e.code as number) : 0,
              stdout,
              ...JSON.parse(stderr.slice(stderr.lastIndexOf('\n{'))),
            }),
        ),
      );
    // A server root that is there and stopped: NOT_RUNNING, exit 3, and no jsdiff loaded.
    const { sr } = await newSandbox();
    const status = await run(['ctl', 'status', '--json', '--server-root', sr]);
    expect(status.code).toBe(3);
    expect(JSON.parse(status.stdout)).toMatchObject({ ok: false, error: { code: 'NOT_RUNNING' } });
    expect(status.jsdiff).toBe(false);
    // The probe sees a load when there is one: a diff printed by a human run.
    const hosts = path.join(path.dirname(sr), 'hosts');
    await fs.writeFile(hosts, '127.0.0.1 localhost\n');
    const diff = await run([
      'hosts',
      'add',
      'one.test',
      '--hosts-file',
      hosts,
      '--check',
      '--diff',
    ]);
    expect(diff.code).toBe(0);
    expect(diff.stdout).toContain('+127.0.0.1 one.test');
    expect(diff.jsdiff).toBe(true);
    await fs.rm(path.dirname(sr), { recursive: true, force: true });
  });
});

describe('stdout written with fs.writeSync (commands/output.ts)', () => {
  /** Runs the CLI with `gone` (stdout or stderr) closed by its reader at once; the other one is kept. */
  const withGoneReader = (args: string[], gone: 'stdout' | 'stderr') =>
    new Promise<{ code: number | null; kept: string }>((resolve) => {
      const child = spawn(process.execPath, [CLI, ...args], {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, CI: 'true' },
      });
      child[gone].destroy(); // `apxs-ts … | head -0`
      let kept = '';
      child[gone === 'stdout' ? 'stderr' : 'stdout'].on('data', (d: Buffer) => {
        kept += d.toString();
      });
      child.on('close', (code) => resolve({ code, kept }));
    });

  it('a reader that went away: no error, no stack, and the exit code the run would have had', async () => {
    expect(await withGoneReader(['completion', 'bash'], 'stdout')).toEqual({ code: 0, kept: '' });
    // A failure whose JSON or message could not be read still exits with its code (a missing named path: 2, BAD_PATH).
    const missing = await cli([
      '--json',
      'ctl',
      'status',
      '--server-root',
      '/nonexistent/apxs-ts-root',
    ]);
    expect(missing.code).toBe(2);
    expect(
      await withGoneReader(
        ['--json', 'ctl', 'status', '--server-root', '/nonexistent/apxs-ts-root'],
        'stdout',
      ),
    ).toEqual({ code: 2, kept: '' });
    expect(
      await withGoneReader(
        ['ctl', 'status', '--server-root', '/nonexistent/apxs-ts-root'],
        'stderr',
      ),
    ).toEqual({ code: 2, kept: '' });
    expect(await withGoneReader(['no-such-command'], 'stderr')).toEqual({ code: 2, kept: '' });
  });

  it('a non-blocking stdout that fills (EAGAIN): every byte still arrives, in order', async () => {
    // 3,000 hosts lines (~150 KB, beyond a pipe's 64 KB) to a pipe whose write
    // end is O_NONBLOCK, read only after a pause: writeSync meets EAGAIN.
    const dir = await tmpDir('apxs-ts-eagain-');
    const hosts = path.join(dir, 'hosts');
    const lines = Array.from(
      { length: 3000 },
      (_, i) => `10.${i >> 8}.${i & 255}.1\thost-${i}.example.test alias-${i}.example.test`,
    );
    await fs.writeFile(hosts, `${lines.join('\n')}\n`);
    const py = `
import os, subprocess, sys, time
r, w = os.pipe()
os.set_blocking(w, False)
p = subprocess.Popen(sys.argv[1:], stdout=w)
os.close(w)
time.sleep(0.5)
out = b''
while True:
    chunk = os.read(r, 65536)
    if not chunk:
        break
    out += chunk
sys.stdout.buffer.write(out)
sys.exit(p.wait())`;
    const r = await new Promise<{ code: number; stdout: string }>((resolve) => {
      execFile(
        'python3',
        ['-c', py, process.execPath, CLI, 'hosts', 'list', '--hosts-file', hosts],
        { maxBuffer: 1 << 24 },
        (e, stdout) => resolve({ code: e ? (e.code as number) : 0, stdout }),
      );
    });
    expect(r.code).toBe(0);
    const got = r.stdout.split('\n').filter(Boolean);
    expect(got).toHaveLength(3000);
    expect(got[0]).toBe('  10.0.0.1\thost-0.example.test alias-0.example.test');
    expect(got[2999]).toBe('  10.11.183.1\thost-2999.example.test alias-2999.example.test');

    // The same, but the reader takes 100 bytes and goes away: the stream meets EPIPE, not a stack.
    const early = py.replace(
      /out = b''[\s\S]*$/,
      'os.read(r, 100)\nos.close(r)\nsys.exit(p.wait())',
    );
    const gone = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(
        'python3',
        ['-c', early, process.execPath, CLI, 'hosts', 'list', '--hosts-file', hosts],
        (e, _o, stderr) => resolve({ code: e ? (e.code as number) : 0, stderr }),
      );
    });
    expect(gone).toEqual({ code: 0, stderr: '' });
  });

  it('the launcher is plain: under 30 lines, no vm, code cache or Proxy in bin/ or scripts/bundle.mjs', async () => {
    const launcher = await fs.readFile(CLI, 'utf8');
    expect(launcher.split('\n').length).toBeLessThan(30);
    for (const text of [
      launcher,
      await fs.readFile(path.join(ROOT, 'scripts', 'bundle.mjs'), 'utf8'),
    ]) {
      expect(text).not.toMatch(/\bvm\b|cachedData|Proxy/);
    }
  });

  it("the launcher runs the bundle, or tsc's output when there is no bundle, and writes nothing in the user's cache dir", async () => {
    const pkg = await tmpDir('apxs-ts-launcher-pkg-');
    await fs.mkdir(path.join(pkg, 'bin'));
    await fs.mkdir(path.join(pkg, 'dist'));
    await fs.copyFile(CLI, path.join(pkg, 'bin', 'apxs-ts.js'));
    await fs.symlink(path.join(ROOT, 'node_modules'), path.join(pkg, 'node_modules'));
    await fs.symlink(path.join(ROOT, 'templates'), path.join(pkg, 'templates'));
    const home = await tmpDir('apxs-ts-launcher-home-');
    const run = (args: string[]) =>
      new Promise<string>((resolve, reject) =>
        execFile(
          process.execPath,
          [path.join(pkg, 'bin', 'apxs-ts.js'), ...args],
          { env: { ...process.env, XDG_CACHE_HOME: home } },
          (e, stdout) => (e ? reject(e) : resolve(stdout)),
        ),
      );
    // Only tsc's output (dist/commands and dist/lib, as a working copy has after `npx tsc`).
    await fs.symlink(path.join(ROOT, 'dist', 'commands'), path.join(pkg, 'dist', 'commands'));
    await fs.symlink(path.join(ROOT, 'dist', 'lib'), path.join(pkg, 'dist', 'lib'));
    const fromTsc = await run(['--help']);
    expect(fromTsc).toMatch(/^Usage: apxs-ts /);
    // With a bundle beside it, the bundle is what runs: one that says which it is.
    await fs.writeFile(
      path.join(pkg, 'dist', 'apxs-ts.cjs'),
      "exports.main = async (argv) => { process.stdout.write(`bundle ${argv.slice(2).join(' ')}\\n`); return 0; };\n",
    );
    expect(await run(['--version'])).toBe('bundle --version\n');
    expect(await fs.readdir(home)).toEqual([]);
    await fs.rm(pkg, { recursive: true, force: true });
    await fs.rm(home, { recursive: true, force: true });
  });
});

describe('on a terminal (a pty made by script(1))', () => {
  const roots: string[] = [];
  let sr = '';
  let slowUrl = '';
  let slow: http.Server;
  let firstProbe = 0;

  beforeAll(async () => {
    ({ sr } = await newSandbox(roots));
    // A health URL that answers 503 for 1.2 s after its first request of a start, then 200: `ctl start` runs long enough for its spinner.
    slow = http.createServer((_req, res) => {
      const now = Date.now();
      firstProbe ||= now;
      res.statusCode = now - firstProbe < 1200 ? 503 : 200;
      res.end('ok\n');
    });
    await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
    slowUrl = `http://127.0.0.1:${(slow.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    for (const r of roots) await cli(['ctl', 'stop', '--server-root', r]);
    slow?.close();
  });

  /** Runs the CLI on a pty 100 columns wide (no CI in the environment); the pty's output, stdout and stderr together. */
  function onPty(
    args: string[],
    env: Record<string, string> = {},
  ): Promise<{ code: number; out: string }> {
    const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    const command = `stty cols 100 rows 30; exec ${[process.execPath, CLI, ...args].map(q).join(' ')}`;
    const base = Object.fromEntries(
      Object.entries(process.env).filter(([k]) => !['CI', 'NO_COLOR', 'FORCE_COLOR'].includes(k)),
    );
    return new Promise((resolve) => {
      execFile(
        'script',
        ['-qec', command, '/dev/null'],
        {
          cwd: ROOT,
          env: {
            ...base,
            TERM: 'xterm-256color',
            APXS_TS_HOSTS_FILE: '/nonexistent/apxs-ts-test-hosts',
            ...env,
          },
          timeout: 60_000,
        },
        (err, stdout) =>
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: stdout }),
      );
    });
  }

  const start = (extra: string[], env?: Record<string, string>) => {
    firstProbe = 0;
    return onPty(['ctl', 'start', '--server-root', sr, '--url', slowUrl, ...extra], env);
  };
  const stop = async () => expect((await cli(['ctl', 'stop', '--server-root', sr])).code).toBe(0);

  it('a slow ctl start draws its spinner in colour by default (the control for the tests below)', async () => {
    const r = await start([]);
    await stop();
    expect(r.code).toBe(0);
    expect(r.out).toContain(HIDE_CURSOR);
    expect(r.out).toMatch(SGR);
    expect(r.out).toContain('start: httpd (pid');
  });

  it('NO_COLOR: the spinner still turns, with no colour sequence anywhere', async () => {
    const r = await start([], { NO_COLOR: '1' });
    await stop();
    expect(r.code).toBe(0);
    expect(r.out).toContain(HIDE_CURSOR);
    expect(r.out).not.toMatch(SGR);
    expect(r.out).toContain('start: httpd (pid');
  });

  it('--no-color: the same', async () => {
    const r = await start(['--no-color']);
    await stop();
    expect(r.code).toBe(0);
    expect(r.out).toContain(HIDE_CURSOR);
    expect(r.out).not.toMatch(SGR);
  });

  it('-q/--quiet: nothing at all on success (no spinner, no summary); the error on failure', async () => {
    const started = await start(['--quiet']);
    expect(started.code).toBe(0);
    expect(started.out).toBe('');
    const status = await onPty(['ctl', 'status', '-q', '--server-root', sr]);
    expect(status).toEqual({ code: 0, out: '' });
    await stop();
    const notRunning = await onPty(['ctl', 'status', '-q', '--server-root', sr]);
    expect(notRunning.code).toBe(3);
    expect(notRunning.out).toMatch(/^apxs-ts: error: .*not running/);
    const bad = await onPty(['-q', 'ctl', 'start', '--server-root', path.join(sr, 'nonexistent')]);
    expect(bad.code).toBe(2); // BAD_PATH: a path named on the command line that does not exist
    expect(bad.out).toMatch(/apxs-ts: error: server root .* does not exist/);
  });

  it('--json: one JSON object and nothing else, with or without -q', async () => {
    for (const extra of [['--json'], ['--json', '-q']]) {
      const r = await start(extra);
      await stop();
      expect(r.code).toBe(0);
      expect(r.out).not.toContain('\x1b');
      expect(r.out.trim().split('\n')).toHaveLength(1);
      expect(JSON.parse(r.out)).toMatchObject({ ok: true, action: 'start', healthUrl: slowUrl });
    }
  });
});
