/**
 * `build --sanitize address` (issue #21) on the system 2.4 and 2.2.34 (and `undefined` on 2.4): the flag is kept
 * in apxs-ts-module.json, the .so names libasan, install's configtest and
 * the server run with the runtime preloaded (a restart of a server started
 * without it becomes a stop and start), and a heap overflow in the handler
 * is listed by `ctl crashes` with ASan's headline and the overflowing line.
 * `--sanitize none` takes it out again.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readDynamic } from '../../lib/module/elf.js';
import { cli, get, newSandbox, tmpDir } from '../helpers.js';
import { withBuiltHttpd } from '../series-builds.js';

const running: string[] = [];
afterAll(async () => {
  for (const root of running) await cli(['ctl', 'stop', '--server-root', root]);
});

async function overflowReported(sr: string, port: number): Promise<void> {
  const work = await tmpDir('apxs-ts-sanitize-');
  expect(
    (await cli(['new', 'asan', '--template', 'hello', '--server-root', sr], { cwd: work })).code,
  ).toBe(0);
  const dir = path.join(work, 'mod_asan');
  const src = path.join(dir, 'mod_asan.c');
  const text = await fs.readFile(src, 'utf8');
  // volatile: gcc drops a store into memory freed right after.
  const out = `#include <stdlib.h>\n${text.replace(
    /^( *)ap_set_content_type\(r, "text\/plain"\);$/m,
    '$1if (strcmp(r->uri, "/overflow") == 0) {\n$1    volatile char *b = malloc(8);\n$1    b[8] = \'x\';\n$1    free((void *)b);\n$1}\n$1ap_set_content_type(r, "text/plain");',
  )}`;
  await fs.writeFile(src, out);
  const line = out.split('\n').findIndex((l) => l.trim() === "b[8] = 'x';") + 1;

  // Started plain first: the sanitized module comes later, through a restart.
  running.push(sr);
  expect((await cli(['install', '--server-root', sr], { cwd: dir })).code).toBe(0);
  expect((await cli(['ctl', 'start', '--server-root', sr])).code).toBe(0);

  const b = await cli(['build', '--sanitize', 'address', '--server-root', sr, '--json'], {
    cwd: dir,
  });
  expect(b.code, b.stdout + b.stderr).toBe(0);
  expect(b.json.sanitize).toBe('address');
  expect(
    JSON.parse(await fs.readFile(path.join(dir, 'apxs-ts-module.json'), 'utf8')).sanitize,
  ).toBe('address');
  expect(
    (await readDynamic(path.join(dir, 'mod_asan.so'))).needed.some((n) => /^libasan\.so/.test(n)),
  ).toBe(true);
  expect(await fs.readFile(path.join(dir, '.apxs-ts', 'build.log'), 'utf8')).toMatch(
    /-fsanitize=address -fno-omit-frame-pointer/,
  );

  const inst = await cli(['install', '--server-root', sr], { cwd: dir });
  expect(inst.code, inst.stderr).toBe(0); // its configtest loads the module: the runtime was preloaded
  const re = await cli(['ctl', 'restart', '--server-root', sr, '--json']);
  expect(re.code, re.stdout).toBe(0);
  expect(re.json.warnings.join('\n')).toMatch(/sanitizer runtime preloaded.*stopped and started/);
  expect((await get(`http://127.0.0.1:${port}/`)).status).toBe(200);

  await get(`http://127.0.0.1:${port}/overflow`).catch(() => undefined);
  let r: any;
  for (let i = 0; i < 50; i++) {
    r = (await cli(['ctl', 'crashes', '--server-root', sr, '--json'])).json;
    if (r.crashes.length && r.crashes[0].logLine) break;
    await new Promise((res) => setTimeout(res, 200));
  }
  expect(r.crashes, JSON.stringify(r)).toHaveLength(1);
  const c = r.crashes[0];
  expect(c.symbolizedBy).toBe('sanitizer');
  expect(c.report).toMatch(/AddressSanitizer: heap-buffer-overflow/);
  expect(c.frames[0]).toMatchObject({ fn: 'asan_handler', line });
  expect(path.basename(c.frames[0].file)).toBe('mod_asan.c');
  expect(c.logLine).toMatch(/exit signal Abort/);
  expect((await get(`http://127.0.0.1:${port}/`)).status).toBe(200);

  const none = await cli(['build', '--sanitize', 'none', '--server-root', sr, '--json'], {
    cwd: dir,
  });
  expect(none.code).toBe(0);
  expect(none.json.sanitize).toBeNull();
  expect(
    JSON.parse(await fs.readFile(path.join(dir, 'apxs-ts-module.json'), 'utf8')).sanitize,
  ).toBeUndefined();
  expect(
    (await readDynamic(path.join(dir, 'mod_asan.so'))).needed.some((n) => /^libasan/.test(n)),
  ).toBe(false);
  await cli(['ctl', 'stop', '--server-root', sr]);
  await cli(['uninstall', 'asan', '--server-root', sr]);
}

describe('build --sanitize', () => {
  it('system 2.4: a heap overflow in the handler is reported by ctl crashes at the overflowing line', async () => {
    const { sr, port } = await newSandbox();
    await overflowReported(sr, port);
  }, 300_000);

  it('httpd 2.2.34: the same', async () => {
    await withBuiltHttpd('2.2.34', async ({ prefix, port }) => {
      try {
        await overflowReported(prefix, port);
      } finally {
        await cli(['ctl', 'stop', '--server-root', prefix]);
        await cli(['uninstall', 'asan', '--server-root', prefix]);
      }
    });
  }, 900_000);

  it('system 2.4, --sanitize undefined: a signed overflow in the handler is reported at its line', async () => {
    const { sr, port } = await newSandbox();
    const work = await tmpDir('apxs-ts-ubsan-');
    expect(
      (await cli(['new', 'ubs', '--template', 'hello', '--server-root', sr], { cwd: work })).code,
    ).toBe(0);
    const dir = path.join(work, 'mod_ubs');
    const src = path.join(dir, 'mod_ubs.c');
    const text = (await fs.readFile(src, 'utf8')).replace(
      /^( *)ap_set_content_type\(r, "text\/plain"\);$/m,
      '$1if (strcmp(r->uri, "/ub") == 0) {\n$1    volatile int big = INT_MAX, one = 1;\n$1    int sum = big + one;\n$1    ap_rprintf(r, "%d\\n", sum);\n$1}\n$1ap_set_content_type(r, "text/plain");',
    );
    const out = `#include <limits.h>\n${text}`;
    await fs.writeFile(src, out);
    const line = out.split('\n').findIndex((l) => l.trim() === 'int sum = big + one;') + 1;
    const b = await cli(['build', '--sanitize', 'undefined', '--server-root', sr, '--json'], {
      cwd: dir,
    });
    expect(b.code, b.stdout + b.stderr).toBe(0);
    expect(
      (await readDynamic(path.join(dir, 'mod_ubs.so'))).needed.some((n) => /^libubsan\.so/.test(n)),
    ).toBe(true);
    running.push(sr);
    expect((await cli(['install', '--server-root', sr], { cwd: dir })).code).toBe(0);
    expect((await cli(['ctl', 'start', '--server-root', sr])).code).toBe(0);
    await get(`http://127.0.0.1:${port}/ub`).catch(() => undefined);
    let r: any;
    for (let i = 0; i < 50; i++) {
      r = (await cli(['ctl', 'crashes', '--server-root', sr, '--json'])).json;
      if (r.crashes.length && r.crashes[0].logLine) break;
      await new Promise((res) => setTimeout(res, 200));
    }
    expect(r.crashes, JSON.stringify(r)).toHaveLength(1);
    expect(r.crashes[0].report).toMatch(
      new RegExp(`mod_ubs\\.c:${line}:\\d+: runtime error: signed integer overflow`),
    );
    expect(r.crashes[0].top).toMatchObject({ fn: 'ubs_handler', line });
    expect((await get(`http://127.0.0.1:${port}/`)).status).toBe(200);
  }, 300_000);
});
