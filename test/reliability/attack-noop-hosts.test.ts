/**
 * Attacks on `hosts add`/`remove` with nothing to do, now answered from one read without the
 * hosts file's lock (RELIABILITY.md, "Threat model: no-op runs without a lock (attack)").
 */
import { execFileSync, spawn } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readBlock } from '../../lib/sites/hosts-file.js';
import { CLI, cli, tmpDir } from '../helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mounts: string[] = [];
afterEach(() => {
  for (const m of mounts.splice(0)) execFileSync('umount', [m]);
});

const stopped = (pid: number) =>
  /^\d+ \(.*\) T/.test(readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/\n/g, ''));

const block = (lines: string[]) => ['# BEGIN apxs-ts', ...lines, '# END apxs-ts', ''].join('\n');

describe('a bind-mounted hosts file (written in place, as /etc/hosts in a container)', () => {
  it('hosts remove x.test while a hosts add c.test is half way through its in-place write (stopped there, then let go; 3 rounds): x.test is gone in the end', async () => {
    const head = '127.0.0.1 localhost\n';
    const oldText = (tail: string) => head + block(['127.0.0.1 a.test', '::1 x.test']) + tail;
    const newText = (tail: string) =>
      head + block(['127.0.0.1 a.test c.test', '::1 x.test']) + tail;
    // The user's lines after our block: as many bytes as put the half of the write (atomic-file's
    // in-place write stops there) just after the "::1" of x.test's line, so a read then sees the
    // new text's head and the old one's tail: a whole block without x.test.
    let tail = '';
    for (let n = 2; n < 200 && !tail; n++) {
      const t = `#${'-'.repeat(n - 2)}\n`;
      const next = newText(t);
      const torn = next.slice(0, next.length >> 1) + oldText(t).slice(next.length >> 1);
      const names = [...readBlock(torn).values()].flat();
      if (names.includes('a.test') && !names.includes('x.test')) tail = t;
    }
    expect(tail).not.toBe('');
    let rounds = 0;
    for (let round = 0; round < 3; round++) {
      const work = await tmpDir('apxs-ts-atk2-hbind-');
      const real = path.join(work, 'real-hosts');
      const hosts = path.join(work, 'hosts');
      await fs.writeFile(real, oldText(tail));
      await fs.writeFile(hosts, '');
      execFileSync('mount', ['--bind', real, hosts]);
      mounts.push(hosts);
      const mark = path.join(work, 'mark');
      const writer = spawn(
        process.execPath,
        [CLI, 'hosts', 'add', 'c.test', '--hosts-file', hosts, '--json'],
        {
          stdio: 'ignore',
          env: {
            ...process.env,
            APXS_TS_FAILPOINT: 'atomic:in-place-mid-write',
            APXS_TS_FAILPOINT_MARK: mark,
            APXS_TS_FAILPOINT_MODE: 'stop',
          },
        },
      );
      const wrote = new Promise<number | null>((r) => writer.on('exit', r));
      while (!(await fs.readFile(mark, 'utf8').catch(() => ''))) await sleep(20);
      while (!stopped(writer.pid!)) await sleep(20);
      expect((await fs.readFile(mark, 'utf8')).trim()).toBe('atomic:in-place-mid-write');
      expect([...readBlock(await fs.readFile(hosts, 'utf8')).values()].flat()).not.toContain(
        'x.test',
      );
      const remove = cli(['hosts', 'remove', 'x.test', '--hosts-file', hosts, '--json'], {
        timeoutMs: 60_000,
      });
      await sleep(700);
      writer.kill('SIGCONT');
      expect(await wrote).toBe(0);
      const r = await remove;
      expect(r.code, `round ${round}: ${r.stdout}${r.stderr}`).toBe(0);
      const names = [...readBlock(await fs.readFile(hosts, 'utf8')).values()].flat();
      // Either order of the two gives this: c.test added, x.test removed.
      expect(names, `round ${round}: remove said ${r.json?.msg}`).toEqual(['a.test', 'c.test']);
      rounds++;
    }
    expect(rounds).toBe(3);
  }, 120_000);
});

describe('no-op hosts adds racing hosts removes on one file', () => {
  it('8 no-op adds + 8 removes at once x 4 rounds, the file flipped between 0644 and 0666 (root and nobody) meanwhile: all exit 0, the 8 kept names all there, the 8 removed gone, 0 lost', async () => {
    const ROUNDS = 4;
    const N = 8;
    let runs = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const work = await tmpDir('apxs-ts-atk2-hrace-');
      const hosts = path.join(work, 'hosts');
      const keep = Array.from({ length: N }, (_, i) => `keep${i}.test`);
      const gone = Array.from({ length: N }, (_, i) => `gone${i}.test`);
      await fs.writeFile(
        hosts,
        `127.0.0.1 localhost\n${block([`127.0.0.1 ${[...keep, ...gone].join(' ')}`])}`,
      );
      let flipping = true;
      const flipper = (async () => {
        for (let i = 0; flipping; i++) {
          await fs.chmod(hosts, i % 2 ? 0o666 : 0o644).catch(() => undefined);
          await fs.chown(hosts, i % 4 < 2 ? 0 : 65534, 0).catch(() => undefined);
          await sleep(3);
        }
      })();
      const rs = await Promise.all([
        ...keep.map((n) => cli(['hosts', 'add', n, '--hosts-file', hosts, '--json'])),
        ...gone.map((n) => cli(['hosts', 'remove', n, '--hosts-file', hosts, '--json'])),
      ]);
      flipping = false;
      await flipper;
      for (const r of rs) expect(r.code, `round ${round}: ${r.stdout}${r.stderr}`).toBe(0);
      for (const r of rs.slice(0, N)) expect(r.json.changed, `round ${round}`).toBe(false);
      const names = [...readBlock(await fs.readFile(hosts, 'utf8')).values()].flat();
      expect(names.sort(), `round ${round}`).toEqual([...keep].sort());
      const left = (await fs.readdir(work)).filter((f) => /\.lock|\.tmp$/.test(f));
      expect(left, `round ${round}`).toEqual([]);
      runs += rs.length;
    }
    expect(runs).toBe(ROUNDS * 2 * N);
  }, 300_000);
});
