/**
 * kill -9 of `apxs-ts test` (#20): no handler runs, so the run's servers
 * keep running and its temp roots stay. The next `apxs-ts test` (another
 * module directory, the same cache dir) finds the roots whose owning run is
 * dead (lib/testing/owned-roots.ts), stops their httpd through ctl and
 * deletes them (and forgets records whose directory was never made): N
 * kills at each failpoint, then one run: 0 httpd and 0
 * roots left. A root a live run owns, and a directory whose token does not
 * match its record, are not touched.
 */
import { execFileSync, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, type CliResult, cli, tmpDir } from '../helpers.js';

let work: string;
let cacheEnv: Record<string, string>;
let modA: string;
let modB: string;

/**
 * Why a run failed: under --json its error (a failed case's words too) is the object on stdout,
 * and stderr is empty; a run that died of a signal says which.
 */
const why = (r: CliResult) =>
  [`signal: ${r.signal ?? 'none'}`, `stderr: ${r.stderr}`, `stdout: ${r.stdout}`].join('\n');

const rootsIn = async (tmp: string) =>
  (await fs.readdir(tmp)).filter((n) => n.startsWith('apxs-ts-testroot-'));
function httpdsUnder(dir: string): number[] {
  const out: number[] = [];
  for (const line of execFileSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).split('\n')) {
    const m = /^\s*(\d+)\s+(.*)$/.exec(line);
    if (m && m[2]!.includes(dir) && /httpd|apache2/.test(m[2]!)) out.push(Number(m[1]));
  }
  return out;
}

beforeAll(async () => {
  work = await tmpDir('apxs-ts-atk20kill-');
  cacheEnv = { XDG_CACHE_HOME: path.join(work, 'cache') };
  for (const n of ['ka', 'kb']) {
    const r = await cli(['new', n, '--template', 'hello', '--dir', work], { env: cacheEnv });
    expect(r.code, why(r)).toBe(0);
    // Two case files: two servers at once in each run.
    await fs.copyFile(
      path.join(work, `mod_${n}`, 'tests', `${n}.yaml`),
      path.join(work, `mod_${n}`, 'tests', `${n}2.yaml`),
    );
  }
  modA = path.join(work, 'mod_ka');
  modB = path.join(work, 'mod_kb');
}, 60_000);
const tmps: string[] = [];
afterAll(async () => {
  for (const p of [work, ...tmps].flatMap(httpdsUnder))
    try {
      process.kill(p, 'SIGKILL');
    } catch {
      /* gone */
    }
  for (const d of [work, ...tmps]) await fs.rm(d, { recursive: true, force: true });
});

const FAILPOINTS = [
  'test:after-record',
  'test:after-root-created',
  'test:after-start',
  'test:mid-cases',
  'test:before-delete',
];
const KILLS = 3;

describe('kill -9 of apxs-ts test at any step', () => {
  it(`${KILLS} kills at each of ${FAILPOINTS.length} failpoints, then one run in another module dir: 0 httpd and 0 roots left`, async () => {
    const tmp = await tmpDir('apxs-ts-atk20killtmp-');
    tmps.push(tmp);
    const lines: string[] = [];
    let leftRoots = 0;
    for (const fp of FAILPOINTS) {
      for (let k = 0; k < KILLS; k++) {
        const mark = path.join(work, `mark-${fp.replace(':', '-')}-${k}`);
        const r = await cli(['test', modA, '--jobs', '2'], {
          env: { ...cacheEnv, TMPDIR: tmp, APXS_TS_FAILPOINT: fp, APXS_TS_FAILPOINT_MARK: mark },
          timeoutMs: 120_000,
        });
        expect(r.code, `${fp}: ${r.stderr}`).not.toBe(0);
        expect((await fs.readFile(mark, 'utf8')).trim()).toBe(fp);
        // Each kill after the first is a run too: it swept what the kill before it left, so count now.
        const roots = await rootsIn(tmp);
        lines.push(
          `${fp} #${k}: ${roots.length} roots, ${httpdsUnder(tmp).length} httpd after the kill`,
        );
        leftRoots = roots.length;
      }
    }
    expect(leftRoots, lines.join('\n')).toBeGreaterThan(0);
    expect(
      lines.some((l) => !/ 0 httpd/.test(l)),
      lines.join('\n'),
    ).toBe(true);
    const r = await cli(['test', modB, '--json'], {
      env: { ...cacheEnv, TMPDIR: tmp },
      timeoutMs: 120_000,
    });
    expect(r.code, why(r)).toBe(0);
    expect(r.json?.swept?.length, lines.join('\n')).toBe(leftRoots);
    await new Promise((res) => setTimeout(res, 300));
    expect(await rootsIn(tmp), lines.join('\n')).toEqual([]);
    expect(httpdsUnder(tmp), lines.join('\n')).toEqual([]);
    // The record of a run killed before its directory existed is gone too.
    expect(await fs.readdir(path.join(work, 'cache', 'apxs-ts', 'test-roots'))).toEqual([]);
  }, 600_000);

  it("a live run's roots and servers are not swept by another run; a recorded directory without its token is not deleted", {
    timeout: 300_000,
  }, async () => {
    const tmp = await tmpDir('apxs-ts-atk20livetmp-');
    tmps.push(tmp);
    // A forged record: a dead owner (pid 1's start ticks never match "0"), a directory holding other files.
    const forged = path.join(tmp, 'apxs-ts-testroot-forged000001');
    await fs.mkdir(forged);
    await fs.writeFile(path.join(forged, 'precious'), 'x');
    await fs.writeFile(path.join(forged, 'apxs-ts-test-owner'), 'another-token\n');
    const recDir = path.join(work, 'cache', 'apxs-ts', 'test-roots');
    await fs.mkdir(recDir, { recursive: true });
    const boot = (await fs.readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
    const ns = await fs.readlink('/proc/self/ns/pid');
    await fs.writeFile(
      path.join(recDir, 'apxs-ts-testroot-forged000001.json'),
      JSON.stringify({
        dir: forged,
        pid: 1,
        start: '0',
        boot,
        pidns: ns,
        token: 'the-record-token',
      }),
    );
    // A live run held at its first case's server start (the failpoint waits instead of killing).
    // --jobs 1: with two files at once the second server could still be starting when the first
    // reaches the failpoint (its parent forked, its child not yet), so the httpd processes counted
    // below grew by themselves (caught under load: 3 before, 4 after). One file at a time, the run
    // stops with exactly one server, fully started, and nothing else of it.
    const mark = path.join(work, 'mark-live');
    const live = spawn(process.execPath, [CLI, 'test', modA, '--jobs', '1'], {
      env: {
        ...process.env,
        ...cacheEnv,
        TMPDIR: tmp,
        APXS_TS_FAILPOINT: 'test:after-start',
        APXS_TS_FAILPOINT_MODE: 'wait',
        APXS_TS_FAILPOINT_MARK: mark,
      },
      stdio: 'ignore',
    });
    try {
      for (
        let i = 0;
        i < 600 &&
        !(await fs.stat(mark).then(
          () => true,
          () => false,
        ));
        i++
      )
        await new Promise((res) => setTimeout(res, 100));
      const before = await rootsIn(tmp);
      const httpdsBefore = httpdsUnder(tmp).sort();
      expect(before.length).toBe(2); // the live run's one root and the forged one
      expect(httpdsBefore.length).toBeGreaterThan(0);
      const r = await cli(['test', modB, '--json'], {
        env: { ...cacheEnv, TMPDIR: tmp },
        timeoutMs: 120_000,
      });
      expect(r.code, why(r)).toBe(0);
      expect(r.json?.swept).toEqual([]);
      expect((await rootsIn(tmp)).sort()).toEqual(before.sort());
      // The very same processes: none stopped, none of the other run's left.
      expect(httpdsUnder(tmp).sort()).toEqual(httpdsBefore);
      expect(await fs.readFile(path.join(forged, 'precious'), 'utf8')).toBe('x');
    } finally {
      live.kill('SIGKILL');
    }
    // Its owner is dead, and reaped (a zombie keeps its start ticks, so its run would still look
    // alive): the next run sweeps the live run's roots, not the forged one.
    if (live.exitCode === null && live.signalCode === null)
      await new Promise((res) => live.once('exit', res));
    const r2 = await cli(['test', modB, '--json'], {
      env: { ...cacheEnv, TMPDIR: tmp },
      timeoutMs: 120_000,
    });
    expect(r2.code, why(r2)).toBe(0);
    expect(r2.json?.swept?.length).toBeGreaterThan(0);
    expect(await rootsIn(tmp)).toEqual(['apxs-ts-testroot-forged000001']);
    expect(httpdsUnder(tmp)).toEqual([]);
  });
});
