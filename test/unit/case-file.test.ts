/**
 * The case-file parser of `apxs-ts test` (lib/testing/case-file.ts): good
 * files become the cases they say; every bad file is refused with each
 * mistake named as file:line, so a newcomer finds the line to fix.
 */
import { describe, expect, it } from 'vitest';
import { parseCaseFile, satisfies, type CaseFile } from '../../lib/testing/case-file.js';

const F = 't/hello.yaml';

function errorsOf(src: string): string[] {
  try {
    parseCaseFile(src, F);
  } catch (err) {
    expect((err as { code: string }).code).toBe('BAD_CASE_FILE');
    expect((err as { exitCode: number }).exitCode).toBe(2);
    return (err as { details: string[] }).details;
  }
  throw new Error('expected the file to be refused');
}

describe('good case files', () => {
  it('a full case: request, status, headers, body matchers, error log expectations', () => {
    const f: CaseFile = parseCaseFile(
      [
        'config: |',
        '  <Location /x>',
        '    SetHandler x',
        '  </Location>',
        'vhosts:',
        '  - name: one.test',
        '    config: "Header set X-One 1"',
        'cases:',
        '  - name: says hello',
        '    request:',
        '      method: POST',
        '      path: /hello?a=1',
        '      host: one.test',
        '      headers: { X-Token: abc }',
        '      body: "k=v"',
        '    expect:',
        '      status: 200',
        '      headers:',
        '        Content-Type: { contains: text/plain }',
        '        X-Gone: ~',
        '      body: [{ contains: Hello }, { matches: "^Hello from" }]',
        '      errorLog: [handling declined, { matches: "AH\\\\d+" }]',
        '      noErrorLog: [segfault]',
        '      waitMs: 500',
        '  - name: short form',
        '    request: /hello',
        '    expect: { body: "Hello\\n" }',
      ].join('\n'),
      F,
    );
    expect(f.config).toBe('<Location /x>\n  SetHandler x\n</Location>\n');
    expect(f.vhosts).toEqual([{ name: 'one.test', config: 'Header set X-One 1', where: `${F}:6` }]);
    expect(f.cases.map((c) => [c.name, c.where])).toEqual([
      ['says hello', `${F}:9`],
      ['short form', `${F}:25`],
    ]);
    const [a, b] = f.cases as [CaseFile['cases'][0], CaseFile['cases'][0]];
    expect(a.request).toEqual({
      method: 'POST',
      path: '/hello?a=1',
      host: 'one.test',
      headers: { 'X-Token': 'abc' },
      body: 'k=v',
    });
    expect(a.expect.status).toBe(200);
    expect(a.expect.headers).toEqual({
      'content-type': { contains: 'text/plain' },
      'x-gone': null,
    });
    expect(a.expect.body.map((m) => satisfies(m, 'Hello from mod_x'))).toEqual([true, true]);
    expect(a.expect.body.map((m) => satisfies(m, 'Oh, Hello'))).toEqual([true, false]);
    expect(
      a.expect.errorLog.map((m) => satisfies(m, '[debug] AH01234: handling declined')),
    ).toEqual([true, true]);
    expect(a.expect.noErrorLog).toEqual([{ contains: 'segfault' }]);
    expect(a.expect.waitMs).toBe(500);
    expect(b.request).toEqual({
      method: 'GET',
      path: '/hello',
      host: undefined,
      headers: {},
      body: undefined,
    });
    expect(b.expect.body).toEqual([{ equals: 'Hello\n' }]);
    expect(b.expect.waitMs).toBe(2000);
    // a plain body text means the whole body
    expect(satisfies(b.expect.body[0]!, 'Hello\nmore')).toBe(false);
  });
});

describe('bad case files: every mistake named by file:line', () => {
  const rows: [string, string[], RegExp[]][] = [
    ['YAML syntax', ['cases:', '  - name: a', '    request: [/x'], [/^t\/hello\.yaml:3: /]],
    [
      'a typo in a key',
      ['cases:', '  - name: a', '    request: /x', '    expect:', '      stauts: 200'],
      [/^t\/hello\.yaml:5: unknown key "stauts" in expect/],
    ],
    [
      'status not a number',
      ['cases:', '  - name: a', '    request: /x', '    expect: { status: ok }'],
      [/^t\/hello\.yaml:4: status must be a whole number from 100 to 599, not "ok"/],
    ],
    ['no cases', ['config: x'], [/^t\/hello\.yaml:1: no cases/]],
    [
      'empty cases',
      ['cases: []'],
      [/^t\/hello\.yaml:1: cases must be a list of at least one case/],
    ],
    [
      'a case without a request or name',
      ['cases:', '  - expect: { status: 200 }'],
      [/:2: a case needs a name/, /:2: a case needs a request/],
    ],
    [
      'an expect that asserts nothing',
      ['cases:', '  - name: a', '    request: /x', '    expect: {}'],
      [/:4: expect asserts nothing/],
    ],
    [
      'a bad regex',
      ['cases:', '  - name: a', '    request: /x', '    expect:', '      body: { matches: "(" }'],
      [/:5: bad regular expression/],
    ],
    [
      'two matcher kinds at once',
      [
        'cases:',
        '  - name: a',
        '    request: /x',
        '    expect:',
        '      body: { equals: a, contains: b }',
      ],
      [/:5: body: give exactly one of equals, contains, matches/],
    ],
    [
      'a path without a slash',
      ['cases:', '  - name: a', '    request: { path: hello }', '    expect: { status: 200 }'],
      [/:3: path must start with \//],
    ],
    [
      'a lower-case method',
      [
        'cases:',
        '  - name: a',
        '    request: { method: get, path: /x }',
        '    expect: { status: 200 }',
      ],
      [/:3: method must be an HTTP method/],
    ],
    [
      'a header with a newline',
      [
        'cases:',
        '  - name: a',
        '    request:',
        '      path: /x',
        '      headers:',
        '        X-A: "a\\nb"',
        '    expect: { status: 200 }',
      ],
      [/:6: header X-A must be one line/],
    ],
    [
      'a duplicate case name',
      [
        'cases:',
        '  - name: a',
        '    request: /x',
        '    expect: { status: 200 }',
        '  - name: a',
        '    request: /y',
        '    expect: { status: 200 }',
      ],
      [/:5: case name "a" is used twice \(first at t\/hello\.yaml:2\)/],
    ],
    [
      'a bad vhost name',
      [
        'vhosts:',
        '  - name: "bad name"',
        'cases:',
        '  - name: a',
        '    request: /x',
        '    expect: { status: 200 }',
      ],
      [/:2: vhost name must be a host name/],
    ],
    [
      'waitMs out of range',
      [
        'cases:',
        '  - name: a',
        '    request: /x',
        '    expect: { errorLog: [x], waitMs: 99999999 }',
      ],
      [/:4: waitMs must be a whole number from 0 to 60000/],
    ],
    [
      'two mistakes in two cases',
      [
        'cases:',
        '  - name: a',
        '    request: /x',
        '    expect: { status: 999 }',
        '  - name: b',
        '    request: /y',
        '    expect: { bdy: x }',
      ],
      [/:4: status must be/, /:7: unknown key "bdy"/],
    ],
    ['the top is a list', ['- a', '- b'], [/:1: the case file must be a mapping/]],
  ];
  it.each(rows)('%s', (_what, lines, want) => {
    const errs = errorsOf(lines.join('\n'));
    expect(errs).toHaveLength(want.length);
    want.forEach((re, i) => {
      expect(errs[i]).toMatch(re);
    });
  });
});
