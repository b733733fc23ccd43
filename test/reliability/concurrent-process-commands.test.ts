/**
 * Eight writers at once on the process commands: `ctl start` on one server
 * root, `sandbox create` of one directory with the same settings, and with
 * eight different ports. Each round counts outcomes: one httpd master, one
 * sandbox made, the others told it is there (changed false) or that it was
 * made otherwise (SANDBOX_DIFFERS, exit 2); no apxs-ts left running, no lock
 * or temp file left, the config's bytes as they were.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { procInfo } from '../../lib/core/proc.js';
import { processesOf } from '../../lib/ctl/identity.js';
import {
  CLI,
  type CliResult,
  cli,
  cliWithin,
  freePort,
  get,
  newSandbox,
  tmpDir,
} from '../helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
import { treeChanges, treeState } from '../tree-state.js';

const WRITERS = 8;
const ROUNDS = 3;

const roots: string[] = [];
afterEach(async () => {
  for (const sr of roots.splice(0)) {
    await cliWithin(['ctl', 'stop', '--server-root', sr], 30_000);
    await cli(['sandbox', 'remove', sr]);
  }
});

const ctl = (sr: string, ...args: string[]) =>
  cliWithin(['ctl', ...args, '--server-root', sr, '--json'], 90_000);

/** This root's httpd processes and which of them are masters (no parent among them). */
async function httpdOf(sr: string): Promise<{ pids: number[]; masters: number[] }> {
  const pids = await processesOf('/usr/sbin/apache2', sr);
  const infos = (await Promise.all(pids.map(procInfo))).filter((i) => i !== undefined);
  const set = new Set(infos.map((i) => i.pid));
  return {
    pids: infos.map((i) => i.pid),
    masters: infos.filter((i) => !set.has(i.ppid)).map((i) => i.pid),
  };
}

/** Processes (other than httpd) whose command line names `dir`: an apxs-ts left running. */
async function straysNaming(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    const argv = await fs.readFile(`/proc/${e}/cmdline`, 'utf8').catch(() => '');
    const words = argv.split('\0');
    if (!words.some((w) => w.includes(dir))) continue;
    if (words[0]?.endsWith('apache2') || words[0] === 'httpd') continue;
    out.push(`${e}: ${words.join(' ')}`);
  }
  return out;
}

/** Files apxs-ts writes only for a moment (locks, claims, temp files), anywhere under `dir`. */
async function transient(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    if (/\.lock$|\.lock\.|\.stale-|\.apxs-ts-\d+-\w+\.tmp$/.test(e.name))
      out.push(path.join(e.parentPath, e.name));
  }
  return out;
}

const said = (rs: CliResult[]) => rs.map((r) => `${r.code} ${r.stdout}${r.stderr}`).join('\n');

describe(`${WRITERS} concurrent ctl start on one root`, () => {
  it(`${WRITERS} x ${ROUNDS} rounds: all exit 0, one started it, one httpd master, no stray process, conf/ bytes unchanged`, async () => {
    const { work, sr, port } = await newSandbox(roots);
    const conf = path.join(sr, 'conf');
    const before = await treeState(conf);
    let rounds = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const rs = await Promise.all(Array.from({ length: WRITERS }, () => ctl(sr, 'start')));
      for (const r of rs) expect(r.code, `round ${round}:\n${said(rs)}`).toBe(0);
      expect(rs.filter((r) => r.json.changed === true).length, said(rs)).toBe(1);
      expect(rs.filter((r) => !r.json.alreadyRunning).length, said(rs)).toBe(1);
      const procs = await httpdOf(sr);
      expect(procs.masters, `round ${round}`).toHaveLength(1);
      // Every run names the one master.
      expect(new Set(rs.map((r) => r.json.pid))).toEqual(new Set(procs.masters));
      expect((await get(`http://127.0.0.1:${port}/`)).status).toBe(200);
      expect(await straysNaming(work)).toEqual([]);
      expect(await transient(sr)).toEqual([]);
      expect(treeChanges(before, await treeState(conf))).toEqual([]);
      const stop = await ctl(sr, 'stop');
      expect(stop.code, stop.stdout).toBe(0);
      expect((await httpdOf(sr)).pids).toEqual([]);
      rounds++;
    }
    expect(rounds).toBe(ROUNDS);
  }, 300_000);
});

describe(`${WRITERS} concurrent sandbox create of one directory`, () => {
  it(`the same settings, ${WRITERS} x ${ROUNDS} rounds: all exit 0, exactly one changed, the sandbox whole (as one made alone), no lock or temp file`, async () => {
    const work = await tmpDir('apxs-ts-conc-create-');
    // A sandbox made alone: the files a whole one has.
    const alone = path.join(work, 'alone');
    roots.push(alone);
    const aPort = String(await freePort());
    const ref = await cli(['sandbox', 'create', alone, '--port', aPort, '--no-project']);
    expect(ref.code, ref.stderr).toBe(0);
    const whole = Object.keys(await treeState(alone)).sort();
    let rounds = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const root = path.join(work, `sb${round}`);
      roots.push(root);
      const port = String(await freePort());
      const args = ['sandbox', 'create', root, '--port', port, '--no-project', '--json'];
      const rs = await Promise.all(Array.from({ length: WRITERS }, () => cli(args)));
      for (const r of rs) expect(r.code, `round ${round}:\n${said(rs)}`).toBe(0);
      expect(rs.filter((r) => r.json.changed === true).length, said(rs)).toBe(1);
      expect(Object.keys(await treeState(root)).sort()).toEqual(whole);
      expect(await transient(work)).toEqual([]);
      expect(await straysNaming(work)).toEqual([]);
      const settled = await treeState(root);
      const again = await cli(args);
      expect(again.json.changed).toBe(false);
      expect(treeChanges(settled, await treeState(root))).toEqual([]);
      expect((await cli(['ctl', 'configtest', '--server-root', root])).code).toBe(0);
      rounds++;
    }
    expect(rounds).toBe(ROUNDS);
  }, 300_000);

  it(`${WRITERS} different ports, ${ROUNDS} rounds: one makes it, ${WRITERS - 1} get SANDBOX_DIFFERS (exit 2); the sandbox has the winner's port`, async () => {
    const work = await tmpDir('apxs-ts-conc-differ-');
    let rounds = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const root = path.join(work, `sb${round}`);
      roots.push(root);
      const ports = new Set<number>();
      while (ports.size < WRITERS) ports.add(await freePort());
      const rs = await Promise.all(
        [...ports].map((p) =>
          cli(['sandbox', 'create', root, '--port', String(p), '--no-project', '--json']),
        ),
      );
      const won = rs.filter((r) => r.code === 0);
      expect(won.length, said(rs)).toBe(1);
      expect(won[0]!.json.changed).toBe(true);
      const lost = rs.filter((r) => r.code !== 0);
      for (const r of lost) {
        expect(r.code, said(rs)).toBe(2);
        expect(r.json.error.code, said(rs)).toBe('SANDBOX_DIFFERS');
      }
      expect(lost).toHaveLength(WRITERS - 1);
      const conf = await fs.readFile(path.join(root, 'conf', 'httpd.conf'), 'utf8');
      expect(conf).toContain(`Listen 127.0.0.1:${won[0]!.json.port}`);
      expect(await transient(work)).toEqual([]);
      expect(await straysNaming(work)).toEqual([]);
      rounds++;
    }
    expect(rounds).toBe(ROUNDS);
  }, 300_000);
});

describe('sandbox create while another is writing the marker', () => {
  it("a create paused half way through the marker (its temp file the root's only entry), then killed: the next create waits for it, makes the sandbox whole, no temp file left (3 rounds)", async () => {
    const work = await tmpDir('apxs-ts-conc-marker-');
    let rounds = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const root = path.join(work, `sb${round}`);
      roots.push(root);
      const mark = path.join(work, `mark${round}`);
      const port = String(await freePort());
      const args = ['sandbox', 'create', root, '--port', port, '--no-project', '--json'];
      // The first atomic write of a fresh create is the marker's: it stops there, holding the lock.
      const first = spawn(process.execPath, [CLI, ...args], {
        stdio: 'ignore',
        env: {
          ...process.env,
          APXS_TS_FAILPOINT: 'atomic:mid-write',
          APXS_TS_FAILPOINT_MARK: mark,
          APXS_TS_FAILPOINT_MODE: 'wait',
        },
      });
      const exited = new Promise((resolve) => first.on('exit', resolve));
      while (!(await fs.readFile(mark, 'utf8').catch(() => ''))) await sleep(20);
      expect((await fs.readFile(mark, 'utf8')).trim()).toBe('atomic:mid-write');
      const entries = await fs.readdir(root);
      expect(entries, `round ${round}`).toHaveLength(1);
      expect(entries[0]).toMatch(/^\.apxs-ts-sandbox\.json\.apxs-ts-\d+-\w+\.tmp$/);
      // The second create starts while the first holds the lock; the first then dies there.
      const second = cli(args);
      await sleep(300);
      first.kill('SIGKILL');
      await exited;
      const r = await second;
      expect(r.code, `round ${round}: ${r.stdout}${r.stderr}`).toBe(0);
      expect(r.json.changed).toBe(true);
      expect(await transient(work)).toEqual([]);
      expect((await cli(['ctl', 'configtest', '--server-root', root])).code).toBe(0);
      expect((await cli(args)).json.changed).toBe(false);
      // The killed create made the directory: remove takes all of it away.
      const removed = await cli(['sandbox', 'remove', root, '--json']);
      expect(removed.code, removed.stdout).toBe(0);
      await expect(fs.lstat(root)).rejects.toThrow();
      rounds++;
    }
    expect(rounds).toBe(ROUNDS);
  }, 300_000);
});
