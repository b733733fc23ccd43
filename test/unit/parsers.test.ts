/** Pure parsers, tested as tables. */
import { describe, expect, it } from 'vitest';
import { parseDepFile } from '../../lib/module/compile.js';
import { explainHttpdOutput, parseHttpdErrors } from '../../lib/httpd/configtest.js';
import {
  findSpaceIndentedRecipes,
  fixSpaceIndentedRecipes,
} from '../../lib/module/makefile-lint.js';
import { parseModuleName } from '../../lib/module/names.js';
import { healthUrlFor, parseListen } from '../../lib/httpd/server-info.js';
import { parseConfigVars } from '../../lib/module/toolchain.js';
import { parsePort } from '../../lib/core/ports.js';
import { releasesBySeries } from '../../lib/source/release-list.js';
import { namesAFile, releaseVersionOf } from '../../lib/source/verify-release.js';
import { releasesFrom } from '../../lib/source/versions.js';

describe('parseModuleName', () => {
  it.each([
    ['info', 'info', 'mod_info', 'info_module'],
    ['mod_info', 'info', 'mod_info', 'info_module'],
    ['Hello_2', 'Hello_2', 'mod_Hello_2', 'Hello_2_module'],
  ])('%s', (input, name, stem, symbol) => {
    expect(parseModuleName(input)).toEqual({ name, stem, symbol });
  });
  it.each([
    ['../x', /path separator/],
    ['foo-bar', /only letters/],
    ['', /it is empty/],
    ['mod_', /it is empty/],
    ['9lives', /start with a letter/],
    ['a b', /whitespace/],
    ['x\n', /whitespace/],
    ['a'.repeat(64), /longer than 63/],
  ])('rejects %j', (input, why) => {
    expect(() => parseModuleName(input)).toThrow(why);
  });
});

describe('makefile lint', () => {
  it.each([
    ['all:\n    echo hi\n', [2]],
    ['all:\n\techo hi\n', []],
    ['X = 1\n    Y = 2\n', []], // an indented assignment outside a rule is legal
    ['all: dep\n\techo a \\\n    continued\n', []], // continuation lines may use spaces
    ['ifeq ($(A),1)\n  B = 2\nendif\nall:\n  ifdef C\n\techo c\n  endif\n', []],
    ['define X\n    echo in define\nendef\nall:\n\t@true\n', []],
    ['a: b\n\n  cmd\n', [3]],
    ['a:\n\tcmd\nX := 1\n  cmd\n', []], // assignment ended the rule
    ['a::\n  cmd\n', [2]],
    ['.RECIPEPREFIX = >\na:\n>  cmd\n', []],
    ['%.o: %.c\n        $(CC) -c $<\n', [2]],
    ['all:\n    echo a:b\n', [2]], // a command with a colon is still a command
    ['all:\n\techo\n  clean:\n  rm x\n', [4]],
  ])('%j', (text, lines) => {
    expect(findSpaceIndentedRecipes(text).map((f) => f.line)).toEqual(lines);
  });
  it('fix changes only the leading whitespace of flagged lines, keeping CRLF and the missing final newline', () => {
    const text = '# c\r\nall:\r\n  \t echo  a\r\n\techo b\r\n  no-final-newline:\r\n   x';
    const { text: out, fixed } = fixSpaceIndentedRecipes(text);
    expect(fixed.map((f) => f.line)).toEqual([3, 6]);
    expect(out).toBe('# c\r\nall:\r\n\techo  a\r\n\techo b\r\n  no-final-newline:\r\n\tx');
  });
});

describe('parseDepFile', () => {
  it('reads gcc -MMD output with continuations and escaped spaces', () => {
    const d =
      'mod.so: /src/mod.c /usr/include/apache2/httpd.h \\\n  /usr/include/apr-1.0/apr.h my\\ dir/x.h\n';
    expect(parseDepFile(d, '/src')).toEqual([
      '/src/mod.c',
      '/usr/include/apache2/httpd.h',
      '/usr/include/apr-1.0/apr.h',
      '/src/my dir/x.h',
    ]);
  });
});

describe('parseConfigVars', () => {
  it('expands $(VAR) references as make would', () => {
    const v = parseConfigVars(
      'prefix = /opt/httpd\nincludedir = $(prefix)/include\nINCLUDEDIR = $(includedir)\nCC = gcc\n',
    );
    expect(v.INCLUDEDIR).toBe('/opt/httpd/include');
    expect(v.CC).toBe('gcc');
  });
});

describe('Listen and health URL', () => {
  it.each([
    ['8080', undefined, 'http://127.0.0.1:8080/'],
    ['127.0.0.1:8080', undefined, 'http://127.0.0.1:8080/'],
    ['localhost:8080', undefined, 'http://localhost:8080/'],
    ['0.0.0.0:80', undefined, 'http://127.0.0.1:80/'],
    ['[::1]:8443', 'https', 'https://[::1]:8443/'],
    ['[::]:8080', undefined, 'http://[::1]:8080/'],
    ['443', undefined, 'https://127.0.0.1:443/'],
  ])('Listen %s %s', (arg, proto, url) => {
    expect(healthUrlFor(parseListen(arg, proto)!)).toBe(url);
  });
  it.each(['0', '65536', 'abc', '80x', '-1'])('rejects port %j', (p) => {
    expect(() => parsePort(p)).toThrow(/bad port/);
  });
});

describe('httpd output', () => {
  it('pulls file and line of a syntax error', () => {
    const out =
      "AH00526: Syntax error on line 42 of /srv/conf/httpd.conf:\nInvalid command 'Foo', perhaps misspelled or defined by a module not included in the server configuration\n";
    expect(parseHttpdErrors(out)).toEqual([
      {
        file: '/srv/conf/httpd.conf',
        line: 42,
        message:
          "Invalid command 'Foo', perhaps misspelled or defined by a module not included in the server configuration",
      },
    ]);
    expect(explainHttpdOutput(out).join('\n')).toMatch(/"Foo" is not a directive httpd knows/);
  });
  it.each([
    [
      "AH00558: apache2: Could not reliably determine the server's fully qualified domain name",
      /ServerName localhost/,
    ],
    [
      'AH00548: NameVirtualHost has no effect and will be removed in the next release /x:3',
      /does nothing since httpd 2\.4/,
    ],
    ['[warn] NameVirtualHost *:80 has no VirtualHosts', /no <VirtualHost> uses exactly \*:80/],
    [
      '[warn] _default_ VirtualHost overlap on port 80, the first has precedence\nmixing * ports and non-* ports with a NameVirtualHost address is not supported, proceeding with undefined results',
      /cannot mix/,
    ],
    [
      'httpd: Syntax error on line 3 of /c: Cannot load modules/mod_x.so into server: modules/mod_x.so: undefined symbol: _ZdlPv',
      /linked with the C\+\+ compiler/,
    ],
  ])('explains %j', (out, re) => {
    expect(explainHttpdOutput(out).join('\n')).toMatch(re);
  });
});

describe('source list: releasesBySeries', () => {
  it('each version once, from the first mirror that lists it; series newest first, empty series left out', () => {
    const listings = [
      {
        mirror: 'https://a/',
        releases: releasesFrom(['httpd-2.4.68.tar.gz', 'httpd-2.4.66.tar.bz2']),
      },
      {
        mirror: 'https://b/',
        releases: releasesFrom([
          'httpd-2.4.68.tar.gz',
          'httpd-2.2.34.tar.gz',
          'apache_1.3.42.tar.gz',
        ]),
      },
    ];
    const { releases, series } = releasesBySeries(listings);
    expect(releases.map((r) => `${r.version}@${r.mirror}`).sort()).toEqual([
      '1.3.42@https://b/',
      '2.2.34@https://b/',
      '2.4.66@https://a/',
      '2.4.68@https://a/',
    ]);
    expect(series.map((s) => s.series)).toEqual(['2.4', '2.2', '1.3']);
    expect(series[0]!.versions.sort()).toEqual(['2.4.66', '2.4.68']);
    expect(releasesBySeries([])).toEqual({ releases: [], series: [] });
  });
});

describe('source verify: a file or a version', () => {
  it.each([
    ['2.4.68', false, undefined],
    ['latest', false, undefined],
    ['httpd-2.4.68.tar.gz', true, '2.4.68'],
    ['./dl/httpd-2.2.34.tar.bz2', true, '2.2.34'],
    ['/tmp/apache_1.3.42.tar.gz', true, '1.3.42'],
    ['/tmp/my-build.tar.gz', true, undefined],
    ['httpd-2.4.68.zip', false, undefined],
  ])('%s: file %s, version %s', (what, file, version) => {
    expect(namesAFile(what)).toBe(file);
    expect(releaseVersionOf(what)).toBe(version);
  });
});
