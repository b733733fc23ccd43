/**
 * `apxs-ts dev` and a module that crashes (issue #21): the save that makes
 * the handler dereference NULL gives a cycle whose request finds no answer
 * and which prints the crash's backtrace (the handler, at the line of the
 * store); a crash from a request dev did not make is printed between cycles;
 * dev keeps watching, and the fixed save is served by the next cycle.
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

async function save(file: string, text: string): Promise<void> {
  await fs.writeFile(`${file}.tmp-save`, text);
  await fs.rename(`${file}.tmp-save`, file);
}

describe('apxs-ts dev with a crashing module', () => {
  it('prints the backtrace of the crash, keeps watching, and serves the fixed build', async () => {
    const { work, sr, port } = await newSandbox();
    expect((await cli(['new', 'devc', '--template', 'hello'], { cwd: work })).code).toBe(0);
    const dir = path.join(work, 'mod_devc');
    const src = path.join(dir, 'mod_devc.c');
    started.push(sr);
    const child = spawn(process.execPath, [CLI, 'dev', '--server-root', sr, '--json'], {
      cwd: dir,
      env: { ...process.env, CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    const events = () =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l));
    const waitFor = async (pred: (j: any) => boolean) => {
      for (
        const end = Date.now() + 90_000;
        Date.now() < end;
        await new Promise((r) => setTimeout(r, 50))
      ) {
        const hit = events().find(pred);
        if (hit) return hit;
      }
      throw new Error(`not seen in dev's output:\n${out}`);
    };
    const first = await waitFor((j) => j.cycle === 1);
    expect(first).toMatchObject({ ok: true, request: { status: 200 }, build: { warnings: [] } });
    // dev's default build is the debug one: after the target's -O2, so it wins; no _FORTIFY_SOURCE warning.
    expect(await fs.readFile(path.join(dir, '.apxs-ts', 'build.log'), 'utf8')).toMatch(
      /-O2 .*-O0 -g3 -U_FORTIFY_SOURCE/,
    );

    const original = await fs.readFile(src, 'utf8');
    // Only the module's URL crashes: the health URL (/) must answer for the restart to count.
    const crashing = original.replace(
      /^( *)ap_set_content_type\(r, "text\/plain"\);$/m,
      '$1if (strcmp(r->uri, "/devc") == 0) {\n$1    volatile int *volatile p = NULL;\n$1    *p = 42;\n$1}\n$1ap_set_content_type(r, "text/plain");',
    );
    expect(crashing).not.toBe(original);
    const line = crashing.split('\n').findIndex((l) => l.trim() === '*p = 42;') + 1;
    await save(src, crashing);
    const crashed = await waitFor((j) => j.cycle === 2);
    expect(crashed, out).toMatchObject({ ok: false, failedAt: 'request' });
    expect(crashed.crashes, out).toHaveLength(1);
    expect(crashed.crashes[0]).toMatchObject({ signo: 11, top: { fn: 'devc_handler', line } });
    expect(path.basename(crashed.crashes[0].top.file)).toBe('mod_devc.c');

    // A request dev did not make: its crash is printed between cycles.
    await get(`http://127.0.0.1:${port}/devc`).catch(() => undefined);
    const between = await waitFor((j) => j.event === 'crash');
    expect(between).toMatchObject({
      ok: false,
      event: 'crash',
      signo: 11,
      top: { fn: 'devc_handler', line },
    });
    expect(between.pid).not.toBe(crashed.crashes[0].pid);

    // Still watching: the fix is built, installed and served.
    await save(src, original.replace('Hello from mod_devc\\n', 'Fixed mod_devc\\n'));
    expect(await waitFor((j) => j.cycle === 3), out).toMatchObject({
      ok: true,
      request: { status: 200, body: ['Fixed mod_devc'] },
    });
    child.kill('SIGINT');
    await new Promise((r) => child.on('exit', r));
  }, 180_000);

  it('prints the backtrace in the human output', async () => {
    const { work, sr, port } = await newSandbox();
    expect((await cli(['new', 'devh', '--template', 'hello'], { cwd: work })).code).toBe(0);
    const dir = path.join(work, 'mod_devh');
    const src = path.join(dir, 'mod_devh.c');
    const text = (await fs.readFile(src, 'utf8')).replace(
      /^( *)ap_set_content_type\(r, "text\/plain"\);$/m,
      '$1if (strcmp(r->uri, "/devh") == 0) {\n$1    volatile int *volatile p = NULL;\n$1    *p = 42;\n$1}\n$1ap_set_content_type(r, "text/plain");',
    );
    await fs.writeFile(src, text);
    started.push(sr);
    const child = spawn(process.execPath, [CLI, 'dev', '--server-root', sr], {
      cwd: dir,
      env: { ...process.env, CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    for (
      const end = Date.now() + 90_000;
      Date.now() < end && !/#0 devh_handler/.test(out);
      await new Promise((r) => setTimeout(r, 50))
    );
    expect(out).toMatch(
      new RegExp(
        `^#1 mod_devh: .*→ GET http://127\\.0\\.0\\.1:${port}/devh .*: the child crashed`,
        'm',
      ),
    );
    expect(out).toMatch(
      /child pid \d+ died: Segmentation fault \(11\) in devh_handler \(.*mod_devh\.c:\d+\)/,
    );
    expect(out).toMatch(/#0 devh_handler \(.*mod_devh\.c:\d+\)/);
    child.kill('SIGINT');
    await new Promise((r) => child.on('exit', r));
    // --release: the target's own flags only.
    const rel = spawn(process.execPath, [CLI, 'dev', '--server-root', sr, '--release', '--json'], {
      cwd: dir,
      env: { ...process.env, CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(rel);
    let relOut = '';
    rel.stdout!.on('data', (b: Buffer) => (relOut += b.toString()));
    for (
      const end = Date.now() + 90_000;
      Date.now() < end && !/"cycle":1/.test(relOut);
      await new Promise((r) => setTimeout(r, 50))
    );
    expect(relOut).toMatch(/"cycle":1/);
    const log = await fs.readFile(path.join(dir, '.apxs-ts', 'build.log'), 'utf8');
    expect(log).toMatch(/-O2/);
    expect(log).not.toMatch(/-O0|-g3/);
    rel.kill('SIGINT');
    await new Promise((r) => rel.on('exit', r));
  }, 180_000);

  it("a module built with --sanitize address: the cycle prints ASan's report at the overflowing line", async () => {
    const { work, sr } = await newSandbox();
    expect((await cli(['new', 'deva', '--template', 'hello'], { cwd: work })).code).toBe(0);
    const dir = path.join(work, 'mod_deva');
    const src = path.join(dir, 'mod_deva.c');
    const text = (await fs.readFile(src, 'utf8')).replace(
      /^( *)ap_set_content_type\(r, "text\/plain"\);$/m,
      '$1if (strcmp(r->uri, "/deva") == 0) {\n$1    volatile char *b = malloc(8);\n$1    b[8] = \'x\';\n$1    free((void *)b);\n$1}\n$1ap_set_content_type(r, "text/plain");',
    );
    await fs.writeFile(src, `#include <stdlib.h>\n${text}`);
    const line =
      `#include <stdlib.h>\n${text}`.split('\n').findIndex((l) => l.trim() === "b[8] = 'x';") + 1;
    // The flag is saved in the manifest; dev's builds keep it.
    expect(
      (await cli(['build', '--sanitize', 'address', '--server-root', sr], { cwd: dir })).code,
    ).toBe(0);
    started.push(sr);
    const child = spawn(process.execPath, [CLI, 'dev', '--server-root', sr, '--json'], {
      cwd: dir,
      env: { ...process.env, CI: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    for (
      const end = Date.now() + 90_000;
      Date.now() < end && !/"cycle":1/.test(out);
      await new Promise((r) => setTimeout(r, 50))
    );
    const first = JSON.parse(out.split('\n').find((l) => l.includes('"cycle":1'))!);
    expect(first, out).toMatchObject({
      ok: false,
      failedAt: 'request',
      server: { action: 'start' },
    });
    expect(first.crashes[0].report).toMatch(/AddressSanitizer: heap-buffer-overflow/);
    expect(first.crashes[0].top).toMatchObject({ fn: 'deva_handler', line });
    child.kill('SIGINT');
    await new Promise((r) => child.on('exit', r));
  }, 180_000);
});
