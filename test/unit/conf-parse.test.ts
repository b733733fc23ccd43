/** The config reader on syntax corner cases (httpd's shipped configs: test/e2e/shipped-configs.test.ts). */
import { describe, expect, it } from 'vitest';
import { parseConf, splitArgs } from '../../lib/httpd/conf-parse.js';

describe('syntax corners', () => {
  it.each([
    ['a b c', ['a', 'b', 'c']],
    ['"a b" c', ['a b', 'c']],
    ['"say \\"hi\\"" x', ['say "hi"', 'x']],
    ["'single quoted' x", ['single quoted', 'x']],
    ['  spaced\t\ttabs  ', ['spaced', 'tabs']],
    ['"unterminated', ['unterminated']],
  ])('splitArgs %j', (text, args) => {
    expect(splitArgs(text)).toEqual(args);
  });

  it('joins continuation lines, keeps line numbers, ignores # only at line start', () => {
    const text =
      'ServerName a.dd\r\nAlias /x \\\r\n   "/var/www/with space" \r\n  # a comment\r\nHeader set X "a # not a comment"\r\n<VirtualHost *:80>\r\n</virtualhost>\r\n';
    const p = parseConf(text);
    expect(p.eol).toBe('\r\n');
    expect(p.directives.map((d) => [d.name, d.args, d.line, d.endLine])).toEqual([
      ['ServerName', ['a.dd'], 1, 1],
      ['Alias', ['/x', '/var/www/with space'], 2, 3],
      ['Header', ['set', 'X', 'a # not a comment'], 5, 5],
      ['VirtualHost', ['*:80'], 6, 6],
      ['virtualhost', [], 7, 7],
    ]);
    expect(p.errors).toEqual([]);
  });

  it('reports unbalanced sections as httpd would', () => {
    expect(parseConf('<Directory />\n').errors).toEqual([
      { line: 1, message: '<Directory> was not closed' },
    ]);
    expect(parseConf('</Location>\n').errors[0]!.message).toMatch(
      /without matching <Location> section/,
    );
    expect(parseConf('<VirtualHost *:80\n</VirtualHost>\n').errors[0]!.message).toMatch(
      /missing closing '>'/,
    );
  });
});
