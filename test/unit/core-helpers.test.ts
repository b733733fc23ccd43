/**
 * The small modules of lib/core in-process: errors (codes, exit codes, errno
 * mapping), the per-user registry, templates and child processes. Written
 * for mutation testing (scripts/mutation.sh): each assertion pins a rule a
 * one-line change would break.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApxsError, fileError, isErrno, permissionError } from '../../lib/core/errors.js';
import * as cache from '../../lib/core/cache.js';
import * as fsh from '../../lib/core/fs.js';
import { readRegistry, updateRegistry } from '../../lib/core/registry.js';
import { commandLine, lastLines, quoteArg, runCapture } from '../../lib/core/run.js';
import { fillPlaceholders, renderTemplateDirs, templatesRoot } from '../../lib/core/templates.js';
import { ROOT, tmpDir } from '../helpers.js';

const errno = (code: string) => Object.assign(new Error(`${code}: x`), { code });

describe('errors', () => {
  it('exit codes: 2 for bad input, 3 not running, 130 interrupted, 1 otherwise', () => {
    for (const c of [
      'USAGE',
      'BAD_INPUT',
      'BAD_MODULE_NAME',
      'BAD_HOSTNAME',
      'MODULE_EXISTS',
      'HOST_MAPPED',
      'API_MISMATCH',
      'UNSAFE_CONFIG',
      'UNSUPPORTED',
      'BAD_CASE_FILE',
      'TLS_UNSUPPORTED',
      'NAME_NOT_PERMITTED',
      'SANDBOX_DIFFERS',
    ] as const) {
      expect(new ApxsError(c, 'm').exitCode, c).toBe(2);
    }
    expect(new ApxsError('NOT_RUNNING', 'm').exitCode).toBe(3);
    expect(new ApxsError('INTERRUPTED', 'm').exitCode).toBe(130);
    expect(new ApxsError('LOCKED', 'm').exitCode).toBe(1);
    expect(new ApxsError('TESTS_FAILED', 'm').exitCode).toBe(1);
    expect(new ApxsError('INTERNAL', 'm').exitCode).toBe(1);
  });

  it('keeps code, message, hint, details, data and cause; the name is ApxsError', () => {
    const cause = new Error('root');
    const e = new ApxsError('LOCKED', 'msg', { hint: 'h', details: ['d'], data: { a: 1 }, cause });
    expect(e).toMatchObject({
      name: 'ApxsError',
      code: 'LOCKED',
      message: 'msg',
      hint: 'h',
      details: ['d'],
      data: { a: 1 },
      cause,
    });
    const bare = new ApxsError('LOCKED', 'msg');
    expect(bare.details).toEqual([]);
    expect(bare.hint).toBeUndefined();
    expect(bare.data).toBeUndefined();
    expect('cause' in bare).toBe(false);
  });

  it('isErrno: an Error with a string code, optionally that code', () => {
    expect(isErrno(errno('ENOENT'))).toBe(true);
    expect(isErrno(errno('ENOENT'), 'ENOENT')).toBe(true);
    expect(isErrno(errno('ENOENT'), 'EEXIST')).toBe(false);
    expect(isErrno({ code: 'ENOENT' })).toBe(false);
    expect(isErrno(Object.assign(new Error('x'), { code: 1 }))).toBe(false);
    expect(isErrno('ENOENT')).toBe(false);
  });

  it('permissionError: EACCES and EPERM name the path; others are not its', () => {
    for (const c of ['EACCES', 'EPERM']) {
      const e = permissionError('/p/f', errno(c))!;
      expect(e).toMatchObject({
        code: 'PERMISSION_DENIED',
        message: 'permission denied writing /p/f',
        hint: expect.stringContaining('sudo'),
      });
      expect(e.cause).toMatchObject({ code: c });
    }
    expect(permissionError('/p/f', errno('ENOENT'))).toBeUndefined();
  });

  it('fileError: each known errno gets its code, the path and a hint; unknown ones are left to the caller', () => {
    const cases: [string, string, RegExp][] = [
      ['EROFS', 'READ_ONLY', /^\/p\/f is on a read-only file system$/],
      ['ENOSPC', 'NO_SPACE', /^no space left on the device holding \/p\/f$/],
      ['EDQUOT', 'NO_SPACE', /^disk quota exceeded writing \/p\/f$/],
      ['EISDIR', 'BAD_INPUT', /^\/p\/f is a directory, not a file$/],
      ['ENOENT', 'NOT_FOUND', /^\/p\/f does not exist$/],
      ['ENOTDIR', 'NOT_FOUND', /^\/p\/f does not exist: a part of that path is a file/],
      ['EACCES', 'PERMISSION_DENIED', /^permission denied writing \/p\/f$/],
    ];
    for (const [c, code, msg] of cases) {
      const e = fileError('/p/f', errno(c))!;
      expect(e.code, c).toBe(code);
      expect(e.message, c).toMatch(msg);
      expect(e.hint, c).toBeTruthy();
      if (c !== 'EACCES') expect(e.data, c).toEqual({ path: '/p/f' });
    }
    expect(fileError('/p/f', errno('EBUSY'))).toBeUndefined();
    expect(fileError('/p/f', new Error('no code'))).toBeUndefined();
  });
});

describe('registry', () => {
  it('reads none before the first write; changes under its lock; writes only when different', async () => {
    const dir = await tmpDir('apxs-ts-registry-');
    const file = path.join(dir, 'deep', 'sandboxes.json');
    expect(await readRegistry(file)).toEqual([]);
    expect(await updateRegistry<string>(file, (e) => [...e, 'a'])).toEqual(['a']);
    expect(await fs.readFile(file, 'utf8')).toBe('{\n  "entries": [\n    "a"\n  ]\n}\n');
    const { mtimeMs, ino } = await fs.stat(file);
    await new Promise((r) => setTimeout(r, 20));
    expect(await updateRegistry<string>(file, (e) => e)).toEqual(['a']);
    const st = await fs.stat(file);
    expect([st.ino, st.mtimeMs]).toEqual([ino, mtimeMs]); // not rewritten
    expect((await fs.readdir(path.dirname(file))).sort()).toEqual(['sandboxes.json']);
  });

  it('8 concurrent updates lose none', async () => {
    const file = path.join(await tmpDir('apxs-ts-registry-'), 'r.json');
    await Promise.all(
      Array.from({ length: 8 }, (_, i) => updateRegistry<number>(file, (e) => [...e, i])),
    );
    expect((await readRegistry<number>(file)).sort()).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
  });

  it('a file without an entries array reads as none; bad JSON is an error naming the file', async () => {
    const dir = await tmpDir('apxs-ts-registry-');
    await fs.writeFile(path.join(dir, 'a.json'), '{"entries": {"x": 1}}');
    expect(await readRegistry(path.join(dir, 'a.json'))).toEqual([]);
    await fs.writeFile(path.join(dir, 'b.json'), '{');
    await expect(readRegistry(path.join(dir, 'b.json'))).rejects.toThrow(path.join(dir, 'b.json'));
  });

  it('a registry whose directory cannot be made is an error naming that directory', async () => {
    const dir = await tmpDir('apxs-ts-registry-');
    await fs.writeFile(path.join(dir, 'file'), '');
    await expect(
      updateRegistry(path.join(dir, 'file', 'sub', 'r.json'), (e) => e),
    ).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: expect.stringContaining(path.join(dir, 'file', 'sub')),
    });
  });
});

describe('templates', () => {
  it("templatesRoot is the package's templates/ from lib/core", () => {
    expect(templatesRoot()).toBe(path.join(ROOT, 'templates'));
  });

  it('fills every placeholder; one left over is a TEMPLATE error naming the file and the placeholder', () => {
    expect(fillPlaceholders('@@a@@-@@b@@ @@a@@ @x@ @@', { a: '1', b: '2' }, 'f')).toBe(
      '1-2 1 @x@ @@',
    );
    expect(() => fillPlaceholders('x @@nope@@ @@a@@', { a: '1' }, 'dir/f.c')).toThrow(
      expect.objectContaining({
        code: 'TEMPLATE',
        message: 'template dir/f.c has unknown placeholder @@nope@@',
        hint: expect.stringContaining('bug'),
      }),
    );
  });

  it('renders names and contents of nested dirs, keeps modes, later dirs win, sorted', async () => {
    const d = await tmpDir('apxs-ts-tmpl-');
    const a = path.join(d, 'a');
    const b = path.join(d, 'b');
    await fs.mkdir(path.join(a, 'sub'), { recursive: true });
    await fs.mkdir(b);
    await fs.writeFile(path.join(a, 'mod_@@name@@.c'), 'module @@name@@\n');
    await fs.writeFile(path.join(a, 'sub', 'run.sh'), '#!/bin/sh\necho @@name@@\n', {
      mode: 0o755,
    });
    await fs.chmod(path.join(a, 'sub', 'run.sh'), 0o755);
    await fs.writeFile(path.join(a, 'Makefile'), 'from a\n');
    await fs.writeFile(path.join(b, 'Makefile'), 'from b @@name@@\n');
    await fs.symlink('/etc/passwd', path.join(a, 'link'));
    const files = await renderTemplateDirs([a, b], { name: 'hello' });
    expect(files.map((f) => [f.rel, f.content.toString(), f.mode])).toEqual([
      ['Makefile', 'from b hello\n', 0o644],
      ['mod_hello.c', 'module hello\n', 0o644],
      [path.join('sub', 'run.sh'), '#!/bin/sh\necho hello\n', 0o755],
    ]);
    await fs.writeFile(path.join(b, '@@what@@'), '');
    await expect(renderTemplateDirs([b], { name: 'x' })).rejects.toMatchObject({
      code: 'TEMPLATE',
    });
  });
});

describe('run', () => {
  it('quotes only what the shell would split or expand', () => {
    expect(quoteArg('a-b_c.d/e@f%g+h=i:j,k')).toBe('a-b_c.d/e@f%g+h=i:j,k');
    expect(quoteArg('a b')).toBe(`'a b'`);
    expect(quoteArg(`it's`)).toBe(`'it'\\''s'`);
    expect(quoteArg('')).toBe(`''`);
    expect(quoteArg('$HOME')).toBe(`'$HOME'`);
    expect(commandLine('/bin/echo', ['a b', 'c'])).toBe(`/bin/echo 'a b' c`);
  });

  it('lastLines: the last n non-empty lines, trailing blank lines dropped', () => {
    expect(lastLines('a\nb\nc\n\n  \n', 2)).toEqual(['b', 'c']);
    expect(lastLines('a\n\nb', 5)).toEqual(['a', 'b']);
    expect(lastLines('', 3)).toEqual([]);
  });

  it('captures stdout, stderr, both in order, the exit code, input, cwd and env', async () => {
    const d = await tmpDir('apxs-ts-run-');
    const r = await runCapture(
      '/bin/sh',
      ['-c', 'echo out; echo err >&2; read x; echo "$x $FOO $(pwd)"; exit 3'],
      { input: 'in\n', cwd: d, env: { FOO: 'foo' } },
    );
    expect(r).toEqual({
      command: `/bin/sh -c 'echo out; echo err >&2; read x; echo "$x $FOO $(pwd)"; exit 3'`,
      exitCode: 3,
      stdout: `out\nin foo ${d}\n`,
      stderr: 'err\n',
      all: expect.any(String),
    });
    // Both streams in `all` (their order across two pipes is the kernel's).
    expect(r.all.split('\n').sort()).toEqual(['', 'err', `in foo ${d}`, 'out']);
    // The environment is the caller's plus `env`.
    process.env.APXS_TS_RUN_TEST = 'kept';
    expect((await runCapture('/bin/sh', ['-c', 'echo $APXS_TS_RUN_TEST'])).stdout).toBe('kept\n');
    expect(
      (await runCapture('/bin/sh', ['-c', 'echo $APXS_TS_RUN_TEST'], { env: { OTHER: '1' } }))
        .stdout,
    ).toBe('kept\n');
    delete process.env.APXS_TS_RUN_TEST;
  });

  it('a child killed by a signal is 128 + its number; a timeout kills it and says so', async () => {
    expect((await runCapture('/bin/sh', ['-c', 'kill -TERM $$'])).exitCode).toBe(143);
    const t = await runCapture('/bin/sh', ['-c', 'echo started; exec sleep 30'], {
      timeoutMs: 200,
    });
    expect(t.exitCode).toBe(137);
    expect(t.all).toBe('started\n\n[killed after 200 ms]');
    expect(t.stdout).toBe('started\n');
  });

  it('an abort signal kills the child', async () => {
    const ac = new AbortController();
    const p = runCapture('/bin/sh', ['-c', 'exec sleep 30']);
    const q = runCapture('/bin/sh', ['-c', 'exec sleep 30'], { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    expect((await q).exitCode).toBe(137);
    // Only the child given the signal: another one still runs until it ends.
    const other = await Promise.race([
      p.then(() => 'ended'),
      new Promise((r) => setTimeout(() => r('running'), 100)),
    ]);
    expect(other).toBe('running');
    const done = runCapture('/bin/true', []);
    expect((await done).exitCode).toBe(0);
  });

  it('a missing program is TOOL_MISSING naming it; one that cannot run is CHILD_FAILED', async () => {
    await expect(runCapture('/nonexistent/tool', [])).rejects.toMatchObject({
      code: 'TOOL_MISSING',
      message: '/nonexistent/tool not found',
      hint: 'install it, or check PATH',
    });
    const d = await tmpDir('apxs-ts-run-');
    await fs.writeFile(path.join(d, 'noexec'), 'x');
    await expect(runCapture(path.join(d, 'noexec'), ['a b'])).rejects.toMatchObject({
      code: 'CHILD_FAILED',
      message: expect.stringContaining(`${path.join(d, 'noexec')} 'a b' could not run: `),
    });
  });
});

describe('fs helpers', () => {
  it('exists, statOrUndefined, readTextIfAny, readDirIfAny: an answer, never a throw', async () => {
    const d = await tmpDir('apxs-ts-fsh-');
    await fs.writeFile(path.join(d, 'f'), 'text');
    expect(await fsh.exists(path.join(d, 'f'))).toBe(true);
    expect(await fsh.exists(path.join(d, 'nope'))).toBe(false);
    expect(fsh.statOrUndefined(path.join(d, 'f'))?.size).toBe(4);
    expect(fsh.statOrUndefined(path.join(d, 'f', 'x'))).toBeUndefined();
    expect(fsh.readTextIfAny(path.join(d, 'f'))).toBe('text');
    expect(fsh.readTextIfAny(d)).toBeUndefined();
    expect(fsh.readDirIfAny(d)).toEqual(['f']);
    expect(fsh.readDirIfAny(path.join(d, 'f'))).toEqual([]);
  });

  it('readTrustedJson: an object, or undefined for missing, torn, or non-object JSON', async () => {
    const d = await tmpDir('apxs-ts-fsh-');
    const f = path.join(d, 'c.json');
    expect(cache.readTrustedJson(f)).toBeUndefined();
    for (const [text, want] of [
      ['{"a":1}', { a: 1 }],
      ['[1]', [1]],
      ['{"a":', undefined],
      ['null', undefined],
      ['3', undefined],
      ['"s"', undefined],
    ] as const) {
      await fs.writeFile(f, text);
      expect(cache.readTrustedJson(f), text).toEqual(want);
    }
  });

  it('readJson: the value, undefined when missing, an error naming the file (with the code asked for) when not JSON', async () => {
    const d = await tmpDir('apxs-ts-fsh-');
    const f = path.join(d, 'x.json');
    expect(await fsh.readJson(f)).toBeUndefined();
    await fs.writeFile(f, '{"k": [1]}');
    expect(await fsh.readJson(f)).toEqual({ k: [1] });
    await fs.writeFile(f, '{oops');
    await expect(fsh.readJson(f)).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: expect.stringMatching(new RegExp(`^${f} is not valid JSON: `)),
      hint: `fix or remove ${f}`,
    });
    await expect(fsh.readJson(f, 'UNKNOWN_SERVER_ROOT')).rejects.toMatchObject({
      code: 'UNKNOWN_SERVER_ROOT',
    });
    await expect(fsh.readJson(d)).rejects.toMatchObject({ code: 'EISDIR' });
  });

  it('cacheDir: $XDG_CACHE_HOME, else $HOME/.cache, plus apxs-ts', () => {
    expect(cache.cacheDir({ XDG_CACHE_HOME: '/x', HOME: '/h' })).toBe('/x/apxs-ts');
    expect(cache.cacheDir({ XDG_CACHE_HOME: '', HOME: '/h' })).toBe('/h/.cache/apxs-ts');
    expect(cache.cacheDir({})).toMatch(/\/\.cache\/apxs-ts$/);
  });

  it('pathCandidates and which: PATH order, empty entries skipped, absolute names as they are', async () => {
    expect(fsh.pathCandidates(['cc', '/opt/x'], { PATH: '/a::/b' })).toEqual([
      '/a/cc',
      '/b/cc',
      '/opt/x',
    ]);
    expect(fsh.pathCandidates(['cc'], {})).toEqual([]);
    expect(await fsh.which(['no-such-tool-x', 'sh'], { PATH: '/nonexistent:/bin' })).toBe(
      '/bin/sh',
    );
    expect(await fsh.which(['no-such-tool-x'], { PATH: '/bin' })).toBeUndefined();
    expect(await fsh.firstExisting(['/nonexistent', '/bin', '/etc'])).toBe('/bin');
  });

  it('shortHash: 16 hex digits, stable, different for different keys', () => {
    expect(cache.shortHash('')).toMatch(/^[0-9a-f]{16}$/);
    expect(cache.shortHash('/srv/a')).toBe(cache.shortHash('/srv/a'));
    const seen = new Set(['/srv/a', '/srv/b', '/srv/ab', 'a', 'b', 'ba'].map(cache.shortHash));
    expect(seen.size).toBe(6);
    // Pinned: a cache written by one run must be found by the next (another hash would orphan every entry).
    expect([cache.shortHash('/srv/a'), cache.shortHash(''), cache.shortHash('apxs-ts')]).toEqual([
      'd4de449740384eb8',
      '811c9dc501000193',
      'dff0ade5209a32b8',
    ]);
  });

  it('escapeRegExp makes every special character literal', () => {
    const text = 'a.b*c+d?e^f$g{h}i(j)k|l[m]n\\o';
    expect(new RegExp(`^${fsh.escapeRegExp(text)}$`).test(text)).toBe(true);
    expect(new RegExp(`^${fsh.escapeRegExp('a.b')}$`).test('axb')).toBe(false);
  });

  it('firstGroup: the first candidate /etc/group names, else the fallback', async () => {
    const d = await tmpDir('apxs-ts-fsh-');
    const g = path.join(d, 'group');
    await fs.writeFile(g, 'root:x:0:\nwww-data:x:33:\nstaff:x:50:\n');
    expect(await fsh.firstGroup(['apache', 'www-data', 'staff'], 'nogroup', g)).toBe('www-data');
    expect(await fsh.firstGroup(['apache'], 'nogroup', g)).toBe('nogroup');
    expect(await fsh.firstGroup(['root'], 'nogroup', path.join(d, 'missing'))).toBe('nogroup');
  });
});
