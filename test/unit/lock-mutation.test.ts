/**
 * lib/core/lock.ts against its surviving mutants (issue #16): who holds a
 * lock as the waiter is told it (onWait) and as LOCKED names it, when that is
 * said (at once for a stopped holder, after a short wait for a running one,
 * once per holder), what a planted non-file at the lock path is, a claim
 * that cannot be made, and which names beside the lock are left alone. Every
 * holder is a real process whose identity /proc shows; none of these
 * depends on the test runner's session.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { describeHolder, takeOver, withLock, type LockHolder } from '../../lib/core/lock.js';
import { tmpDir } from '../helpers.js';

const DEAD_PID = 4_000_000;
const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) {
    c.kill('SIGCONT');
    c.kill('SIGKILL');
  }
});

async function identity(pid: number) {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
  const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
  const boot = (await fs.readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
  const ns = await fs.readlink(`/proc/${pid}/ns/pid`);
  return { pid: String(pid), start, boot, ns, line: `${pid} ${start} ${boot} ${ns}\n` };
}

async function live(args: string[] = ['300']): Promise<ChildProcess> {
  const c = spawn('/bin/sleep', args, { stdio: 'ignore' });
  children.push(c);
  await new Promise((r) => c.once('spawn', r));
  return c;
}

async function stopped(): Promise<ChildProcess> {
  const c = await live();
  c.kill('SIGSTOP');
  for (let i = 0; i < 500; i++) {
    const s = await fs.readFile(`/proc/${c.pid}/stat`, 'utf8');
    if (s.slice(s.lastIndexOf(')') + 2)[0] === 'T') return c;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('not stopped');
}

async function lockPath(): Promise<{ dir: string; lock: string }> {
  const dir = await tmpDir('apxs-ts-lockmut-');
  await fs.writeFile(path.join(dir, 'hosts'), 'x\n');
  return { dir, lock: path.join(dir, 'hosts.apxs-ts.lock') };
}

const codeOf = async (p: Promise<unknown>) =>
  p.then(
    () => 'ran',
    (e: { code?: string }) => e?.code ?? String(e),
  );

describe('describeHolder', () => {
  const since = (agoMs: number) => new Date(Date.now() - agoMs).toISOString();
  const h = (o: Partial<LockHolder>): LockHolder => ({
    lockFile: '/x/l',
    pid: 123,
    command: 'node apxs-ts vhost add a.dd',
    since: since(12_200),
    state: 'running',
    waitMs: 1000,
    ...o,
  });

  it('pid, command, since (HH:MM:SSZ, seconds ago) and state', () => {
    const s = since(12_200);
    expect(describeHolder(h({ since: s }))).toMatch(
      new RegExp(
        `^pid 123 \\(node apxs-ts vhost add a\\.dd\\), holding it since ${s.slice(11, 19)}Z \\(1[23] s ago\\), running$`,
      ),
    );
  });

  it('stopped says how it lets go; unknown says nothing; no command, no parentheses', () => {
    expect(describeHolder(h({ state: 'stopped', command: null }))).toMatch(
      /^pid 123, holding it since \d\d:\d\d:\d\dZ \(1[23] s ago\), stopped \(SIGSTOP or Ctrl-Z\): it lets go only once continued or ended$/,
    );
    expect(describeHolder(h({ state: 'unknown' }))).toMatch(
      /\(node apxs-ts vhost add a\.dd\), holding it since \d\d:\d\d:\d\dZ \(1[23] s ago\)$/,
    );
  });

  it('no pid: a process still writing it; a since in the future is 0 s ago', () => {
    expect(
      describeHolder(h({ pid: null, command: null, state: 'unknown', since: since(-60_000) })),
    ).toMatch(/^a process that is still writing it, holding it since \d\d:\d\d:\d\dZ \(0 s ago\)$/);
  });
});

describe('the holder a waiter is told and LOCKED names', () => {
  // "At once" is the one timing here: the wait (250 ms) ends before a running holder would be told (300 ms),
  // so only a stopped holder is told within it; the first look takes a few ms.
  it('a stopped holder: told at once (before the short-wait notice), once; LOCKED says how to continue it', async () => {
    const { lock } = await lockPath();
    const c = await stopped();
    const id = await identity(c.pid!);
    await fs.writeFile(lock, id.line);
    const mtime = (await fs.stat(lock)).mtimeMs;
    const told: LockHolder[] = [];
    const err = await withLock(lock, async () => 'ran', {
      timeoutMs: 250,
      onWait: (x) => told.push(x),
    }).catch((e) => e);
    expect(told).toHaveLength(1);
    expect(told[0]).toEqual({
      lockFile: lock,
      pid: c.pid,
      command: '/bin/sleep 300',
      since: new Date(mtime).toISOString(),
      state: 'stopped',
      waitMs: 250,
    });
    expect(err).toMatchObject({
      code: 'LOCKED',
      message: `${lock} is held by ${describeHolder(told[0]!)}; waited 0.3 s`,
      hint: `continue it (kill -CONT ${c.pid}) or end it, then run this again; set the wait with --wait SECONDS or APXS_TS_LOCK_WAIT`,
      data: { lockFile: lock, pid: c.pid, holder: { ...told[0] } },
    });
  });

  it('a running holder: told once after the short wait (not within 250 ms), then the lock is taken when it lets go', async () => {
    const { lock } = await lockPath();
    const c = await live();
    await fs.writeFile(lock, (await identity(c.pid!)).line);
    const quick: LockHolder[] = [];
    const err = await withLock(lock, async () => 'ran', {
      timeoutMs: 200,
      onWait: (x) => quick.push(x),
    }).catch((e) => e);
    expect(quick).toEqual([]); // a short wait for a busy peer stays silent
    expect(err).toMatchObject({
      code: 'LOCKED',
      hint: `another apxs-ts (pid ${c.pid}) is using it; try again when it is done, or set the wait with --wait SECONDS or APXS_TS_LOCK_WAIT`,
    });
    const told: LockHolder[] = [];
    const t0 = Date.now();
    const r = await withLock(lock, async () => 'ran', {
      timeoutMs: 30_000,
      onWait: (x) => {
        told.push(x);
        c.kill('SIGKILL'); // it lets go (dies): the waiter takes the lock
      },
    });
    expect(r).toBe('ran');
    expect(told).toHaveLength(1);
    expect(told[0]).toMatchObject({
      pid: c.pid,
      state: 'running',
      command: '/bin/sleep 300',
      waitMs: 30_000,
    });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
  });

  it('a second holder after the first is told too: once per holder', async () => {
    const { dir, lock } = await lockPath();
    const a = await stopped();
    const b = await stopped();
    await fs.writeFile(lock, (await identity(a.pid!)).line);
    const next = path.join(dir, 'next');
    await fs.writeFile(next, (await identity(b.pid!)).line);
    const told: (number | null)[] = [];
    const code = await codeOf(
      withLock(lock, async () => 'ran', {
        timeoutMs: 2000, // room for the next look after the switch, even under load
        onWait: (x) => {
          told.push(x.pid);
          if (x.pid === a.pid) void fs.rename(next, lock); // another process took it over in between
        },
      }),
    );
    expect(code).toBe('LOCKED');
    expect(told).toEqual([a.pid, b.pid]);
  });

  it('options as a number are the wait; the callback of the options is the one called', async () => {
    const { lock } = await lockPath();
    const c = await stopped();
    await fs.writeFile(lock, (await identity(c.pid!)).line);
    expect(await codeOf(withLock(lock, async () => 'ran', 150))).toBe('LOCKED');
    let called = 0;
    expect(
      await codeOf(withLock(lock, async () => 'ran', { timeoutMs: 150, onWait: () => called++ })),
    ).toBe('LOCKED');
    expect(called).toBe(1);
  });

  it("a holder in another pid namespace: its pid is named, nothing of this namespace's process by that pid is read", async () => {
    const { lock } = await lockPath();
    const c = await live();
    const id = await identity(c.pid!);
    await fs.writeFile(lock, `${id.pid} ${id.start} ${id.boot} pid:[1]\n`);
    const err = await withLock(lock, async () => 'ran', 120).catch((e) => e);
    expect(err).toMatchObject({
      code: 'LOCKED',
      data: { pid: c.pid, holder: { pid: c.pid, command: null, state: 'unknown' } },
    });
  });

  it('a command line longer than 200 characters is cut to 199 and an ellipsis; 200 is kept', async () => {
    for (const len of [200, 201]) {
      const { lock } = await lockPath();
      // sleep adds up its arguments: "300" and as many "0"s as it takes to reach len characters.
      const base = '/bin/sleep 300';
      const zeros = Math.floor((len - base.length) / 2);
      const args = ['300', ...Array<string>(zeros).fill('0')];
      if (base.length + 2 * zeros < len)
        args[0] = `${'0'.repeat(len - base.length - 2 * zeros)}300`;
      const c = await live(args);
      const cmd = ['/bin/sleep', ...args].join(' ');
      expect(cmd.length).toBe(len);
      await fs.writeFile(lock, (await identity(c.pid!)).line);
      const err = await withLock(lock, async () => 'ran', 80).catch((e) => e);
      expect(err.data.holder.command).toBe(len === 200 ? cmd : `${cmd.slice(0, 199)}…`);
    }
  });

  it('a stale lock whose takeover a live claimant holds: not a holder to announce; LOCKED names the stale pid', async () => {
    const claimant = await live();
    const me = await identity(claimant.pid!);
    for (const [what, content, pid] of [
      ['a dead owner', `${DEAD_PID} 1 ${me.boot} ${me.ns}\n`, DEAD_PID],
      ['another boot', `${claimant.pid} ${me.start} another-boot ${me.ns}\n`, claimant.pid],
      ['an older lock of a dead pid', `${DEAD_PID}\n`, DEAD_PID],
    ] as const) {
      const { dir, lock } = await lockPath();
      await fs.writeFile(lock, content);
      const told: LockHolder[] = [];
      const err = await withLockWithLiveClaim(lock, content, me.line, dir, (x) => told.push(x));
      expect(told, what).toEqual([]);
      expect(err, what).toMatchObject({ code: 'LOCKED', data: { pid } });
    }
  });
});

/**
 * withLock on a stale lock whose takeover claim (slot 0) is held by a live process: the claim's name is
 * `LOCKNAME.stale-INO-HASH16.0.claim`, taken from the name a takeOver makes.
 */
async function withLockWithLiveClaim(
  lock: string,
  content: string,
  claimant: string,
  dir: string,
  onWait: (h: LockHolder) => void,
): Promise<unknown> {
  const ino = (await fs.stat(lock)).ino;
  const claim = path.join(
    dir,
    `${path.basename(lock)}.stale-${ino}-${createHash('sha256').update(content).digest('hex').slice(0, 16)}.0.claim`,
  );
  await fs.writeFile(claim, claimant);
  // 600 ms: past the 300 ms after which a live holder would be announced; a dead one never is.
  return withLock(lock, async () => 'ran', { timeoutMs: 600, onWait }).then(
    () => 'ran',
    (e) => e,
  );
}

describe('what the lock path holds', () => {
  it('a FIFO, a directory, a character device, a block device: UNSAFE_CONFIG naming what it is and its owner, never waited on', async () => {
    const cases: [string, (lock: string) => Promise<unknown>][] = [
      ['a FIFO', async (l) => spawnSync('mkfifo', [l])],
      ['a directory', (l) => fs.mkdir(l)],
      ['a character device', (l) => fs.symlink('/dev/null', l)],
    ];
    // A block device (any will do: it is opened read-only and only stat()ed); a socket cannot be opened at all (ENXIO).
    const block = readdirSync('/dev')
      .map((d) => `/dev/${d}`)
      .find((d) => {
        try {
          return statSync(d).isBlockDevice();
        } catch {
          return false;
        }
      });
    if (block) cases.push(['not a regular file', (l) => fs.symlink(block, l)]);
    else
      console.warn(
        'lock-mutation: no block device in /dev: the "not a regular file" case is not run',
      );
    for (const [what, make] of cases) {
      const { lock } = await lockPath();
      await make(lock);
      const err = await withLock(lock, async () => 'ran', 5000).catch((e) => e);
      expect(err, what).toMatchObject({
        code: 'UNSAFE_CONFIG',
        message: `${lock} is not a lock apxs-ts made: it is ${what}, owned by uid ${statSync(lock).uid}`,
        hint: 'another user may have planted it to stop apxs-ts; remove it and run the command again',
        data: { path: lock },
      });
    }
  });

  it('a symlink loop at the lock path is an error, not a wait', async () => {
    const { lock } = await lockPath();
    await fs.symlink(lock, lock);
    const err = await withLock(lock, async () => 'ran', 30_000).catch((e) => e);
    expect(err).toMatchObject({ code: 'ELOOP' });
  });

  it('reading a lock many times leaves no descriptor open', async () => {
    const { lock } = await lockPath();
    const c = await live();
    await fs.writeFile(lock, (await identity(c.pid!)).line);
    const fds = () => readdirSync('/proc/self/fd').length;
    const before = fds();
    expect(await codeOf(withLock(lock, async () => 'ran', 300))).toBe('LOCKED');
    expect(fds()).toBe(before);
  });
});

describe('takeOver and leftovers', () => {
  it('a claim that cannot be made (its temp file is gone) is an error naming the directory, not a loop', async () => {
    const { dir, lock } = await lockPath();
    await fs.writeFile(lock, `${DEAD_PID}\n`);
    const seen = { ino: (await fs.stat(lock)).ino, mtimeMs: 0, content: `${DEAD_PID}\n` };
    await expect(takeOver(lock, path.join(dir, 'no-such-temp'), seen)).rejects.toMatchObject({
      code: 'NOT_FOUND',
      data: { path: dir },
    });
    expect(await fs.readFile(lock, 'utf8')).toBe(`${DEAD_PID}\n`);
  });

  it('a name that starts like a claim but is not one (no .claim) is left alone, even naming a dead process', async () => {
    const { dir, lock } = await lockPath();
    const keep = 'hosts.apxs-ts.lock.stale-1-00.0.notes';
    await fs.writeFile(path.join(dir, keep), `${DEAD_PID} 1 b n\n`);
    expect(await codeOf(withLock(lock, async () => 'ran', 1000))).toBe('ran');
    expect((await fs.readdir(dir)).sort()).toEqual(['hosts', keep].sort());
  });
});

describe('configureLockWaits', () => {
  it("the wait set by the CLI overrides the caller's, and its onWait is told when the caller gives none", async () => {
    const { configureLockWaits } = await import('../../lib/core/lock.js');
    const { lock } = await lockPath();
    const c = await stopped();
    await fs.writeFile(lock, (await identity(c.pid!)).line);
    const told: LockHolder[] = [];
    configureLockWaits({ waitMs: 150, onWait: (x) => told.push(x) });
    try {
      const err = await withLock(lock, async () => 'ran', 60_000).catch((e) => e);
      expect(err).toMatchObject({ code: 'LOCKED', data: { holder: { waitMs: 150 } } });
      expect(told.map((x) => x.pid)).toEqual([c.pid]);
    } finally {
      configureLockWaits({ waitMs: undefined, onWait: undefined });
    }
  });
});
