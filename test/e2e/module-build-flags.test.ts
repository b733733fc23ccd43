/**
 * `build` as a module developer meets it (issue #11): the compiler's warnings
 * on success, undefined symbols caught at build time with the #include to
 * add, apxs's -I -D -L -l -Wc, -Wl, flags kept in apxs-ts-module.json (and
 * apxs-ts.mk for the Makefile), the environment's CFLAGS, apxs -q LDFLAGS,
 * and multi-file modules; real gcc, the system httpd in sandboxes.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, get, newSandbox, tmpDir } from '../helpers.js';

const started: string[] = [];
afterAll(async () => {
  for (const sr of started) await cli(['ctl', 'stop', '--server-root', sr]);
});

/** The notes' minimal hello: httpd.h and http_config.h only, a 2.x hook module. */
const HELLO = (extraInclude: string, call = 'ap_rputs') => `#include "httpd.h"
#include "http_config.h"
${extraInclude}
static int hello_handler(request_rec *r)
{
    if (!r->handler || strcmp(r->handler, "hello")) return DECLINED;
    ap_set_content_type(r, "text/plain");
    ${call}("Hello, world!\\n", r);
    return OK;
}

static void hello_register_hooks(apr_pool_t *p)
{
    ap_hook_handler(hello_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

module AP_MODULE_DECLARE_DATA hello_module = {
    STANDARD20_MODULE_STUFF, NULL, NULL, NULL, NULL, NULL, hello_register_hooks
};
`;

/** A module whose page shows zlib's version and a GREETING macro. */
const ZPAGE = `#include <string.h>
#include <zlib.h>
#include "httpd.h"
#include "http_config.h"
#include "http_protocol.h"
#ifndef GREETING
#define GREETING "no greeting"
#endif

static int zpage_handler(request_rec *r)
{
    if (!r->handler || strcmp(r->handler, "zpage")) return DECLINED;
    ap_set_content_type(r, "text/plain");
    ap_rprintf(r, "zlib %s; greeting %s\\n", zlibVersion(), GREETING);
    return OK;
}

static void zpage_register_hooks(apr_pool_t *p)
{
    ap_hook_handler(zpage_handler, NULL, NULL, APR_HOOK_MIDDLE);
}

module AP_MODULE_DECLARE_DATA zpage_module = {
    STANDARD20_MODULE_STUFF, NULL, NULL, NULL, NULL, NULL, zpage_register_hooks
};
`;

async function moduleDir(
  work: string,
  name: string,
  files: Record<string, string>,
): Promise<string> {
  const dir = path.join(work, `mod_${name}`);
  await fs.mkdir(dir, { mode: 0o755 });
  for (const [f, text] of Object.entries(files)) await fs.writeFile(path.join(dir, f), text);
  return dir;
}

function readelf(so: string): string {
  return execFileSync('readelf', ['-d', so], { encoding: 'utf8' });
}

function make(dir: string, args: string[] = []): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('make', ['-C', dir, ...args], (err, stdout, stderr) =>
      resolve({
        code: err ? (typeof err.code === 'number' ? err.code : 1) : 0,
        out: stdout + stderr,
      }),
    );
  });
}

async function installAndGet(
  dir: string,
  sr: string,
  port: number,
  url: string,
): Promise<{ status: number; body: string }> {
  const inst = await cli(['install', '--server-root', sr, '--json'], { cwd: dir });
  expect(inst.code, inst.stderr + inst.stdout).toBe(0);
  if (!started.includes(sr)) {
    const start = await cli(['ctl', 'start', '--server-root', sr]);
    expect(start.code, start.stderr).toBe(0);
    started.push(sr);
  } else {
    const restart = await cli(['ctl', 'restart', '--server-root', sr]);
    expect(restart.code, restart.stderr).toBe(0);
  }
  return get(`http://127.0.0.1:${port}${url}`);
}

describe('undefined symbols', () => {
  it("the notes' minimal hello without http_protocol.h fails with UNDEFINED_SYMBOL and the #include; with it, it builds, installs and answers", async () => {
    const { work, sr, port } = await newSandbox();
    const dir = await moduleDir(work, 'hello', { 'mod_hello.c': HELLO('') });
    const r = await cli(['build', '--server-root', sr, '--json'], { cwd: dir });
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.json.error.code).toBe('UNDEFINED_SYMBOL');
    expect(r.json.error.message).toMatch(
      /^mod_hello\.so needs ap_rputs, which neither .* provide$/,
    );
    expect(r.json.error.hint).toContain('#include "http_protocol.h"');
    expect(r.json.error.details.join('\n')).toMatch(/implicit declaration of function .ap_rputs/);
    await expect(fs.stat(path.join(dir, 'mod_hello.so'))).rejects.toThrow();
    const human = await cli(['build', '--server-root', sr], { cwd: dir });
    expect(human.code).toBe(1);
    expect(human.stderr).toContain(
      'ap_rputs is declared in http_protocol.h, which the module does not include: add #include "http_protocol.h"',
    );

    await fs.writeFile(path.join(dir, 'mod_hello.c'), HELLO('#include "http_protocol.h"'));
    const ok = await cli(['build', '--server-root', sr, '--json'], { cwd: dir });
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.json.upToDate).toBe(false);
    const res = await installAndGet(dir, sr, port, '/hello');
    expect(res).toEqual({ status: 200, body: 'Hello, world!\n' });
  });

  it('a typo in a function name fails with UNDEFINED_SYMBOL and the name it meant', async () => {
    const work = await tmpDir();
    const dir = await moduleDir(work, 'typo', {
      'mod_typo.c': HELLO('#include "http_protocol.h"', 'ap_rputz').replace(/hello/g, 'typo'),
    });
    const r = await cli(['build', '--json'], { cwd: dir, env: { APXS_TS_SERVER_ROOT: '' } });
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('UNDEFINED_SYMBOL');
    expect(r.json.error.message).toMatch(/^mod_typo\.so needs ap_rputz,/);
    expect(r.json.error.hint).toBe('did you mean ap_rputs?');
  });

  it('a library function without its -l fails; a symbol the module declares itself is only a warning', async () => {
    const work = await tmpDir();
    const dir = await moduleDir(work, 'zpage', { 'mod_zpage.c': ZPAGE });
    const r = await cli(['build', '--json'], { cwd: dir, env: { APXS_TS_SERVER_ROOT: '' } });
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('UNDEFINED_SYMBOL');
    expect(r.json.error.message).toMatch(/^mod_zpage\.so needs zlibVersion,/);
    expect(r.json.error.hint).toMatch(/link it with -l NAME/);

    // Declared by the module: it may come from a LoadFile, so httpd's configtest has the last word.
    await fs.writeFile(
      path.join(dir, 'mod_zpage.c'),
      ZPAGE.replace('#include <zlib.h>', 'extern const char *zlibVersion(void);'),
    );
    const declared = await cli(['build'], { cwd: dir, env: { APXS_TS_SERVER_ROOT: '' } });
    expect(declared.code, declared.stderr).toBe(0);
    expect(declared.stderr).toMatch(
      /warning: zlibVersion: declared by the module, provided by nothing httpd loads/,
    );
  });
});

describe('warnings', () => {
  it('a warning-producing source shows the warning, and its count, on success', async () => {
    const work = await tmpDir();
    const dir = await moduleDir(work, 'warns', {
      'mod_warns.c': HELLO('#include "http_protocol.h"')
        .replace(/hello/g, 'warns')
        .replace('    ap_set_content_type', '    int unused_here;\n    ap_set_content_type'),
    });
    const r = await cli(['build'], { cwd: dir, env: { APXS_TS_SERVER_ROOT: '' } });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^built .*mod_warns\.so .*, 1 compiler warning:$/m);
    expect(r.stderr).toMatch(
      /^ {2}.*mod_warns\.c:\d+:\d+: warning: unused variable .unused_here. \[-Wunused-variable\]$/m,
    );
    await fs.appendFile(path.join(dir, 'mod_warns.c'), '\n');
    const j = await cli(['build', '--json'], { cwd: dir, env: { APXS_TS_SERVER_ROOT: '' } });
    expect(j.json.warnings).toBe(1);
    expect(j.json.warningLines[0]).toMatch(/warning: unused variable .unused_here./);
  });
});

describe('flags like apxs', () => {
  it('-l and -D build a module that links zlib; they are kept for the next build and for make; it installs and answers', async () => {
    const { work, sr, port } = await newSandbox();
    const dir = await moduleDir(work, 'zpage', { 'mod_zpage.c': ZPAGE });
    const built = await cli(
      ['build', '--server-root', sr, '-l', 'z', '-D', 'GREETING="hi"', '--json'],
      { cwd: dir },
    );
    expect(built.code, built.stdout).toBe(0);
    expect(readelf(built.json.so)).toMatch(/NEEDED.*\[libz\.so\.1\]/);
    const manifest = JSON.parse(await fs.readFile(path.join(dir, 'apxs-ts-module.json'), 'utf8'));
    expect(manifest).toMatchObject({ libs: ['z'], defines: ['GREETING="hi"'] });

    const zlib = /#define ZLIB_VERSION "([^"]+)"/.exec(
      await fs.readFile('/usr/include/zlib.h', 'utf8'),
    )![1];
    const res = await installAndGet(dir, sr, port, '/zpage');
    expect(res).toEqual({ status: 200, body: `zlib ${zlib}; greeting hi\n` });

    // The next build, with no flags given, uses the saved ones.
    const again = await cli(['build', '--server-root', sr, '--force', '--json'], { cwd: dir });
    expect(again.code, again.stdout).toBe(0);
    expect(await fs.readFile(path.join(dir, '.apxs-ts', 'build.log'), 'utf8')).toMatch(
      / '-DGREETING="hi"' .* -lz\b/,
    );
    // A -D of the same name replaces the saved one; --reset-flags forgets them all.
    expect(
      (await cli(['build', '--server-root', sr, '-D', 'GREETING="bye"', '--json'], { cwd: dir }))
        .json.flags,
    ).toMatchObject({ defines: ['GREETING="bye"'], libs: ['z'] });
    const reset = await cli(['build', '--server-root', sr, '--reset-flags', '-l', 'z', '--json'], {
      cwd: dir,
    });
    expect(reset.json.flags).toEqual({
      includes: [],
      defines: [],
      libDirs: [],
      libs: ['z'],
      cflags: [],
      ldflags: [],
    });
    expect(
      JSON.parse(await fs.readFile(path.join(dir, 'apxs-ts-module.json'), 'utf8')).defines,
    ).toBeUndefined();
  });

  it('the Makefile new writes builds with the saved flags through apxs-ts.mk', async () => {
    const work = await tmpDir();
    const env = { APXS_TS_SERVER_ROOT: '' };
    expect((await cli(['new', 'zmk', '--template', 'hello'], { cwd: work, env })).code).toBe(0);
    const dir = path.join(work, 'mod_zmk');
    const src = path.join(dir, 'mod_zmk.c');
    await fs.writeFile(
      src,
      (await fs.readFile(src, 'utf8')).replace(
        '#include <string.h>',
        '#include <string.h>\n#include <zlib.h>\nconst char *zmk_zlib(void) { return zlibVersion(); }',
      ),
    );
    const b = await cli(
      ['build', '-l', 'z', '-D', 'GREETING="hi"', '-Wl,-soname,mod_zmk_made.so', '--json'],
      { cwd: dir, env },
    );
    expect(b.code, b.stdout).toBe(0);
    expect(b.json.flags.ldflags).toEqual(['-Wl,-soname,mod_zmk_made.so']);
    expect(await fs.readFile(path.join(dir, 'apxs-ts.mk'), 'utf8')).toContain(
      `APXS_TS_CFLAGS = '-DGREETING="hi"'\nAPXS_TS_LDFLAGS = -Wl,-soname,mod_zmk_made.so\nAPXS_TS_LIBS = -lz\n`,
    );
    expect(readelf(path.join(dir, 'mod_zmk.so'))).toMatch(/SONAME.*\[mod_zmk_made\.so\]/);
    expect((await make(dir, ['clean'])).code).toBe(0);
    const m = await make(dir);
    expect(m.code, m.out).toBe(0);
    expect(m.out).toContain(`'-DGREETING="hi"'`);
    const elf = readelf(path.join(dir, 'mod_zmk.so'));
    expect(elf).toMatch(/NEEDED.*\[libz\.so\.1\]/);
    expect(elf).toMatch(/SONAME.*\[mod_zmk_made\.so\]/);
  });

  it('environment CFLAGS are added (not saved), and apxs -q LDFLAGS is honoured (BIND_NOW)', async () => {
    const work = await tmpDir();
    const dir = await moduleDir(work, 'envf', {
      'mod_envf.c': `#ifndef FROM_ENV\n#error FROM_ENV is not defined\n#endif\n${HELLO('#include "http_protocol.h"').replace(/hello/g, 'envf')}`,
    });
    const plain = await cli(['build', '--json'], { cwd: dir, env: { APXS_TS_SERVER_ROOT: '' } });
    expect(plain.code).toBe(1);
    expect(plain.json.error.code).toBe('COMPILE_FAILED');
    const r = await cli(['build', '--json'], {
      cwd: dir,
      env: { APXS_TS_SERVER_ROOT: '', CFLAGS: '-DFROM_ENV=1 -O1' },
    });
    expect(r.code, r.stdout).toBe(0);
    expect(await fs.readFile(path.join(dir, '.apxs-ts', 'build.log'), 'utf8')).toMatch(
      / -DFROM_ENV=1 -O1 /,
    );
    expect(
      JSON.parse(await fs.readFile(path.join(dir, 'apxs-ts-module.json'), 'utf8').catch(() => '{}'))
        .cflags,
    ).toBeUndefined();

    const ldflags = execFileSync('apxs', ['-q', 'LDFLAGS'], { encoding: 'utf8' });
    if (/-z,now|-z now/.test(ldflags))
      expect(readelf(r.json.so)).toMatch(/\(FLAGS\)\s+BIND_NOW|\(FLAGS_1\)\s+Flags: NOW/);
    else expect(readelf(r.json.so)).not.toMatch(/BIND_NOW/);
  });

  it('a multi-file module compiles its sources in parallel and links once; "sources" chooses them', async () => {
    const work = await tmpDir();
    const dir = await moduleDir(work, 'multi', {
      'greeting.h': 'const char *multi_greeting(void);\n',
      'greeting.c':
        '#include "greeting.h"\nconst char *multi_greeting(void) { return "from greeting.c"; }\n',
      'mod_multi.c': HELLO('#include "http_protocol.h"\n#include "greeting.h"')
        .replace(/hello/g, 'multi')
        .replace('"Hello, world!\\n"', 'multi_greeting()'),
    });
    const env = { APXS_TS_SERVER_ROOT: '' };
    const r = await cli(['build', '--jobs', '2', '--json'], { cwd: dir, env });
    expect(r.code, r.stdout).toBe(0);
    expect(r.json.compiled).toEqual(['greeting.c', 'mod_multi.c']);
    const log = await fs.readFile(path.join(dir, '.apxs-ts', 'build.log'), 'utf8');
    expect(log.match(/^\$ .* -c /gm)).toHaveLength(2);
    expect(
      log.match(/^\$ .* -shared .*-o \S+\.mod_multi\.so\.apxs-ts-\d+-[0-9a-f]+\.tmp /gm),
    ).toHaveLength(1);

    // A scratch file that does not compile is left out once "sources" lists the others.
    await fs.writeFile(path.join(dir, 'scratch.c'), 'this is not C\n');
    expect((await cli(['build', '--json'], { cwd: dir, env })).json.error.code).toBe(
      'COMPILE_FAILED',
    );
    await fs.writeFile(
      path.join(dir, 'apxs-ts-module.json'),
      JSON.stringify({ name: 'multi', sources: ['mod_multi.c', 'greeting.c'] }),
    );
    const listed = await cli(['build', '--json'], { cwd: dir, env });
    expect(listed.code, listed.stdout).toBe(0);
    expect((await cli(['build', '--json'], { cwd: dir, env })).json.upToDate).toBe(true);
  });
});
