/**
 * `apxs-ts debug` (issue #21), batch form: httpd -X under gdb stops at the
 * breakpoint and the backtrace runs through it (the named function, and by
 * default the module's handler); under valgrind the hello module reports 0
 * errors (httpd's own noise suppressed by templates/debug/httpd.supp), and a
 * module that branches on uninitialised heap memory is reported at its
 * file:line. On the system 2.4 (a sandbox) and each built series.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, newSandbox, tmpDir } from '../helpers.js';
import { SERIES_VERSIONS, withBuiltHttpd } from '../series-builds.js';

const running: string[] = [];
afterAll(async () => {
  for (const root of running) await cli(['ctl', 'stop', '--server-root', root]);
});

const debug = (root: string, dir: string, ...args: string[]) =>
  cli(['debug', '--server-root', root, '--json', ...args], { cwd: dir, timeoutMs: 240_000 });

/** A branch on an uninitialised malloc'd int on /uninit, before the handler sets its content type. */
async function addUninitialisedRead(src: string): Promise<number> {
  const text = await fs.readFile(src, 'utf8');
  const anchor =
    /^( *)(ap_set_content_type\(r, "text\/plain"\);|r->content_type = "text\/plain";)$/m;
  const m = anchor.exec(text)!;
  const i = m[1]!;
  const bad = `${i}if (strcmp(r->uri, "/uninit") == 0) {\n${i}    int *v = malloc(sizeof *v);\n${i}    if (*v == 42)\n${i}        r->status = 201;\n${i}    free(v);\n${i}}\n`;
  const out = `#include <stdlib.h>\n#include <string.h>\n${text.slice(0, m.index)}${bad}${text.slice(m.index)}`;
  await fs.writeFile(src, out);
  return out.split('\n').findIndex((l) => l.trim() === 'if (*v == 42)') + 1;
}

async function debugChecks(root: string): Promise<void> {
  const work = await tmpDir('apxs-ts-debug-');
  expect(
    (await cli(['new', 'dbg', '--template', 'hello', '--server-root', root], { cwd: work })).code,
  ).toBe(0);
  const dir = path.join(work, 'mod_dbg');
  const line = await addUninitialisedRead(path.join(dir, 'mod_dbg.c'));
  const inst = await cli(['install', '--server-root', root], { cwd: dir });
  expect(inst.code, inst.stderr).toBe(0);
  try {
    // A running server holds the port: refused, nothing started.
    running.push(root);
    expect((await cli(['ctl', 'start', '--server-root', root])).code).toBe(0);
    const busy = await debug(root, dir, '--request', '/x');
    expect(busy.code).toBe(1);
    expect(busy.json.error.code).toBe('IN_USE');
    expect((await cli(['ctl', 'stop', '--server-root', root])).code).toBe(0);

    const named = await debug(root, dir, '--request', '/x', '--break', 'dbg_handler');
    expect(named.code, named.stdout + named.stderr).toBe(0);
    expect(named.json).toMatchObject({ tool: 'gdb', breakAt: 'dbg_handler', hit: true });
    expect(named.json.backtrace[0]).toMatchObject({ fn: 'dbg_handler' });
    expect(path.basename(named.json.backtrace[0].file)).toBe('mod_dbg.c');
    expect(named.json.backtrace.length).toBeGreaterThan(2); // through httpd's own frames

    const byDefault = await debug(root, dir, '--request', '/x');
    expect(byDefault.code, byDefault.stdout).toBe(0);
    expect(byDefault.json).toMatchObject({ breakAt: 'dbg_handler', hit: true });

    const clean = await debug(root, dir, '--valgrind', '--request', '/');
    expect(clean.code, clean.stdout + clean.stderr).toBe(0);
    expect(clean.json).toMatchObject({
      tool: 'valgrind',
      errorCount: 0,
      errors: [],
      request: { status: 200 },
    });
    expect(clean.json.summary).toMatch(/^ERROR SUMMARY: 0 errors/);

    const dirty = await debug(root, dir, '--valgrind', '--request', '/uninit');
    expect(dirty.code, dirty.stdout).toBe(1);
    const errors = dirty.json.error.data?.errors ?? dirty.json.errors;
    expect(errors.length, JSON.stringify(dirty.json)).toBeGreaterThan(0);
    expect(errors[0].kind).toMatch(/uninitialised/);
    expect(errors[0].top).toMatchObject({ fn: 'dbg_handler', line });
    expect(path.basename(errors[0].top.file)).toBe('mod_dbg.c');
  } finally {
    await cli(['ctl', 'stop', '--server-root', root]);
    await cli(['uninstall', 'dbg', '--server-root', root]);
  }
}

describe('apxs-ts debug --request', () => {
  it('system 2.4: gdb backtrace through the breakpoint; valgrind 0 errors on hello, the uninitialised read at its line', async () => {
    const { sr } = await newSandbox();
    await debugChecks(sr);
  }, 600_000);

  for (const version of SERIES_VERSIONS) {
    it(`httpd ${version}: the same`, async () => {
      await withBuiltHttpd(version, ({ prefix }) => debugChecks(prefix));
    }, 900_000);
  }
});
