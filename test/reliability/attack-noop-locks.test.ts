/**
 * Attacks on the "no-op runs take no lock" change (RELIABILITY.md, "Threat model: no-op runs
 * without a lock (attack)"): files planted where the lock-free paths look, and runs racing them.
 */
import { execFileSync, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { CLI, cli, freePort, tmpDir } from '../helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const roots: string[] = [];
afterEach(async () => {
  for (const sr of roots.splice(0)) await cli(['sandbox', 'remove', sr]);
});

const MARKER_TEMP_NAME = '.apxs-ts-sandbox.json.apxs-ts-123-abc.tmp';

describe('sandbox create beside a file named like the marker temp file', () => {
  it("a user's file named like the marker's temp (root's or nobody's, not a marker's bytes) is content: DIR_EXISTS, the file kept (2 owners x 2 rounds)", async () => {
    let runs = 0;
    for (const owner of ['root', 'nobody']) {
      for (let round = 0; round < 2; round++) {
        const work = await tmpDir('apxs-ts-atk2-sbtemp-');
        const root = path.join(work, 'mine');
        await fs.mkdir(root, { mode: 0o755 });
        const planted = path.join(root, MARKER_TEMP_NAME);
        await fs.writeFile(planted, 'my notes\n');
        if (owner === 'nobody') execFileSync('chown', ['nobody:nogroup', planted]);
        const port = String(await freePort());
        const r = await cli(['sandbox', 'create', root, '--port', port, '--no-project', '--json']);
        if (r.code === 0) roots.push(root);
        expect(r.json?.error?.code, `${owner} round ${round}: ${r.stdout}${r.stderr}`).toBe(
          'DIR_EXISTS',
        );
        expect(await fs.readFile(planted, 'utf8')).toBe('my notes\n');
        expect(await fs.readdir(root)).toEqual([MARKER_TEMP_NAME]);
        runs++;
      }
    }
    expect(runs).toBe(4);
  }, 120_000);

  it('a create through another path to the same directory (a symlink: another lock) never removes the marker temp of a create still running there (3 rounds)', async () => {
    let rounds = 0;
    for (let round = 0; round < 3; round++) {
      const work = await tmpDir('apxs-ts-atk2-sbalias-');
      const root = path.join(work, 'sb');
      const alias = path.join(work, 'alias');
      await fs.mkdir(root, { mode: 0o755 });
      await fs.symlink(root, alias);
      const mark = path.join(work, 'mark');
      const port = String(await freePort());
      const first = spawn(
        process.execPath,
        [CLI, 'sandbox', 'create', root, '--port', port, '--no-project', '--json'],
        {
          stdio: 'ignore',
          env: {
            ...process.env,
            APXS_TS_FAILPOINT: 'atomic:mid-write',
            APXS_TS_FAILPOINT_MARK: mark,
            APXS_TS_FAILPOINT_MODE: 'wait',
          },
        },
      );
      const exited = new Promise((resolve) => first.on('exit', resolve));
      while (!(await fs.readFile(mark, 'utf8').catch(() => ''))) await sleep(20);
      expect((await fs.readFile(mark, 'utf8')).trim()).toBe('atomic:mid-write');
      const [temp] = await fs.readdir(root);
      expect(temp).toMatch(/^\.apxs-ts-sandbox\.json\.apxs-ts-\d+-\w+\.tmp$/);
      const r = await cli(['sandbox', 'create', alias, '--port', port, '--no-project', '--json']);
      // Still running: its temp file is its own, not a leftover to remove.
      const left = await fs.readdir(root);
      first.kill('SIGKILL');
      await exited;
      if (r.code === 0) roots.push(alias);
      expect(left, `round ${round}: ${r.stdout}${r.stderr}`).toContain(temp);
      expect(r.json?.error?.code, `round ${round}`).toBe('DIR_EXISTS');
      rounds++;
    }
    expect(rounds).toBe(3);
  }, 120_000);
});

describe('sandbox create killed at each step, then run again', () => {
  const steps = [
    ...[1, 2, 3, 4].flatMap((n) => [`atomic:mid-write@${n}`, `atomic:before-rename@${n}`]),
    'sandbox-create:after-marker',
    ...[1, 2, 3].map((n) => `sandbox-create:after-file@${n}`),
  ];
  it(`kill -9 at each of ${steps.length} steps: the next create completes it (exit 0, configtest passes, no temp file left), a third says changed false, remove takes the directory away`, async () => {
    const work = await tmpDir('apxs-ts-atk2-sbkill-');
    let runs = 0;
    for (const step of steps) {
      const root = path.join(work, step.replace(/[^a-z0-9]/g, '_'));
      const mark = path.join(work, `${path.basename(root)}.mark`);
      const port = String(await freePort());
      const args = ['sandbox', 'create', root, '--port', port, '--no-project', '--json'];
      const killed = await cli(args, {
        env: { APXS_TS_FAILPOINT: step, APXS_TS_FAILPOINT_MARK: mark },
      });
      expect(killed.code, `${step}: ${killed.stdout}${killed.stderr}`).not.toBe(0);
      expect((await fs.readFile(mark, 'utf8')).trim()).toBe(step);
      const again = await cli(args);
      if (again.code === 0) roots.push(root);
      expect(again.code, `${step}: ${again.stdout}${again.stderr}`).toBe(0);
      const temps = (await fs.readdir(root, { recursive: true })).filter((e) =>
        /\.tmp$/.test(String(e)),
      );
      expect(temps, step).toEqual([]);
      expect((await cli(['ctl', 'configtest', '--server-root', root])).code, step).toBe(0);
      expect((await cli(args)).json.changed, step).toBe(false);
      roots.splice(roots.indexOf(root), 1);
      const removed = await cli(['sandbox', 'remove', root, '--json']);
      expect(removed.code, `${step}: ${removed.stdout}`).toBe(0);
      await expect(fs.lstat(root), step).rejects.toThrow();
      runs++;
    }
    expect(runs).toBe(steps.length);
  }, 300_000);
});
