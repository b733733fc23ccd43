/**
 * `apxs-ts dev` on the real compiler and httpd: started in the background
 * on a scaffolded module in a sandbox (the server not running: dev starts
 * it), a change of the page text is served; a syntax error is printed and
 * the old server keeps answering; the fix is served again; SIGINT ends it
 * with exit 0.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, cli, get, newSandbox } from '../helpers.js';

const started: string[] = [];
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const sr of started) await cli(['ctl', 'stop', '--server-root', sr]);
});

interface Dev {
  child: ChildProcess;
  out: () => string;
  /** The JSON line of cycle n, once it is printed. */
  cycle(n: number, ms?: number): Promise<any>;
  exit: Promise<number | null>;
}

function startDev(args: string[], cwd: string): Dev {
  const child = spawn(process.execPath, [CLI, 'dev', ...args], {
    cwd,
    env: { ...process.env, CI: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return {
    child,
    exit,
    out: () => stdout + stderr,
    async cycle(n, ms = 60_000) {
      for (const end = Date.now() + ms; Date.now() < end; ) {
        const line = stdout
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l))
          .find((j) => j.cycle === n);
        if (line) return line;
        if (child.exitCode !== null) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`no cycle ${n} from dev:\n${stdout}${stderr}`);
    },
  };
}

/** Saves as an editor does: a new file renamed over the old one. */
async function save(file: string, text: string): Promise<void> {
  await fs.writeFile(`${file}.tmp-save`, text);
  await fs.rename(`${file}.tmp-save`, file);
}

describe('apxs-ts dev', () => {
  it('serves each saved change, keeps the old server on a syntax error and recovers; SIGINT ends it with exit 0', async () => {
    const { work, sr, port } = await newSandbox();
    const made = await cli(['new', 'devt', '--template', 'hello'], { cwd: work });
    expect(made.code, made.stderr).toBe(0);
    const dir = path.join(work, 'mod_devt');
    const src = path.join(dir, 'mod_devt.c');
    const url = `http://127.0.0.1:${port}/devt`;
    started.push(sr);

    // The server is not running: the first cycle builds, installs and starts it.
    const dev = startDev(['--server-root', sr, '--json'], dir);
    const first = await dev.cycle(1);
    expect(first, dev.out()).toMatchObject({
      ok: true,
      event: 'cycle',
      changed: [],
      module: 'mod_devt',
      server: { action: 'start' },
    });
    expect(first.request).toMatchObject({ url, status: 200 });
    expect(first.request.body).toEqual(['Hello from mod_devt']);

    const original = await fs.readFile(src, 'utf8');
    await save(src, original.replace('Hello from mod_devt\\n', 'Hello again from mod_devt\\n'));
    const second = await dev.cycle(2);
    expect(second, dev.out()).toMatchObject({
      ok: true,
      changed: ['mod_devt.c'],
      build: { upToDate: false, compiled: ['mod_devt.c'] },
      server: { action: 'restart' },
    });
    expect(second.request.body).toEqual(['Hello again from mod_devt']);
    expect((await get(url)).body).toBe('Hello again from mod_devt\n');

    // A syntax error: shown with the compiler's words, and the running server is not touched (not restarted).
    const resumes = async () =>
      (await fs.readFile(path.join(sr, 'logs', 'error_log'), 'utf8'))
        .split('\n')
        .filter((l) => /resuming normal operations/.test(l)).length;
    const pid = Number(await fs.readFile(path.join(sr, 'logs', 'httpd.pid'), 'utf8'));
    const generations = await resumes();
    await save(
      src,
      original
        .replace('Hello from mod_devt\\n', 'Broken from mod_devt\\n')
        .replace('return OK;', 'return OK'),
    );
    const broken = await dev.cycle(3);
    expect(broken).toMatchObject({
      ok: false,
      failedAt: 'build',
      error: { code: 'COMPILE_FAILED' },
    });
    expect(broken.error.details.join('\n')).toMatch(
      /mod_devt\.c:\d+:\d+: error: expected .;. before/,
    );
    expect(broken.server).toBeUndefined();
    expect(await get(url)).toEqual({ status: 200, body: 'Hello again from mod_devt\n' });
    expect(Number(await fs.readFile(path.join(sr, 'logs', 'httpd.pid'), 'utf8'))).toBe(pid);
    expect(await resumes()).toBe(generations);

    // Fixed: served again (by the same server, restarted).
    await save(src, original.replace('Hello from mod_devt\\n', 'Fixed mod_devt\\n'));
    const fixed = await dev.cycle(4);
    expect(fixed, dev.out()).toMatchObject({
      ok: true,
      request: { status: 200, body: ['Fixed mod_devt'] },
    });
    expect((await get(url)).body).toBe('Fixed mod_devt\n');

    // An undefined symbol: caught by the build's symbol check (or else by install's configtest, which
    // loads the module); either way shown, and the server keeps the last good build.
    await save(
      src,
      original.replace('ap_rputs("Hello from mod_devt\\n", r);', 'devt_no_such_function(r);'),
    );
    const undef = await dev.cycle(5);
    expect(undef, dev.out()).toMatchObject({ ok: false });
    expect(['build', 'install']).toContain(undef.failedAt);
    expect(['UNDEFINED_SYMBOL', 'CONFIG_BROKEN']).toContain(undef.error.code);
    expect(JSON.stringify(undef.error)).toContain('devt_no_such_function');
    expect(undef.server).toBeUndefined();
    expect((await get(url)).body).toBe('Fixed mod_devt\n');
    expect(await resumes()).toBe(generations + 1); // the fix's restart only

    dev.child.kill('SIGINT');
    expect(await dev.exit).toBe(0);
    const last = JSON.parse(
      dev
        .out()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .at(-1)!,
    );
    expect(last).toMatchObject({
      ok: true,
      event: 'stopped',
      cycles: 5,
      failed: 2,
      serverStopped: false,
    });
    // Without --stop the server keeps running.
    expect((await get(url)).status).toBe(200);
  });

  it('prints one line per cycle on a pipe, the compiler error under it; --stop stops the server', async () => {
    const { work, sr, port } = await newSandbox();
    await cli(['new', 'devp', '--template', 'hello'], { cwd: work });
    const dir = path.join(work, 'mod_devp');
    const src = path.join(dir, 'mod_devp.c');
    started.push(sr);
    const dev = startDev([dir, '--server-root', sr, '--stop'], work);
    const lines = async (n: number) => {
      for (
        const end = Date.now() + 60_000;
        Date.now() < end;
        await new Promise((r) => setTimeout(r, 50))
      ) {
        const got = dev
          .out()
          .split('\n')
          .filter((l) => /^#\d+ /.test(l));
        if (got.length >= n) return got;
      }
      throw new Error(dev.out());
    };
    const [one] = await lines(1);
    expect(one).toMatch(
      new RegExp(
        `^#1 mod_devp: built in \\d+ ms, installed in \\d+ ms, start in \\d+ ms → GET http://127\\.0\\.0\\.1:${port}/devp 200 in [\\d.]+ ms \\(\\d+ ms in all\\): Hello from mod_devp$`,
      ),
    );
    const original = await fs.readFile(src, 'utf8');
    await save(src, original.replace('return OK;', 'return OK'));
    const two = (await lines(2))[1]!;
    expect(two).toMatch(
      /^#2 \[mod_devp\.c\] mod_devp: build failed: COMPILE_FAILED: .*; the running server was not touched$/,
    );
    for (
      const end = Date.now() + 5000;
      !/error: expected .;. before/.test(dev.out()) && Date.now() < end;
    )
      await new Promise((r) => setTimeout(r, 50));
    expect(dev.out()).toMatch(/^ {4}.*mod_devp\.c:\d+:\d+: error: expected .;. before/m);
    dev.child.kill('SIGINT');
    expect(await dev.exit).toBe(0);
    expect(dev.out()).toMatch(/stopped watching after 2 cycles \(1 failed\); stopped the server/);
    const status = await cli(['ctl', 'status', '--server-root', sr]);
    expect(status.code).toBe(3);
  });

  it('--graceful: graceful restarts, and the cycle waits for the new generation before it requests the page', async () => {
    const { work, sr, port } = await newSandbox();
    await cli(['new', 'devg', '--template', 'hello'], { cwd: work });
    const dir = path.join(work, 'mod_devg');
    const src = path.join(dir, 'mod_devg.c');
    started.push(sr);
    const dev = startDev(['--graceful', '--json', '--server-root', sr], dir);
    expect(await dev.cycle(1)).toMatchObject({ ok: true, server: { action: 'start' } });
    const original = await fs.readFile(src, 'utf8');
    for (const [n, text] of [
      [2, 'one'],
      [3, 'two'],
    ] as const) {
      await save(src, original.replace('Hello from mod_devg\\n', `Hello ${text}\\n`));
      const c = await dev.cycle(n);
      // Old children may answer the health URL after a graceful restart; the page request must see the new code.
      expect(c, dev.out()).toMatchObject({
        ok: true,
        server: { action: 'graceful' },
        request: { status: 200, body: [`Hello ${text}`] },
      });
    }
    expect((await get(`http://127.0.0.1:${port}/devg`)).body).toBe('Hello two\n');
    dev.child.kill('SIGINT');
    expect(await dev.exit).toBe(0);
  });
});
