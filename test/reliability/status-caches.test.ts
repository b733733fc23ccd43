/**
 * What `ctl status` writes: the listening-address cache (lib/ctl/listening.ts)
 * and the launcher's V8 code cache, both in the user's cache dir, both
 * written as a temp file renamed into place. With 8 concurrent runs, and
 * with runs killed with SIGKILL at any instant, every status is right and
 * what is left behind is either absent or whole.
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

const status = () => cli(['ctl', 'status', '--server-root', sr, '--json'], { env: { XDG_CACHE_HOME: cache } });

/** The cache dir's files: each listening entry and code cache, and any temp file left by a killed run. */
async function leftovers(): Promise<{ listening: string[]; codeCaches: string[]; temps: string[] }> {
  const files = await fs.readdir(path.join(cache, 'apxs-ts')).catch(() => [] as string[]);
  return {
    listening: files.filter((f) => /^listening-[0-9a-f]+\.json$/.test(f)),
    codeCaches: files.filter((f) => /^code-cache-.*\.v8$/.test(f)),
    temps: files.filter((f) => f.endsWith('.tmp')),
  };
}

describe('ctl status: its caches under concurrency and SIGKILL', () => {
  it('8 concurrent runs x 3 rounds, from an empty cache: all 24 right, one whole listening entry', async () => {
    let right = 0;
    for (let round = 0; round < 3; round++) {
      const runs = await Promise.all(Array.from({ length: 8 }, status));
      for (const r of runs) {
        if (r.code === 0 && JSON.stringify(r.json.listening) === JSON.stringify([`127.0.0.1:${port}`])) right++;
        else console.error(r.code, r.stdout, r.stderr);
      }
    }
    expect(right).toBe(24);
    const left = await leftovers();
    expect(left.listening).toHaveLength(1);
    const entry = JSON.parse(await fs.readFile(path.join(cache, 'apxs-ts', left.listening[0]!), 'utf8'));
    expect(Object.values(entry.sockets)).toEqual([`127.0.0.1:${port}`]);
    expect(left.temps).toEqual([]);
  }, 120_000);

  it('20 runs killed with SIGKILL at 0-120 ms, then 5 runs: all 5 right; every cache file left parses or is recomputed', async () => {
    await fs.rm(path.join(cache, 'apxs-ts'), { recursive: true, force: true });
    for (let i = 0; i < 20; i++) {
      const child = spawn(process.execPath, [CLI, 'ctl', 'status', '--server-root', sr, '--json'], {
        stdio: 'ignore', env: { ...process.env, CI: 'true', XDG_CACHE_HOME: cache },
      });
      const exited = new Promise((r) => child.once('exit', r));
      await new Promise((r) => setTimeout(r, (i * 6) % 120));
      child.kill('SIGKILL'); // a run that finished first is simply not killed
      await exited;
    }
    const after = await Promise.all(Array.from({ length: 5 }, status));
    expect(after.map((r) => [r.code, r.json?.listening])).toEqual(Array.from({ length: 5 }, () => [0, [`127.0.0.1:${port}`]]));
    const left = await leftovers();
    for (const f of left.listening) {
      const entry = JSON.parse(await fs.readFile(path.join(cache, 'apxs-ts', f), 'utf8'));
      expect(Object.values(entry.sockets)).toEqual([`127.0.0.1:${port}`]);
    }
    // A temp file a killed run left is never read (names end in .tmp) and never taken for a cache.
    for (const t of left.temps) expect(t).toMatch(/\.\d+\.tmp$/);
    expect(left.codeCaches.length).toBeGreaterThan(0);
  }, 120_000);
});
