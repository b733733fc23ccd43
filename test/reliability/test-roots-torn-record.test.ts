/**
 * A run of `apxs-ts test` killed while it writes a root's record (lib/testing/owned-roots.ts)
 * leaves the atomic writer's temp file in the records dir: with two case files at once, a kill -9
 * that lands while the other file makes its root does exactly that (caught under load by
 * test/e2e/test-command-kill.test.ts: `.apxs-ts-testroot-X.json.apxs-ts-PID-T.tmp` left after
 * the sweeping run). The next sweep removes a dead writer's temp file and keeps a live writer's.
 * Real kills at the writer's own failpoint (atomic:mid-write), in child processes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tmpDir } from '../helpers.js';

const OWNED = path.resolve(__dirname, '../../dist/lib/testing/owned-roots.js');
const MAKE = 'require(process.argv[1]).makeOwnedRoot(process.argv[2]).then(() => process.exit(0))';
const SWEEP =
  'require(process.argv[1]).sweepDeadRoots().then((s) => console.log(JSON.stringify(s)))';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

function node(
  script: string,
  args: string[],
  env: Record<string, string>,
): { child: ChildProcess; done: Promise<{ code: number | null; signal: string | null }> } {
  const child = spawn(process.execPath, ['-e', script, OWNED, ...args], {
    env: { ...process.env, ...env },
    stdio: 'ignore',
  });
  const done = new Promise<{ code: number | null; signal: string | null }>((res) =>
    child.on('exit', (code, signal) => res({ code, signal })),
  );
  return { child, done };
}

const exists = (f: string) =>
  fs.stat(f).then(
    () => true,
    () => false,
  );

describe("a record's temp file left by a killed writer", () => {
  const title =
    "3 writers killed mid-write: the sweep removes their 3 temp files, keeps a live writer's";
  it(title, async () => {
    const work = await tmpDir('apxs-ts-tornrec-');
    dirs.push(work);
    const cache = { XDG_CACHE_HOME: path.join(work, 'cache') };
    const records = path.join(work, 'cache', 'apxs-ts', 'test-roots');
    const temps = async () =>
      (await fs.readdir(records)).filter((n) => /^\.apxs-ts-testroot-.*\.tmp$/.test(n)).sort();
    const KILLED = 3;
    for (let k = 0; k < KILLED; k++) {
      const mark = path.join(work, `mark-${k}`);
      const r = await node(MAKE, [work], {
        ...cache,
        APXS_TS_FAILPOINT: 'atomic:mid-write',
        APXS_TS_FAILPOINT_MARK: mark,
      }).done;
      expect(r.signal).toBe('SIGKILL');
      expect((await fs.readFile(mark, 'utf8')).trim()).toBe('atomic:mid-write');
    }
    const dead = await temps();
    expect(dead).toHaveLength(KILLED);
    // A writer still at work (held mid-write): its temp file is not the sweep's.
    const liveMark = path.join(work, 'mark-live');
    const live = node(MAKE, [work], {
      ...cache,
      APXS_TS_FAILPOINT: 'atomic:mid-write',
      APXS_TS_FAILPOINT_MODE: 'wait',
      APXS_TS_FAILPOINT_MARK: liveMark,
    });
    try {
      for (let i = 0; i < 600 && !(await exists(liveMark)); i++)
        await new Promise((res) => setTimeout(res, 100));
      const liveTemp = (await temps()).filter((n) => !dead.includes(n));
      expect(liveTemp).toHaveLength(1);
      expect((await node(SWEEP, [], cache).done).code).toBe(0);
      expect(await temps()).toEqual(liveTemp);
    } finally {
      live.child.kill('SIGKILL');
      await live.done;
    }
    // Its writer dead too now: the next sweep removes it.
    expect((await node(SWEEP, [], cache).done).code).toBe(0);
    expect(await temps()).toEqual([]);
  });
});
