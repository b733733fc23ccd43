/**
 * Two `apxs-ts test` runs in one module directory at once (#20 attacks):
 * both build (the source changed before every round, so neither may skip
 * the build), both install and run; neither deletes or rebuilds under the
 * other (builds take turns on the .so's lock, each server gets its own copy
 * of the .so; the sweep of dead runs' roots leaves a live run's alone).
 * 5 rounds x 2 runs: 10 of 10 exit 0, no root, httpd or temp .so left.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, tmpDir } from '../helpers.js';

let work: string;
let mod: string;
let cacheEnv: Record<string, string>;
beforeAll(async () => {
  work = await tmpDir('apxs-ts-atk20two-');
  cacheEnv = { XDG_CACHE_HOME: path.join(work, 'cache') };
  const n = await cli(['new', 'tw', '--template', 'hello', '--dir', work], { env: cacheEnv });
  expect(n.code, n.stderr).toBe(0);
  mod = path.join(work, 'mod_tw');
  await fs.copyFile(path.join(mod, 'tests', 'tw.yaml'), path.join(mod, 'tests', 'tw2.yaml'));
}, 60_000);
const made: string[] = [];
afterAll(async () => {
  for (const d of [work, ...made]) await fs.rm(d, { recursive: true, force: true });
});

const ROUNDS = 5;

describe('two runs in one module directory at once', () => {
  it(`${ROUNDS} rounds x 2 runs, the source changed before each round: 0 failures, nothing left`, {
    timeout: 900_000,
  }, async () => {
    const tmp = await tmpDir('apxs-ts-atk20twotmp-');
    made.push(tmp);
    const src = path.join(mod, 'mod_tw.c');
    const outcomes: string[] = [];
    const failures: string[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      await fs.appendFile(src, `\n/* round ${round} */\n`);
      const runs = await Promise.all(
        [0, 1].map(() =>
          cli(['test', mod, '--json'], { env: { ...cacheEnv, TMPDIR: tmp }, timeoutMs: 180_000 }),
        ),
      );
      for (const [i, r] of runs.entries()) {
        outcomes.push(
          `round ${round} run ${i}: exit ${r.code} ${r.json?.error?.code ?? ''} ${r.json?.passed ?? '-'}/${r.json?.total ?? '-'}`,
        );
        // A failed run's reason beside its line: its failed cases' words, or its signal or stderr.
        if (r.code !== 0)
          failures.push(
            `round ${round} run ${i}: signal ${r.signal ?? 'none'}; ${r.stderr}`,
            ...((r.json?.cases ?? []) as { ok: boolean; name: string; failures: unknown[] }[])
              .filter((c) => !c.ok)
              .map((c) => `  ${c.name}: ${JSON.stringify(c.failures)}`),
          );
      }
    }
    const failed = outcomes.filter((o) => !/exit 0 {2}6\/6$/.test(o));
    expect(failed, [...outcomes, ...failures].join('\n')).toEqual([]);
    expect((await fs.readdir(tmp)).filter((n) => n.startsWith('apxs-ts-testroot-'))).toEqual([]);
    expect(
      execFileSync('ps', ['-eo', 'args='], { encoding: 'utf8' })
        .split('\n')
        .filter((l) => l.includes(tmp)),
    ).toEqual([]);
    expect(
      (await fs.readdir(mod)).filter((n) => n.endsWith('.tmp') || n.endsWith('.lock')),
    ).toEqual([]);
  });
});
