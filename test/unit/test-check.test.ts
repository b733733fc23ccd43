/**
 * The pieces of `apxs-ts test` that judge and order cases, without httpd:
 * the severe-line and child-signal patterns on real lines of each series,
 * the body diff, the verdict of checkCase, the seeded order, --order, and
 * the vhost lines of each dialect.
 */
import { describe, expect, it } from 'vitest';
import { parseCaseFile } from '../../lib/testing/case-file.js';
import { checkCase, childSignal, lineDiff } from '../../lib/testing/check.js';
import type { HttpResult } from '../../lib/testing/http.js';
import { SEVERE_LINE } from '../../lib/testing/log-window.js';
import { parseOrder, seededShuffle } from '../../lib/testing/run.js';
import { vhostLines } from '../../lib/testing/server.js';

const L24_SEGV =
  '[Thu Dec 03 09:43:59.123 2026] [core:notice] [pid 100:tid 100] AH00052: child pid 4242 exit signal Segmentation fault (11)';
const L22_SEGV =
  '[Thu Dec 03 09:43:59 2026] [notice] child pid 4242 exit signal Segmentation fault (11), possible coredump in /tmp';
const L13_SEGV =
  '[Thu Dec  3 09:43:59 2026] [notice] child pid 4242 exit signal Segmentation fault (11)';
const L13_ABRT = '[Thu Dec  3 09:43:59 2026] [notice] child pid 4243 exit signal Aborted (6)';

describe('log patterns', () => {
  it("a child's death by a signal, as 2.4, 2.2 and 1.3 write it", () => {
    expect([L24_SEGV, L22_SEGV, L13_SEGV, L13_ABRT].map(childSignal)).toEqual([
      'Segmentation fault (11)',
      'Segmentation fault (11)',
      'Segmentation fault (11)',
      'Aborted (6)',
    ]);
    expect(childSignal('[notice] child pid 4242 exit status 0')).toBeUndefined();
  });

  it("[error] and worse in 2.4's [module:level] and the older [level] form; not warn, notice, debug", () => {
    const yes = [
      '[x] [core:error] [pid 1] AH1: a',
      '[x] [:crit] [pid 1] b',
      '[x] [alert] c',
      '[x] [emerg] d',
      '[x] [mod_x.c:error] e',
    ];
    const no = [
      '[x] [core:warn] a',
      '[x] [notice] b',
      '[x] [:debug] c error',
      '[x] [authz_core:debug] [client 1] AH01626: error',
    ];
    expect(yes.map((l) => SEVERE_LINE.test(l))).toEqual(yes.map(() => true));
    expect(no.map((l) => SEVERE_LINE.test(l))).toEqual(no.map(() => false));
  });
});

describe('lineDiff', () => {
  it('keeps the common head and tail as context, shows the middle as - and +', () => {
    expect(lineDiff('a\nb\nc\nd\n', 'a\nb\nX\nd\n')).toEqual([
      '  a',
      '  b',
      '- c',
      '+ X',
      '  d',
      '  ',
    ]);
    expect(lineDiff('fine, thanks\n', 'fine\n')).toEqual(['- fine, thanks', '+ fine', '  ']);
    expect(lineDiff('tab\there', 'x')).toEqual(['- tab\\there', '+ x']);
  });
});

describe('checkCase', () => {
  const [c] = parseCaseFile(
    [
      'cases:',
      '  - name: a',
      '    request: /x',
      '    expect: { status: 200, headers: { X-Gone: ~, Content-Type: text/plain }, body: "ok\\n", errorLog: [expected error], noErrorLog: [forbidden] }',
    ].join('\n'),
    'f.yaml',
  ).cases;
  const res = (over: Partial<HttpResult> = {}): HttpResult => ({
    status: 200,
    headers: { 'content-type': 'text/plain' },
    body: 'ok\n',
    error: undefined,
    ms: 1,
    ...over,
  });

  it('passes when everything holds; an expected [error] line is no failure', () => {
    expect(checkCase(c!, res(), ['[x] [m:error] an expected error here'])).toEqual([]);
  });

  it('names each thing that did not hold', () => {
    const f = checkCase(c!, res({ status: 500, headers: { 'x-gone': '1' }, body: 'no\n' }), [
      '[x] [m:error] other',
      L24_SEGV,
      '[x] [notice] forbidden word',
    ]);
    expect(f.map((x) => x.what)).toEqual([
      'status',
      'header x-gone',
      'header content-type',
      'body',
      'errorLog',
      'noErrorLog',
      'unexpected log line',
      'child signal',
    ]);
    expect(f.find((x) => x.what === 'body')!.diff).toEqual(['- ok', '+ no', '  ']);
  });

  it('no response is a failure of its own', () => {
    expect(
      checkCase(c!, res({ status: undefined, error: 'no response: ECONNRESET', body: '' }), [
        'expected error',
      ]).map((x) => x.what),
    ).toEqual(['no response', 'status', 'body']);
  });
});

describe('order and vhosts', () => {
  it('the same seed gives the same order; another seed another; every item once', () => {
    const items = Array.from({ length: 20 }, (_, i) => i);
    expect(seededShuffle(items, 42)).toEqual(seededShuffle(items, 42));
    expect(seededShuffle(items, 42)).not.toEqual(seededShuffle(items, 43));
    expect([...seededShuffle(items, 7)].sort((a, b) => a - b)).toEqual(items);
  });

  it('--order: file, random (a seed drawn), random:SEED; anything else is exit 2', () => {
    expect(parseOrder(undefined)).toBeUndefined();
    expect(parseOrder('file')).toBeUndefined();
    expect(parseOrder('random:42')).toBe(42);
    expect(typeof parseOrder('random')).toBe('number');
    for (const bad of ['shuffle', 'random:', 'random:-1', 'random:99999999999'])
      expect(() => parseOrder(bad), bad).toThrow(expect.objectContaining({ code: 'BAD_INPUT' }));
  });

  it('vhosts: a default vhost first; NameVirtualHost only where the dialect needs it', () => {
    const v = [{ name: 'one.test', config: 'Header set A 1', where: 'f:1' }];
    expect(vhostLines(v, 8080, true)).toEqual([
      'NameVirtualHost *:8080',
      '<VirtualHost *:8080>',
      '    ServerName localhost',
      '</VirtualHost>',
      '<VirtualHost *:8080>',
      '    ServerName one.test',
      '    Header set A 1',
      '</VirtualHost>',
    ]);
    expect(vhostLines(v, 8080, false)[0]).toBe('<VirtualHost *:8080>');
    expect(vhostLines([], 8080, true)).toEqual([]);
  });
});

describe('junitReport', () => {
  it('counts per suite and in all; escapes markup and the control characters XML cannot hold', async () => {
    const { junitReport } = await import('../../lib/testing/report.js');
    const base = {
      file: 'f.yaml',
      where: 'f.yaml:2',
      target: '2.4.71',
      iteration: 1,
      ms: 5,
      request: { method: 'GET', path: '/x', host: undefined, headers: {}, body: undefined },
      response: null,
      log: [],
      root: null,
    };
    const xml = junitReport({
      module: 'mod_x',
      targets: [],
      seed: null,
      kept: [],
      ms: 10,
      passed: 1,
      failed: 1,
      total: 2,
      cases: [
        { ...base, name: 'ok', ok: true, failures: [] },
        {
          ...base,
          name: 'bad <one>',
          ok: false,
          failures: [{ what: 'body', expected: 'equals "a"', actual: '"\u0001 & <b>"' }],
        },
      ],
    });
    expect(xml).toContain('<testsuites name="apxs-ts test mod_x" tests="2" failures="1"');
    expect(xml).toContain('<testsuite name="f.yaml [2.4.71]" tests="2" failures="1"');
    expect(xml).toContain('name="bad &lt;one&gt;"');
    expect(xml).toContain('\\x01 &amp; &lt;b&gt;');
    expect(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/.test(xml)).toBe(false);
  });
});
