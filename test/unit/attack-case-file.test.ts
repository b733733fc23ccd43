/**
 * Hostile case files (#20 attacks): whatever a case file holds is either a
 * BAD_CASE_FILE naming file:line (exit 2, nothing run) or a request node
 * sends as written. Before: control characters (NUL, DEL, \x01) or
 * characters beyond Latin-1 in a header value or the path passed the
 * parser, and node's http refused them mid-run: the whole run ended with
 * "Invalid character in header content" and no file:line.
 */
import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { ApxsError } from '../../lib/core/errors.js';
import { parseCaseFile } from '../../lib/testing/case-file.js';
import { sendRequest } from '../../lib/testing/http.js';

const oneCase = (request: string) =>
  `cases:\n  - name: x\n    request: ${request}\n    expect: { status: 200 }\n`;

function mistakes(text: string): string[] {
  try {
    parseCaseFile(text, 'c.yaml');
  } catch (e) {
    if (e instanceof ApxsError && e.code === 'BAD_CASE_FILE') return e.details;
    throw e;
  }
  return [];
}

/** Every request a hostile file may carry; each is refused with c.yaml:3. */
const HOSTILE: [string, string][] = [
  ['a NUL in a header value', '{ path: /hi, headers: { X-A: "a\\x00b" } }'],
  ['DEL and \\x01 in a header value', '{ path: /hi, headers: { X-A: "a\\x7fb\\x01" } }'],
  ['a character beyond Latin-1 in a header value', '{ path: /hi, headers: { X-A: "€" } }'],
  ['a NUL in a Host header', '{ path: /hi, headers: { Host: "a\\x00b" } }'],
  ['a space in a Host header', '{ path: /hi, headers: { Host: "a b" } }'],
  ['a NUL in the path', '{ path: "/hi\\x00x" }'],
  ['a tab in the path', '{ path: "/hi\\tx" }'],
  ['a character beyond Latin-1 in the path', '{ path: "/€" }'],
  ['CR LF in the path (request smuggling)', '{ path: "/hi\\r\\nX-Injected: 1" }'],
  ['CR LF in a header value', '{ path: /hi, headers: { X-A: "a\\r\\nX-B: c" } }'],
];

describe('hostile requests in a case file', () => {
  it.each(HOSTILE)('%s: BAD_CASE_FILE at c.yaml:3', (_what, request) => {
    const m = mistakes(oneCase(request));
    expect(m.length).toBe(1);
    expect(m[0]).toMatch(/^c\.yaml:3: /);
  });

  it('every request the parser accepts from a printable set is one node sends (no throw): 6 of 6 answered', async () => {
    const server = http.createServer((req, res) =>
      res.end(`${req.url} ${req.headers['x-a'] ?? ''}`),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    try {
      const ok = [
        '{ path: /hi, headers: { X-A: "a\\tb ~" } }',
        '{ path: "/h%C3%A9" }',
        '{ path: "/hé" }',
        '{ path: /hi, headers: { X-A: "é" } }',
        '{ path: "/a/../b" }',
        '{ path: "/x?y=1&z" }',
      ];
      for (const r of ok) {
        const f = parseCaseFile(oneCase(r), 'c.yaml');
        const res = await sendRequest(port, f.cases[0]!.request, { timeoutMs: 5000 });
        expect(res.error, r).toBeUndefined();
        // Sent and answered (node's own server answers a raw Latin-1 byte in a path with 400: its judgment, not a throw).
        expect(res.status, r).toBeTypeOf('number');
      }
    } finally {
      server.close();
    }
  });

  it('a request node refuses anyway is an answer with an error, never a throw out of the run', async () => {
    const res = await sendRequest(
      1,
      { method: 'GET', path: '/a\u0000', host: undefined, headers: {}, body: undefined },
      { timeoutMs: 1000 },
    );
    expect(res.error).toMatch(/no request sent/);
  });

  it.each([
    ['a backreference', '(a|a)*\\\\1b'],
    ['a lookahead', '(?=a)(a+)+$'],
    ['a lookbehind', '(?<=x)(a+)+$'],
    ['a named backreference', '(?<n>a+)+\\\\k<n>'],
  ])(
    'a `matches` with %s (no linear-time engine for it): BAD_CASE_FILE at c.yaml:4',
    (_what, source) => {
      const m = mistakes(
        `cases:\n  - name: x\n    request: /hi\n    expect: { body: { matches: "${source}" } }\n`,
      );
      expect(m.length, m.join('\n')).toBe(1);
      expect(m[0]).toMatch(/^c\.yaml:4: regular expression .* needs backtracking/);
    },
  );
});
