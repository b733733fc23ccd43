/**
 * What `ctl status` writes: the listening-address cache (lib/ctl/listening.ts,
 * through lib/core/cache.ts writeCache and lib/core/atomic-file.ts
 * writeFileAtomic: a temp file renamed into place) and
 * nothing else (the launcher keeps no code cache), in the user's cache dir. With 8 concurrent
 * runs from an empty cache, every status is right and one whole entry is
 * left; with runs killed by failpoints (lib/core/failpoint.ts) in the middle
 * of the cache write (a torn temp file) and between the temp file and its
 * rename, the kill provably lands there (the mark file names the step), the
 * entry in place is absent or whole, and the next runs are right.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cli, newSandbox, tmpDir } from '../helpers.js';

const roots: string[] = [];
let sr: string;
let port: number;
let cache: string;

beforeAll(async () => {
  ({ sr, port } = await newSandbox(roots));
  cache = await tmpDir('apxs-ts-status-cache-');
  const r = await cli(['ctl', 'start', '--server-root', sr, '--json']);
  expect(r.code, r.stderr).toBe(0);
}, 60_000);
afterAll(async () => {
  for (const root of roots) await cli(['ctl', 'stop', '--server-root', root]);
});

const status = () =>
  cli(['ctl', 'status', '--server-root', sr, '--json'], { env: { XDG_CACHE_HOME: cache } });
const emptyCache = () => fs.rm(path.join(cache, 'apxs-ts'), { recursive: true, force: true });
const listeningOf = (text: string) =>
  Object.values((JSON.parse(text) as { value: { sockets: Record<string, string> } }).value.sockets);

/** The cache dir's files: each listening entry and code cache, and any temp file left by a killed run. */
async function leftovers(): Promise<{
  listening: string[];
  codeCaches: string[];
  temps: string[];
}> {
  const files = await fs.readdir(path.join(cache, 'apxs-ts')).catch(() => [] as string[]);
  return {
    listening: files.filter((f) => /^listening-[0-9a-f]+\.json$/.test(f)),
    codeCaches: files.filter((f) => /^code-cache-.*\.v8$/.test(f)),
    temps: files.filter((f) => f.endsWith('.tmp')),
  };
}

/** One `ctl status` killed by the failpoint `step`: the mark it wrote, and how it ended. */
async function killedAt(
  step: string,
): Promise<{ mark: string | undefined; signal: string | null }> {
  const mark = path.join(cache, `mark-${Math.random().toString(36).slice(2)}`);
  const child = spawn(process.execPath, [CLI, 'ctl', 'status', '--server-root', sr, '--json'], {
    stdio: 'ignore',
    env: {
      ...process.env,
      CI: 'true',
      XDG_CACHE_HOME: cache,
      APXS_TS_FAILPOINT: step,
      APXS_TS_FAILPOINT_MARK: mark,
    },
  });
  const signal = await new Promise<string | null>((r) =>
    child.once('exit', (_code, sig) => r(sig)),
  );
  const m = await fs.readFile(mark, 'utf8').catch(() => undefined);
  await fs.rm(mark, { force: true });
  return { mark: m?.trim(), signal };
}

describe('ctl status: its caches under concurrency and SIGKILL', () => {
  it('8 concurrent runs x 3 rounds, each round from an empty cache: all 24 right, one whole listening entry each round', async () => {
    let right = 0;
    for (let round = 0; round < 3; round++) {
      await emptyCache();
      const runs = await Promise.all(Array.from({ length: 8 }, status));
      for (const r of runs) {
        if (
          r.code === 0 &&
          JSON.stringify(r.json.listening) === JSON.stringify([`127.0.0.1:${port}`])
        )
          right++;
        else console.error(r.code, r.stdout, r.stderr);
      }
      const left = await leftovers();
      expect(left.listening, `round ${round}`).toHaveLength(1);
      expect(
        listeningOf(await fs.readFile(path.join(cache, 'apxs-ts', left.listening[0]!), 'utf8')),
      ).toEqual([`127.0.0.1:${port}`]);
      expect(left.temps, `round ${round}`).toEqual([]);
    }
    expect(right).toBe(24);
  }, 120_000);

  it('killed mid-write and before the rename (2 steps x 5 kills, 3 from an empty cache, 2 over an older entry): the kill lands there, the entry in place is absent or byte-identical, the next 3 runs are right', async () => {
    let kills = 0;
    for (const step of ['atomic:mid-write', 'atomic:before-rename']) {
      for (let i = 0; i < 5; i++) {
        // Rounds 0-2 start from an empty cache; 3-4 over an older entry (another
        // process's, so it is rewritten), which a killed write must leave byte for byte.
        await emptyCache();
        let older: { file: string; text: string } | undefined;
        if (i >= 3) {
          expect((await status()).code).toBe(0);
          const file = path.join(cache, 'apxs-ts', (await leftovers()).listening[0]!);
          const entry = JSON.parse(await fs.readFile(file, 'utf8'));
          const text = JSON.stringify({
            ...entry,
            value: { ...entry.value, process: '1 1 an-older-boot' },
          });
          await fs.writeFile(file, text);
          older = { file, text };
        }
        const k = await killedAt(step);
        expect(k, `${step} #${i}`).toEqual({ mark: step, signal: 'SIGKILL' });
        kills++;
        const left = await leftovers();
        // The kill left its temp file (torn, for mid-write) and never touched the entry in place.
        expect(left.temps, `${step} #${i}`).toHaveLength(1);
        if (older) expect(await fs.readFile(older.file, 'utf8')).toBe(older.text);
        else expect(left.listening).toEqual([]);
        if (step === 'atomic:mid-write') {
          const torn = await fs.readFile(path.join(cache, 'apxs-ts', left.temps[0]!), 'utf8');
          expect(() => JSON.parse(torn)).toThrow();
        }
        const after = await Promise.all(Array.from({ length: 3 }, status));
        expect(after.map((r) => [r.code, r.json?.listening])).toEqual(
          Array.from({ length: 3 }, () => [0, [`127.0.0.1:${port}`]]),
        );
        const entries = (await leftovers()).listening;
        expect(entries).toHaveLength(1);
        expect(
          listeningOf(await fs.readFile(path.join(cache, 'apxs-ts', entries[0]!), 'utf8')),
        ).toEqual([`127.0.0.1:${port}`]);
        // The killed run's temp is left (named .NAME.apxs-ts-PID-TIME.tmp, never read as an entry); remove it for the next round's count.
        for (const t of (await leftovers()).temps) {
          expect(t).toMatch(/^\.listening-[0-9a-f]+\.json\.apxs-ts-\d+-[0-9a-z]+\.tmp$/);
          await fs.rm(path.join(cache, 'apxs-ts', t));
        }
      }
    }
    expect(kills).toBe(10);
    // The launcher writes no V8 code cache (bin/apxs-ts.js requires the bundle plainly).
    expect((await leftovers()).codeCaches).toEqual([]);
  }, 180_000);
});
