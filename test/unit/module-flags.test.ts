/** The module's build flags (lib/module/flags.ts) and the ldd reader (lib/module/symbols.ts), as tables. */
import { describe, expect, it } from 'vitest';
import {
  flagsOfOptions,
  flagWords,
  mergeFlags,
  noFlags,
  renderMk,
} from '../../lib/module/flags.js';
import { parseLdd } from '../../lib/module/symbols.js';

describe('flagsOfOptions', () => {
  it('keeps directories relative to the module directory, from wherever they were typed', () => {
    expect(
      flagsOfOptions({ include: ['mod_x/include', '/opt/inc'], libDir: ['.'] }, '/w', '/w/mod_x'),
    ).toEqual({
      includes: ['include', '/opt/inc'],
      libDirs: ['..'],
    });
  });
  it.each([
    [['c,-O0'], { cflags: ['-O0'] }],
    [['l,-rdynamic'], { ldflags: ['-rdynamic'] }],
    // A comma-separated flag is the linker's own, as gcc's -Wl, means it.
    [['l,-z,now'], { ldflags: ['-Wl,-z,now'] }],
    [['l,-Wl,-z,now'], { ldflags: ['-Wl,-z,now'] }],
    [['c,-DA=1,2'], { cflags: ['-DA=1,2'] }],
  ])('-W%j', (W, out) => {
    expect(flagsOfOptions({ W }, '/w', '/w')).toEqual(out);
  });
  it.each([
    [{ W: ['x,-O0'] }, /-Wc,FLAG passes FLAG to the compiler/],
    [{ W: ['c,'] }, /-Wc,FLAG/],
    [{ define: ['1X=2'] }, /a macro name comes first/],
    [{ define: ['A=\n'] }, /bad flag value "A=/],
    [{ lib: [''] }, /bad flag value/],
  ])('refuses %j', (o, why) => {
    expect(() => flagsOfOptions(o, '/w', '/w')).toThrow(why);
  });
  it('takes -l with or without its -l', () => {
    expect(flagsOfOptions({ lib: ['z', '-lm'] }, '/w', '/w')).toEqual({ libs: ['z', 'm'] });
  });
});

describe('mergeFlags', () => {
  it('a -D replaces the saved one of its name; other flags are appended once', () => {
    const saved = { ...noFlags(), defines: ['GREETING="hi"', 'DEBUG'], libs: ['z'] };
    expect(mergeFlags(saved, { defines: ['GREETING="bye"'], libs: ['z', 'm', 'm'] })).toEqual({
      ...noFlags(),
      defines: ['DEBUG', 'GREETING="bye"'],
      libs: ['z', 'm'],
    });
  });
});

describe('flagWords', () => {
  const f = {
    includes: ['inc'],
    defines: ['G="hi"'],
    libDirs: ['/opt/lib'],
    libs: ['z'],
    cflags: ['-O0'],
    ldflags: ['-Wl,-z,defs'],
  };
  it("puts the module's flags before the environment's, and libraries after the objects", () => {
    const w = flagWords(f, {
      CPPFLAGS: '-DCPP',
      CFLAGS: '-g  -O1',
      LDFLAGS: '-Wl,-O1',
      LIBS: '-lm',
    });
    expect(w.compile(false)).toEqual(['-Iinc', '-DG="hi"', '-O0', '-DCPP', '-g', '-O1']);
    expect(w.link).toEqual(['-L/opt/lib', '-Wl,-z,defs', '-Wl,-O1']);
    expect(w.libs).toEqual(['-lz', '-lm']);
  });
  it('C++ takes CXXFLAGS when set, else CFLAGS', () => {
    expect(flagWords(noFlags(), { CFLAGS: '-g', CXXFLAGS: '-O3' }).compile(true)).toEqual(['-O3']);
    expect(flagWords(noFlags(), { CFLAGS: '-g' }).compile(true)).toEqual(['-g']);
    expect(flagWords(noFlags(), { CFLAGS: '-g', CXXFLAGS: '' }).compile(true)).toEqual([]);
  });
});

describe('renderMk', () => {
  it('quotes each word for sh and escapes $ and # for make', () => {
    const text = renderMk(
      { ...noFlags(), defines: ['G="hi"', 'H=$HOME', 'N=#1'], libs: ['z'], libDirs: ['my libs'] },
      ['a.c', 'b c.c'],
    );
    expect(text.split('\n').slice(2)).toEqual([
      "APXS_TS_SOURCES = a.c 'b c.c'",
      `APXS_TS_CFLAGS = '-DG="hi"' '-DH=$$HOME' '-DN=\\#1'`,
      "APXS_TS_LDFLAGS = '-Lmy libs'",
      'APXS_TS_LIBS = -lz',
      '',
    ]);
  });
});

describe('parseLdd', () => {
  it('reads sonames, paths, the loader and what was not found', () => {
    const out = [
      '\tlinux-vdso.so.1 (0x00007ffd4a5f2000)',
      '\tlibz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x00007f0e60d63000)',
      '\tlibfoo.so.2 => not found',
      '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f0e60b15000)',
      '\t/lib64/ld-linux-x86-64.so.2 (0x00007f0e60ec8000)',
    ].join('\n');
    const r = parseLdd(out);
    expect([...r.libs]).toEqual([
      ['libz.so.1', '/lib/x86_64-linux-gnu/libz.so.1'],
      ['libc.so.6', '/lib/x86_64-linux-gnu/libc.so.6'],
      ['ld-linux-x86-64.so.2', '/lib64/ld-linux-x86-64.so.2'],
    ]);
    expect(r.missing).toEqual(['libfoo.so.2']);
  });
});
