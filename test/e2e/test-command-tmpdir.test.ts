/**
 * A hostile TMPDIR for `apxs-ts test` (#20 attacks): its path is written
 * into each throwaway root's httpd config, and its directory holds them.
 * `${HOME}` (httpd expands it), a quote, a backslash or a line break in it
 * is BAD_INPUT (exit 2) before anything runs; a TMPDIR every user can write
 * (not sticky: another user could swap a root for theirs) is UNSAFE_CONFIG
 * (exit 2). Before: each was one "server did not start" failure per case
 * (exit 1), blaming the module's cases. A space in it works.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, tmpDir } from '../helpers.js';

let work: string;
let cacheEnv: Record<string, string>;
beforeAll(async () => {
  work = await tmpDir('apxs-ts-atk20tmpdir-');
  cacheEnv = { XDG_CACHE_HOME: path.join(work, 'cache') };
  const n = await cli(['new', 'td', '--template', 'hello', '--dir', work], { env: cacheEnv });
  expect(n.code, n.stderr).toBe(0);
}, 60_000);
afterAll(async () => {
  await fs.rm(work, { recursive: true, force: true });
});

describe('a hostile TMPDIR', () => {
  it('${HOME}, a quote, a backslash, a line break: 4 of 4 BAD_INPUT exit 2, nothing made; every user can write it: UNSAFE_CONFIG exit 2; a space: passes', async () => {
    const outcomes: string[] = [];
    const run = async (name: string, mode = 0o755) => {
      const d = path.join(work, name);
      await fs.mkdir(d, { recursive: true });
      await fs.chmod(d, mode);
      const r = await cli(['test', path.join(work, 'mod_td'), '--json'], {
        env: { ...cacheEnv, TMPDIR: d },
        timeoutMs: 120_000,
      });
      outcomes.push(
        `${JSON.stringify(name)}: exit ${r.code} ${r.json?.error?.code ?? 'ok'} left=${(await fs.readdir(d)).length}`,
      );
      return r;
    };
    for (const name of ['x${HOME}y', 'q"q', 'b\\b', 'n\nl']) {
      const r = await run(name);
      expect(r.code, outcomes.join('\n')).toBe(2);
      expect(r.json?.error?.code, outcomes.join('\n')).toBe('BAD_INPUT');
    }
    const ww = await run('everyone', 0o777);
    expect(ww.code, outcomes.join('\n')).toBe(2);
    expect(ww.json?.error?.code).toBe('UNSAFE_CONFIG');
    const sp = await run('a space');
    expect(sp.code, outcomes.join('\n') + sp.stderr).toBe(0);
    expect(
      outcomes.every((o) => o.endsWith('left=0')),
      outcomes.join('\n'),
    ).toBe(true);
  }, 300_000);
});
