/**
 * A `matches` that backtracks catastrophically (#20 attacks): `^(([\w ,:]+)+)+!$`
 * against a response's Date header (29 characters, no `!`) takes hours with
 * a backtracking engine (18 characters: 11 s, ~8x per 2 more), and blocks the CLI's one thread (its
 * Ctrl-C handler and every server's stop with it). Case file expressions
 * run on V8's linear-time engine: the case fails at once, exit 1, nothing
 * left. Before: the run was still busy when killed at 60 s, its servers running.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, tmpDir } from '../helpers.js';

let work: string;
let cacheEnv: Record<string, string>;
beforeAll(async () => {
  work = await tmpDir('apxs-ts-atk20redos-');
  cacheEnv = { XDG_CACHE_HOME: path.join(work, 'cache') };
  const n = await cli(['new', 'rd', '--template', 'hello', '--dir', work], { env: cacheEnv });
  expect(n.code, n.stderr).toBe(0);
  await fs.writeFile(
    path.join(work, 'mod_rd', 'tests', 'rd.yaml'),
    [
      'cases:',
      '  - name: catastrophic header regex',
      '    request: /rd',
      '    expect:',
      '      status: 200',
      '      headers: { Date: { matches: "^(([\\\\w ,:]+)+)+!$" } }',
      '  - name: catastrophic body regex',
      '    request: /rd',
      '    expect: { body: { matches: "^(([\\\\w ]+)+)+!$" } }',
      '',
    ].join('\n'),
  );
}, 60_000);
const made: string[] = [];
afterAll(async () => {
  for (const d of [work, ...made]) await fs.rm(d, { recursive: true, force: true });
});

describe('a catastrophically backtracking `matches`', () => {
  it('fails its case at once (linear-time engine): exit 1, both cases reported, no root or httpd left', async () => {
    const tmp = await tmpDir('apxs-ts-atk20redostmp-');
    made.push(tmp);
    const r = await cli(['test', path.join(work, 'mod_rd'), '--json'], {
      env: { ...cacheEnv, TMPDIR: tmp },
      timeoutMs: 60_000,
    });
    try {
      expect(r.killed, 'still running at 60 s').toBe(false);
      expect(r.code, r.stderr).toBe(1);
      expect(
        r.json?.cases?.map((c: { name: string; ok: boolean }) => `${c.name}: ${c.ok}`),
      ).toEqual(['catastrophic header regex: false', 'catastrophic body regex: false']);
    } finally {
      // Left by a run killed at the timeout (before the fix): the next run sweeps them.
      if (r.killed)
        await cli(['test', path.join(work, 'mod_rd'), '--file', path.join(work, 'none.yaml')], {
          env: { ...cacheEnv, TMPDIR: tmp },
          timeoutMs: 60_000,
        });
    }
    expect((await fs.readdir(tmp)).filter((n) => n.startsWith('apxs-ts-testroot-'))).toEqual([]);
    expect(
      execFileSync('ps', ['-eo', 'args='], { encoding: 'utf8' })
        .split('\n')
        .filter((l) => l.includes(tmp)),
    ).toEqual([]);
  }, 180_000);
});
