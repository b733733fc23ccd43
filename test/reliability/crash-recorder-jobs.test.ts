/**
 * Two starts in ONE process at once, with no crash recorder built yet (the
 * first `apxs-ts test --jobs 2` on a new cache dir): both build it. Its temp
 * name was the process's pid alone, so both compilers wrote the same file:
 * one start renamed the other's (maybe half-written) .so into place, and the
 * other's chmod then found nothing and it started its server without the
 * recorder ("the crash recorder could not be built: ENOENT"; 2 of 8 fresh
 * two-file runs; 2 of 5 rounds here). Now the starts of one process share
 * one build, whose temp name is its own. N rounds, each on a new cache dir:
 * every start gets the recorder, no warning, a complete ELF file, no temp
 * file left.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { withCrashCapture } from '../../lib/ctl/crash-capture.js';
import type { ServerRoot } from '../../lib/httpd/server-root.js';
import { tmpDir } from '../helpers.js';

const ROUNDS = 10;
const made: string[] = [];
const savedCache = process.env.XDG_CACHE_HOME;
afterAll(async () => {
  if (savedCache === undefined) delete process.env.XDG_CACHE_HOME;
  else process.env.XDG_CACHE_HOME = savedCache;
  for (const d of made) await fs.rm(d, { recursive: true, force: true });
});

/** What withCrashCapture reads of a root: its state dir and its httpd. */
function rootIn(dir: string): ServerRoot {
  return { httpd: '/usr/sbin/apache2', stateDir: path.join(dir, '.apxs-ts') } as ServerRoot;
}

describe('the crash recorder, built by two starts of one process at once', () => {
  it(`${ROUNDS} rounds x 2 starts on a new cache dir: 2 of 2 get it each round`, async () => {
    const outcomes: string[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const work = await tmpDir('apxs-ts-recjobs-');
      made.push(work);
      process.env.XDG_CACHE_HOME = path.join(work, 'cache');
      const cmd = { file: '/usr/sbin/apache2', args: ['-k', 'start'], env: {} };
      const starts = await Promise.all(
        ['a', 'b'].map(async (n) => {
          await fs.mkdir(path.join(work, n, '.apxs-ts'), { recursive: true });
          return withCrashCapture(rootIn(path.join(work, n)), cmd, undefined, 0);
        }),
      );
      const crashCache = path.join(work, 'cache', 'apxs-ts', 'crash');
      const left = await fs.readdir(crashCache);
      const sos = left.filter((f) => f.endsWith('.so'));
      for (const [i, s] of starts.entries()) {
        const preload = s.cmd.env.LD_PRELOAD ?? '';
        outcomes.push(
          `round ${round} start ${i}: preload ${preload ? path.basename(preload) : 'none'}; ` +
            `warnings ${JSON.stringify(s.warnings)}`,
        );
      }
      outcomes.push(`round ${round}: ${left.join(' ')}`);
      expect(sos, outcomes.join('\n')).toHaveLength(1);
      const elf = await fs.readFile(path.join(crashCache, sos[0]!));
      expect(elf.subarray(0, 4).toString('latin1'), outcomes.join('\n')).toBe('\x7fELF');
      expect(left, outcomes.join('\n')).toEqual(sos);
    }
    const bad = outcomes.filter((o) => /preload none|warnings \["/.test(o));
    expect(bad, outcomes.join('\n')).toEqual([]);
  }, 120_000);
});
