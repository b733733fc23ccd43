/** Bad input to the module loop: clear one-line errors, exit codes, and files left as they were. */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, freePort, snapshot, tmpDir } from '../helpers.js';

describe('new', () => {
  it.each(['../x', 'foo-bar', 'a/b', '1abc', 'mod_', 'with space', 'bad\nname'])(
    'refuses the name %j and creates nothing',
    async (name) => {
      const work = await tmpDir();
      const r = await cli(['new', name], { cwd: work });
      expect(r.code).toBe(2); // a rejected argument is a usage error
      expect(r.stderr).toMatch(/^apxs-ts: error: bad module name/);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack without --verbose
      expect(await fs.readdir(work)).toEqual([]);
      expect(await fs.readdir(path.dirname(work)).then((l) => l.filter((f) => f === 'x'))).toEqual(
        [],
      );
    },
  );

  it('does not overwrite an existing directory without --force', async () => {
    const work = await tmpDir();
    await fs.mkdir(path.join(work, 'mod_info'));
    await fs.writeFile(path.join(work, 'mod_info', 'mine.txt'), 'keep');
    const r = await cli(['new', 'info', '--json'], { cwd: work });
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('DIR_EXISTS');
    expect(await fs.readdir(path.join(work, 'mod_info'))).toEqual(['mine.txt']);
    const forced = await cli(['new', 'info', '--force'], { cwd: work });
    expect(forced.code).toBe(0);
    expect((await fs.readdir(path.join(work, 'mod_info'))).sort()).toEqual([
      'Makefile',
      'README.md',
      'apxs-ts-module.json',
      'mine.txt',
      'mod_info.c',
      'tests',
    ]);
  });

  it('rejects an unknown template as a usage error', async () => {
    const r = await cli(['new', 'x', '--template', 'nope'], { cwd: await tmpDir() });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown template "nope"');
  });
});

describe('makefile check/fix', () => {
  it('names space-indented recipe lines, and fix makes make accept the file', async () => {
    const work = await tmpDir();
    const bad =
      'all: out.txt\r\n\r\nout.txt: in.txt\r\n    cp in.txt out.txt\r\n\techo done # tab already\r\n\r\nclean:\r\n  rm -f out.txt';
    const file = path.join(work, 'Makefile');
    await fs.writeFile(file, bad);
    await fs.writeFile(path.join(work, 'in.txt'), 'x');
    const check = await cli(['makefile', 'check', file]);
    expect(check.code).toBe(1);
    expect(check.stderr).toContain(`${file}:4:     cp in.txt out.txt`);
    expect(check.stderr).toContain(`${file}:8:   rm -f out.txt`);
    expect(() => execFileSync('make', ['-C', work], { stdio: 'pipe' })).toThrow(
      /missing separator/,
    );

    const fix = await cli(['makefile', 'fix', file, '--json']);
    expect(fix.code).toBe(0);
    expect(fix.json.fixed.map((f: { line: number }) => f.line)).toEqual([4, 8]);
    expect(await fs.readFile(file, 'utf8')).toBe(
      bad.replace('    cp', '\tcp').replace('  rm', '\trm'),
    );
    execFileSync('make', ['-C', work], { stdio: 'pipe' });
    expect(await fs.readFile(path.join(work, 'out.txt'), 'utf8')).toBe('x');
    expect((await cli(['makefile', 'check', file])).code).toBe(0);
  });
});

describe('build', () => {
  it("shows the compiler's own error and exits 1 when the module does not compile", async () => {
    const work = await tmpDir();
    expect((await cli(['new', 'broken'], { cwd: work })).code).toBe(0);
    const src = path.join(work, 'mod_broken', 'mod_broken.c');
    await fs.writeFile(src, (await fs.readFile(src, 'utf8')).replace('return OK;', 'return OK')); // missing ';'
    const r = await cli(['build'], { cwd: path.join(work, 'mod_broken') });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^apxs-ts: error: compilation failed/);
    // gcc quotes with ‘’ or '' depending on the locale.
    expect(r.stderr).toMatch(/mod_broken\.c:34:\d+: error: expected [‘']?;[’']? before/);
    expect(r.stderr).toMatch(/full log: .*build\.log/);
    await expect(fs.stat(path.join(work, 'mod_broken', 'mod_broken.so'))).rejects.toThrow();
  });

  it('a module whose record is not exported is refused: httpd could not find its symbol', async () => {
    const work = await tmpDir();
    await cli(['new', 'mangled', '--cpp', '--template', 'hello'], { cwd: work });
    const dir = path.join(work, 'mod_mangled');
    const src = path.join(dir, 'mod_mangled.cpp');
    // A static record (or one inside a namespace) has internal linkage: the .so does not export it.
    await fs.writeFile(
      src,
      (await fs.readFile(src, 'utf8'))
        .replace('extern "C" module AP_MODULE_DECLARE_DATA mangled_module;\n', '')
        .replace(
          '\nmodule AP_MODULE_DECLARE_DATA mangled_module = {',
          '\nstatic module AP_MODULE_DECLARE_DATA mangled_module = {',
        ),
    );
    const r = await cli(['build', '--json'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('NO_MODULE_SYMBOL');
    expect(r.json.error.message).toBe('mod_mangled.so does not export mangled_module');
    expect(r.json.error.hint).toContain('not static');
    await expect(fs.stat(path.join(dir, 'mod_mangled.so'))).rejects.toThrow();
  });

  it('rebuilds when a header it includes changes, and only then', async () => {
    const work = await tmpDir();
    await cli(['new', 'hdr', '--template', 'hello'], { cwd: work });
    const dir = path.join(work, 'mod_hdr');
    await fs.writeFile(path.join(dir, 'greeting.h'), '#define GREETING "one"\n');
    const src = path.join(dir, 'mod_hdr.c');
    await fs.writeFile(
      src,
      (await fs.readFile(src, 'utf8')).replace(
        '#include <string.h>',
        '#include <string.h>\n#include "greeting.h"',
      ),
    );
    expect((await cli(['build', '--json'], { cwd: dir })).json.upToDate).toBe(false);
    expect((await cli(['build', '--json'], { cwd: dir })).json.upToDate).toBe(true);
    await fs.writeFile(path.join(dir, 'greeting.h'), '#define GREETING "two!"\n');
    expect((await cli(['build', '--json'], { cwd: dir })).json.upToDate).toBe(false);
  });
});

describe('install', () => {
  it('restores every file byte for byte when the new config breaks httpd', async () => {
    const work = await tmpDir();
    const sr = path.join(work, 'srv');
    expect(
      (await cli(['sandbox', 'create', sr, '--port', String(await freePort())], { cwd: work }))
        .code,
    ).toBe(0);
    expect((await cli(['new', 'shaky'], { cwd: work })).code).toBe(0);
    const dir = path.join(work, 'mod_shaky');
    expect((await cli(['install'], { cwd: dir })).code).toBe(0);
    const before = await snapshot(sr);

    // Version 2 links (undefined symbols are allowed in a .so) but cannot be
    // loaded: httpd's configtest fails on LoadModule.
    const src = path.join(dir, 'mod_shaky.c');
    await fs.writeFile(
      src,
      (await fs.readFile(src, 'utf8'))
        .replace(
          'static const char *html',
          'extern void apxs_ts_no_such_function(void);\nstatic const char *html',
        )
        .replace(
          '    ap_set_content_type(r, "text/html");',
          '    apxs_ts_no_such_function();\n    ap_set_content_type(r, "text/html");',
        ),
    );
    const r = await cli(['install', '--json'], { cwd: dir });
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('CONFIG_BROKEN');
    expect(r.json.error.message).toMatch(/apxs_ts_no_such_function/);
    expect(r.json.error.hint).toMatch(/restored byte for byte/);
    const after = await snapshot(sr);
    // Only our backups may be new; every other byte is as it was.
    for (const k of Object.keys(after)) if (k.startsWith('.apxs-ts/backups/')) delete after[k];
    for (const k of Object.keys(before)) if (k.startsWith('.apxs-ts/backups/')) delete before[k];
    expect(after).toEqual(before);
  });

  it('installs twice without changing anything and uninstall reverses it exactly', async () => {
    const work = await tmpDir();
    const sr = path.join(work, 'srv');
    await cli(['sandbox', 'create', sr, '--port', String(await freePort())], { cwd: work });
    const pristine = await fs.readFile(path.join(sr, 'conf', 'httpd.conf'));
    await cli(['new', 'twice', '--cpp', '--template', 'info'], { cwd: work });
    const dir = path.join(work, 'mod_twice');
    expect((await cli(['install', '--json'], { cwd: dir })).json.files.length).toBe(2);
    const once = await fs.readFile(path.join(sr, 'conf', 'httpd.conf'));
    const second = await cli(['install', '--json'], { cwd: dir });
    expect(second.json).toMatchObject({ changed: false, files: [] });
    expect(await fs.readFile(path.join(sr, 'conf', 'httpd.conf'))).toEqual(once);
    const un = await cli(['uninstall', 'mod_twice', '--server-root', sr]);
    expect(un.code, un.stderr).toBe(0);
    expect(await fs.readFile(path.join(sr, 'conf', 'httpd.conf'))).toEqual(pristine);
    await expect(fs.stat(path.join(sr, 'modules', 'mod_twice.so'))).rejects.toThrow();
    // Already absent (#23): exit 0, nothing changed.
    const unAgain = await cli(['uninstall', 'twice', '--server-root', sr, '--json']);
    expect(unAgain.code).toBe(0);
    expect(unAgain.json).toMatchObject({ changed: false, alreadyAbsent: true });
  });

  it('asks for a server root when none can be found', async () => {
    const work = await tmpDir();
    await cli(['new', 'lost'], { cwd: work });
    const r = await cli(['install'], {
      cwd: path.join(work, 'mod_lost'),
      env: { APXS_TS_SERVER_ROOT: '' },
    });
    // A usage error (#17): no server root given, and no system server (the tests name none).
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('no server root given');
  });
});
