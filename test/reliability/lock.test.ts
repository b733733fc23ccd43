/**
 * The lock under kill -9 and stale-lock takeover, through the built CLI and
 * through processes that call the built withLock (build first:
 * npx tsc -p tsconfig.json).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readBlock } from '../../lib/sites/hosts-file.js';
import { CLI, ROOT, cli, hostsFile, tmpDir } from '../helpers.js';

const DIST_LOCK = path.join(ROOT, 'dist', 'lib', 'core', 'lock.js');
const ORIGINAL = '127.0.0.1 localhost\n::1 localhost\n';
/** A pid above any this machine hands out (pid_max is at most 4194304). */
const DEAD_PID = 4_000_000;

/** Files a run may leave beside the hosts file that it must not: temps, locks, claims. */
async function leftovers(f: string): Promise<string[]> {
  return (await fs.readdir(path.dirname(f))).filter((n) => /\.(tmp|lock|claim)$/.test(n));
}

async function backdate(file: string, ms: number): Promise<void> {
  const t = new Date(Date.now() - ms);
  await fs.utimes(file, t, t);
}

async function timedAdd(
  f: string,
  name: string,
): Promise<{ code: number; ms: number; stderr: string }> {
  const t0 = Date.now();
  const r = await cli(['hosts', 'add', name, '--hosts-file', f]);
  return { code: r.code, ms: Date.now() - t0, stderr: r.stderr };
}

async function selfIdentity(): Promise<string> {
  const stat = await fs.readFile(`/proc/${process.pid}/stat`, 'utf8');
  const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  const boot = (await fs.readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
  const ns = await fs.readlink('/proc/self/ns/pid');
  return `${process.pid} ${start} ${boot} ${ns}\n`;
}

/** A node process that takes withLock(lockFile) and, inside it, prints "locked" and waits to be killed. */
function holder(lockFile: string) {
  const child = spawn(
    process.execPath,
    [
      '-e',
      `
    require(${JSON.stringify(DIST_LOCK)}).withLock(process.argv[1], async () => {
      process.stdout.write('locked\\n');
      await new Promise(() => setInterval(() => {}, 1000));
    });`,
      lockFile,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const locked = new Promise<void>((resolve) =>
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('locked')) resolve();
    }),
  );
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  return { child, locked, exited };
}

describe('stale lock takeover under concurrency', () => {
  it('a lock naming a dead pid, then 20 concurrent hosts add: all 20 names land, in each of 8 rounds', async () => {
    const missingPerRound: number[] = [];
    for (let round = 0; round < 8; round++) {
      const f = await hostsFile(ORIGINAL);
      await fs.writeFile(`${f}.apxs-ts.lock`, `${DEAD_PID}\n`);
      const names = Array.from({ length: 20 }, (_, i) => `r${i}.dd`);
      const results = await Promise.all(
        names.map((n) => cli(['hosts', 'add', n, '--hosts-file', f])),
      );
      expect(
        results.map((r) => r.code),
        results.map((r) => r.stderr).join(''),
      ).toEqual(names.map(() => 0));
      const landed = readBlock(await fs.readFile(f, 'utf8')).get('127.0.0.1') ?? [];
      missingPerRound.push(names.filter((n) => !landed.includes(n)).length);
      expect(await leftovers(f)).toEqual([]);
    }
    expect(missingPerRound).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  });

  it('two takers never both hold it: 16 processes on one stale lock, 6 rounds, no overlap', async () => {
    const dir = await tmpDir('apxs-ts-lock-');
    const lock = path.join(dir, 'x.apxs-ts.lock');
    const inside = path.join(dir, 'inside');
    // Each holder creates `inside` exclusively while it holds the lock: EEXIST means two holders at once.
    const script = `
      const fs = require('node:fs');
      require(${JSON.stringify(DIST_LOCK)}).withLock(process.argv[1], async () => {
        try { fs.writeFileSync(process.argv[2], String(process.pid), { flag: 'wx' }); } catch { process.stdout.write('OVERLAP\\n'); return; }
        await new Promise((r) => setTimeout(r, 3));
        fs.unlinkSync(process.argv[2]);
      }).then(() => process.stdout.write('ok\\n'), (e) => process.stdout.write('ERR ' + e.message + '\\n'));`;
    const outcomes: string[] = [];
    for (let round = 0; round < 6; round++) {
      await fs.writeFile(
        lock,
        round % 2 ? `${DEAD_PID}\n` : `${DEAD_PID} 12345 some-boot pid:[1]\n`,
      );
      const runs = Array.from(
        { length: 16 },
        () =>
          new Promise<string>((resolve) => {
            const c = spawn(process.execPath, ['-e', script, lock, inside], {
              stdio: ['ignore', 'pipe', 'pipe'],
            });
            let out = '';
            let err = '';
            c.stdout.on('data', (d: Buffer) => {
              out += d.toString();
            });
            c.stderr.on('data', (d: Buffer) => {
              err += d.toString();
            });
            // A taker that printed nothing says how it ended, so a failure names its cause.
            c.on('close', (code, signal) =>
              resolve(
                out.trim() ||
                  `no outcome: exit ${code} signal ${signal} stderr ${err.trim().slice(-400)}`,
              ),
            );
          }),
      );
      outcomes.push(...(await Promise.all(runs)));
    }
    expect(outcomes.filter((o) => o !== 'ok')).toEqual([]);
    expect(outcomes).toHaveLength(96);
    expect((await fs.readdir(dir)).filter((n) => n !== 'inside')).toEqual([]);
  });
});

describe('locks left by killed writers are recovered within 1 s', () => {
  const stale: [string, string | Buffer][] = [
    ['an empty lock file', ''],
    ['a garbage lock file', Buffer.from([0x67, 0x61, 0x72, 0x00, 0xff, 0xfe, 0x0a])],
    ['a lock naming a dead pid (old format)', `${DEAD_PID}\n`],
    ['a lock naming a dead pid', `${DEAD_PID} 4242 whatever-boot pid:[4026531836]\n`],
  ];
  it.each(stale)('%s', async (_what, content) => {
    const f = await hostsFile(ORIGINAL);
    await fs.writeFile(`${f}.apxs-ts.lock`, content);
    // Left by a writer killed a while ago: a file nobody is writing any more.
    await backdate(`${f}.apxs-ts.lock`, 3000);
    const r = await timedAdd(f, 'after.dd');
    expect(r.code, r.stderr).toBe(0);
    expect(r.ms).toBeLessThan(1000);
    expect(await leftovers(f)).toEqual([]);
  });

  it('a lock naming a live pid whose start time differs (a recycled pid) is stale', async () => {
    const f = await hostsFile(ORIGINAL);
    const [pid, , boot, ns] = (await selfIdentity()).trim().split(' ');
    await fs.writeFile(`${f}.apxs-ts.lock`, `${pid} 1 ${boot} ${ns}\n`);
    const r = await timedAdd(f, 'after.dd');
    expect(r.code, r.stderr).toBe(0);
    expect(r.ms).toBeLessThan(1000);
  });

  it('a lock whose owner runs is respected: the add waits for it', async () => {
    const f = await hostsFile(ORIGINAL);
    await fs.writeFile(`${f}.apxs-ts.lock`, await selfIdentity());
    const pending = timedAdd(f, 'after.dd');
    await new Promise((r) => setTimeout(r, 1500));
    expect(await fs.readFile(f, 'utf8')).toBe(ORIGINAL);
    await fs.rm(`${f}.apxs-ts.lock`);
    const r = await pending;
    expect(r.code, r.stderr).toBe(0);
    expect(r.ms).toBeGreaterThanOrEqual(1500);
  });

  it('an empty lock file just written is taken over once it is 1 s old, not after the 15 s timeout', async () => {
    const f = await hostsFile(ORIGINAL);
    await fs.writeFile(`${f}.apxs-ts.lock`, '');
    const r = await timedAdd(f, 'after.dd');
    expect(r.code, r.stderr).toBe(0);
    expect(r.ms).toBeLessThan(2500);
  });

  it('kill -9 of a process holding the lock: the next add succeeds within 1 s, 6 times', async () => {
    const f = await hostsFile(ORIGINAL);
    for (let i = 0; i < 6; i++) {
      const h = holder(`${f}.apxs-ts.lock`);
      await h.locked;
      h.child.kill('SIGKILL');
      await h.exited;
      const r = await timedAdd(f, `k${i}.dd`);
      expect(r.code, r.stderr).toBe(0);
      expect(r.ms).toBeLessThan(1000);
      expect(await leftovers(f)).toEqual([]);
    }
    expect([...(readBlock(await fs.readFile(f, 'utf8')).get('127.0.0.1') ?? [])].sort()).toEqual([
      'k0.dd',
      'k1.dd',
      'k2.dd',
      'k3.dd',
      'k4.dd',
      'k5.dd',
    ]);
  });

  it('kill -9 of hosts add inside its lock (before the read, after the backup, after the write; 3 rounds each): every next add succeeds within 1 s', async () => {
    const f = await hostsFile(ORIGINAL);
    const mark = path.join(path.dirname(f), 'mark');
    const points = ['hosts:locked', 'hosts:after-backup', 'hosts:after-write'];
    for (let i = 0; i < 9; i++) {
      const point = points[i % 3]!;
      const before = await fs.readFile(f, 'utf8');
      await fs.rm(mark, { force: true });
      const child = spawn(process.execPath, [CLI, 'hosts', 'add', `x${i}.dd`, '--hosts-file', f], {
        env: { ...process.env, APXS_TS_FAILPOINT: point, APXS_TS_FAILPOINT_MARK: mark },
        stdio: 'ignore',
      });
      const signal = await new Promise((r) => child.on('exit', (_c, s) => r(s)));
      expect(signal).toBe('SIGKILL');
      expect((await fs.readFile(mark, 'utf8')).trim()).toBe(point);
      // Killed after the write: the name is in; before it: the file is as it was.
      if (point === 'hosts:after-write')
        expect([...readBlock(await fs.readFile(f, 'utf8')).values()].flat()).toContain(`x${i}.dd`);
      else expect(await fs.readFile(f, 'utf8')).toBe(before);
      const r = await timedAdd(f, `y${i}.dd`);
      expect(r.code, r.stderr).toBe(0);
      expect(r.ms).toBeLessThan(1000);
      expect(await leftovers(f)).toEqual([]);
    }
  });

  it('a claim left by a taker killed while taking over is skipped and cleaned up', async () => {
    const f = await hostsFile(ORIGINAL);
    const lock = `${f}.apxs-ts.lock`;
    const content = `${DEAD_PID} 77 gone-boot pid:[1]\n`;
    await fs.writeFile(lock, content);
    const { ino } = await fs.stat(lock);
    const claim = path.join(
      path.dirname(f),
      `hosts.apxs-ts.lock.stale-${ino}-${createHash('sha256').update(content).digest('hex').slice(0, 16)}.0.claim`,
    );
    await fs.writeFile(claim, `${DEAD_PID - 1} 78 gone-boot pid:[1]\n`);
    const r = await timedAdd(f, 'after.dd');
    expect(r.code, r.stderr).toBe(0);
    expect(r.ms).toBeLessThan(1000);
    expect(await leftovers(f)).toEqual([]);
  });

  it("a live taker's claim is respected: nobody else removes that stale lock meanwhile", async () => {
    const f = await hostsFile(ORIGINAL);
    const lock = `${f}.apxs-ts.lock`;
    const content = `${DEAD_PID} 77 gone-boot pid:[1]\n`;
    await fs.writeFile(lock, content);
    const { ino } = await fs.stat(lock);
    const claim = path.join(
      path.dirname(f),
      `hosts.apxs-ts.lock.stale-${ino}-${createHash('sha256').update(content).digest('hex').slice(0, 16)}.0.claim`,
    );
    await fs.writeFile(claim, await selfIdentity());
    const pending = timedAdd(f, 'after.dd');
    await new Promise((r) => setTimeout(r, 1200));
    expect(await fs.readFile(lock, 'utf8')).toBe(content);
    expect(await fs.readFile(f, 'utf8')).toBe(ORIGINAL);
    await fs.rm(claim);
    const r = await pending;
    expect(r.code, r.stderr).toBe(0);
    expect(await leftovers(f)).toEqual([]);
  });
});
