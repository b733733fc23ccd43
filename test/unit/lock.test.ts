/**
 * lib/core/lock.ts in-process (test/reliability/lock.test.ts drives it
 * through processes): who owns a lock, when it is stale, the takeover's
 * re-check, and what is cleaned up. Each case names what the lock must do;
 * a live owner is always a real process whose identity /proc shows.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { takeOver, withLock, type Seen } from '../../lib/core/lock.js';
import { tmpDir } from '../helpers.js';

/** A pid above any this machine hands out (pid_max is at most 4194304). */
const DEAD_PID = 4_000_000;

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

async function identity(
  pid: number,
): Promise<{ pid: string; start: string; boot: string; ns: string }> {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8');
  const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]!;
  const boot = (await fs.readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
  const ns = await fs.readlink(`/proc/${pid}/ns/pid`);
  return { pid: String(pid), start, boot, ns };
}

/** A live process other than this one: an owner that really runs. */
async function liveOther(): Promise<ChildProcess> {
  const c = spawn('/bin/sleep', ['300'], { stdio: 'ignore' });
  children.push(c);
  await new Promise((r) => c.once('spawn', r));
  return c;
}

async function lockDir(): Promise<{ dir: string; target: string; lock: string }> {
  const dir = await tmpDir('apxs-ts-unitlock-');
  const target = path.join(dir, 'hosts');
  await fs.writeFile(target, 'x\n');
  return { dir, target, lock: `${target}.apxs-ts.lock` };
}

async function backdate(file: string, ms: number): Promise<void> {
  const t = new Date(Date.now() - ms);
  await fs.utimes(file, t, t);
}

/** withLock with a short wait: resolves 'ran' when fn ran, or the error's code. */
async function attempt(lock: string, timeoutMs = 150): Promise<string> {
  try {
    return await withLock(lock, async () => 'ran', timeoutMs);
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

const seenOf = async (file: string): Promise<Seen> => {
  const st = await fs.stat(file);
  return { ino: st.ino, mtimeMs: st.mtimeMs, content: await fs.readFile(file, 'utf8') };
};

describe('withLock: holding and releasing', () => {
  it('holds a complete lock naming this process while fn runs, returns its value, and leaves nothing behind', async () => {
    const { dir, lock } = await lockDir();
    const me = await identity(process.pid);
    const inside = await withLock(lock, async () => fs.readFile(lock, 'utf8'));
    expect(inside).toBe(`${me.pid} ${me.start} ${me.boot} ${me.ns.replace(/\s/g, '')}\n`);
    expect((await fs.readdir(dir)).sort()).toEqual(['hosts']);
  });

  it("releases it when fn throws, and the error is fn's", async () => {
    const { dir, lock } = await lockDir();
    await expect(
      withLock(lock, async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await fs.readdir(dir)).toEqual(['hosts']);
  });

  it('does not unlink a lock that is no longer its own (replaced by hand while held)', async () => {
    const { lock } = await lockDir();
    await withLock(lock, async () => {
      await fs.rm(lock);
      await fs.writeFile(lock, 'someone else\n');
    });
    expect(await fs.readFile(lock, 'utf8')).toBe('someone else\n');
    // ... nor one with its very content at another inode (a copy put back by hand).
    await withLock(lock, async () => {
      // The copy is made while the lock's inode is in use, so it cannot get that inode number.
      await fs.writeFile(`${lock}.copy`, await fs.readFile(lock, 'utf8'));
      await fs.rename(`${lock}.copy`, lock);
    });
    expect(await fs.readFile(lock, 'utf8')).toMatch(new RegExp(`^${process.pid} `));
    await fs.rm(lock);
    // A lock removed by hand while held: the release has nothing to do, and fn's value stands.
    expect(
      await withLock(lock, async () => {
        await fs.rm(lock);
        return 'value';
      }),
    ).toBe('value');
  });

  it('two holders in one process run one after the other, never both inside', async () => {
    const { lock } = await lockDir();
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 6 }, () =>
        withLock(lock, async () => {
          inside++;
          most = Math.max(most, inside);
          await new Promise((r) => setTimeout(r, 5));
          inside--;
        }),
      ),
    );
    expect(most).toBe(1);
  });

  it('a directory that cannot hold the lock is an error naming it', async () => {
    const { target } = await lockDir();
    await expect(withLock(path.join(target, 'sub.lock'), async () => 'x')).rejects.toMatchObject({
      code: expect.stringMatching(/^[A-Z_]+$/),
    });
  });
});

describe('withLock: whose lock is alive', () => {
  it('a live owner (pid + start time of a running process) is waited for, then LOCKED naming its pid', async () => {
    const { lock } = await lockDir();
    const other = await liveOther();
    const id = await identity(other.pid!);
    await fs.writeFile(lock, `${id.pid} ${id.start} ${id.boot} ${id.ns}\n`);
    const t0 = Date.now();
    await expect(withLock(lock, async () => 'ran', 200)).rejects.toMatchObject({
      code: 'LOCKED',
      data: { lockFile: lock, pid: other.pid },
      hint: expect.stringContaining(`pid ${other.pid}`),
      // #16 defect 10: the holder described (pid, command line, since, state) and the wait said.
      message: expect.stringMatching(
        new RegExp(
          `^${lock.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} is held by pid ${other.pid} \\(.*; waited 0\\.2 s$`,
        ),
      ),
    });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(200);
    expect(await fs.readFile(lock, 'utf8')).toContain(`${id.pid} ${id.start}`);
  });

  it('a dead pid, a recycled pid (live, other start time) and another boot are stale: taken over at once', async () => {
    const other = await liveOther();
    const id = await identity(other.pid!);
    for (const content of [
      `${DEAD_PID} ${id.start} ${id.boot} ${id.ns}\n`,
      `${id.pid} 1 ${id.boot} ${id.ns}\n`,
      `${id.pid} ${id.start} another-boot ${id.ns}\n`,
    ]) {
      const { dir, lock } = await lockDir();
      await fs.writeFile(lock, content);
      expect(await attempt(lock), content).toBe('ran');
      expect(await fs.readdir(dir)).toEqual(['hosts']);
    }
  });

  it('an owner in another pid namespace cannot be judged here: assumed alive', async () => {
    const { lock } = await lockDir();
    const id = await identity(process.pid);
    await fs.writeFile(lock, `${DEAD_PID} ${id.start} ${id.boot} pid:[1]\n`);
    expect(await attempt(lock)).toBe('LOCKED');
  });

  it('an unknown boot or namespace ("-") is judged by pid and start time', async () => {
    const { lock } = await lockDir();
    const other = await liveOther();
    const id = await identity(other.pid!);
    await fs.writeFile(lock, `${id.pid} ${id.start} - -\n`);
    expect(await attempt(lock)).toBe('LOCKED');
    await fs.writeFile(lock, `${DEAD_PID} ${id.start} - -\n`);
    expect(await attempt(lock)).toBe('ran');
  });

  it('an older apxs-ts lock (just a pid): a dead pid is stale, a live pid that started before it is alive, one started long after is recycled', async () => {
    const { lock } = await lockDir();
    await fs.writeFile(lock, `${DEAD_PID}\n`);
    expect(await attempt(lock)).toBe('ran');
    const other = await liveOther();
    await fs.writeFile(lock, `${other.pid}\n`);
    expect(await attempt(lock)).toBe('LOCKED');
    await backdate(lock, 60_000); // written a minute before its "owner" started
    expect(await attempt(lock)).toBe('ran');
  });

  it('an empty or garbage lock is being written while 1 s old at most, stale after', async () => {
    for (const content of ['', 'garbage\n']) {
      const { lock } = await lockDir();
      await fs.writeFile(lock, content);
      await expect(withLock(lock, async () => 'ran', 100)).rejects.toMatchObject({
        code: 'LOCKED',
        message: expect.stringMatching(/is held by .*; waited 0\.1 s$/),
        data: { pid: null },
        hint: expect.stringContaining('writing this lock'),
      });
      await backdate(lock, 1500);
      expect(await attempt(lock)).toBe('ran');
      // A garbage lock dated in the future is no fresher than one 1.5 s old.
      await fs.writeFile(lock, content);
      await backdate(lock, -5000);
      expect(await attempt(lock)).toBe('ran');
    }
  });
});

describe('withLock: what is a lock of which format', () => {
  // Each is fresh: read as this format's dead owner it is taken over at once
  // ('ran'); read as garbage being written it is waited for ('LOCKED').
  it.each([
    ['a dead owner without the final newline', `${DEAD_PID} 5 b n`, 'ran'],
    ['an older lock: a dead pid without a newline', `${DEAD_PID}`, 'ran'],
    ['text before the four fields', `v2 ${DEAD_PID} 5 b n\n`, 'LOCKED'],
    ['a fifth field', `${DEAD_PID} 5 b n extra\n`, 'LOCKED'],
    ["text before an older lock's pid", `x ${DEAD_PID}\n`, 'LOCKED'],
    ["text after an older lock's pid", `${DEAD_PID} junk\n`, 'LOCKED'],
  ])('%s', async (_what, content, outcome) => {
    const { lock } = await lockDir();
    await fs.writeFile(lock, content);
    expect(await attempt(lock, 100)).toBe(outcome);
  });
});

describe('takeOver: the re-check after the claim', () => {
  it('a lock replaced (new inode) between the look and the claim is not removed', async () => {
    const { dir, lock } = await lockDir();
    await fs.writeFile(lock, `${DEAD_PID} 77 gone-boot pid:[1]\n`);
    const stale = await seenOf(lock);
    // Another taker removed the stale lock and a live holder took the lock since.
    await fs.rm(lock);
    await fs.writeFile(lock, `${process.pid} 1 new-holder x\n`);
    const tmp = path.join(dir, '.taker.tmp');
    await fs.writeFile(tmp, `${process.pid} 1 taker x\n`);
    expect(await takeOver(lock, tmp, stale)).toBe(true); // the stale lock is gone either way
    expect(await fs.readFile(lock, 'utf8')).toBe(`${process.pid} 1 new-holder x\n`);
    expect((await fs.readdir(dir)).filter((f) => f.endsWith('.claim'))).toEqual([]);
  });

  it('a lock rewritten in place (same inode, other content) is not removed either', async () => {
    const { dir, lock } = await lockDir();
    await fs.writeFile(lock, `${DEAD_PID} 77 gone-boot pid:[1]\n`);
    const stale = await seenOf(lock);
    await fs.writeFile(lock, `${process.pid} 1 new-holder x\n`);
    const tmp = path.join(dir, '.taker.tmp');
    await fs.writeFile(tmp, 'taker\n');
    await takeOver(lock, tmp, stale);
    expect(await fs.readFile(lock, 'utf8')).toBe(`${process.pid} 1 new-holder x\n`);
  });

  it('a lock with the stale content at a new inode is another lock: not removed', async () => {
    const { dir, lock } = await lockDir();
    const content = `${DEAD_PID} 77 gone-boot pid:[1]\n`;
    await fs.writeFile(lock, content);
    const stale = await seenOf(lock);
    await fs.writeFile(path.join(dir, 'copy'), content); // allocated while the old inode is still in use
    await fs.rename(path.join(dir, 'copy'), lock);
    expect((await fs.stat(lock)).ino).not.toBe(stale.ino);
    const tmp = path.join(dir, '.taker.tmp');
    await fs.writeFile(tmp, 'taker\n');
    await takeOver(lock, tmp, stale);
    expect(await fs.readFile(lock, 'utf8')).toBe(content);
  });

  it('a stale lock already gone (another taker was quicker): done, nothing thrown', async () => {
    const { dir, lock } = await lockDir();
    await fs.writeFile(lock, `${DEAD_PID} 77 gone-boot pid:[1]\n`);
    const stale = await seenOf(lock);
    await fs.rm(lock);
    const tmp = path.join(dir, '.taker.tmp');
    await fs.writeFile(tmp, 'taker\n');
    expect(await takeOver(lock, tmp, stale)).toBe(true);
    expect((await fs.readdir(dir)).sort()).toEqual(['.taker.tmp', 'hosts']);
  });

  it('the lock still holding the stale identity is removed, and every claim on it with it', async () => {
    const { dir, lock } = await lockDir();
    const content = `${DEAD_PID} 77 gone-boot pid:[1]\n`;
    await fs.writeFile(lock, content);
    const stale = await seenOf(lock);
    const prefix = `hosts.apxs-ts.lock.stale-${stale.ino}-${createHash('sha256').update(content).digest('hex').slice(0, 16)}.`;
    // A claimant of slot 0 died while claiming: this taker takes slot 1.
    await fs.writeFile(
      path.join(dir, `${prefix}0.claim`),
      `${DEAD_PID - 1} 78 gone-boot pid:[1]\n`,
    );
    // Not claims on this lock: another identity's claim, and a file with this prefix that is no claim.
    const others = ['hosts.apxs-ts.lock.stale-1-00.0.claim', `${prefix}notes`];
    for (const f of others) await fs.writeFile(path.join(dir, f), `${DEAD_PID} 1 b n\n`);
    const tmp = path.join(dir, '.taker.tmp');
    await fs.writeFile(tmp, `${process.pid} 1 taker x\n`);
    expect(await takeOver(lock, tmp, stale)).toBe(true);
    expect((await fs.readdir(dir)).sort()).toEqual(['.taker.tmp', 'hosts', ...others].sort());
  });

  it("a live claimant's claim wins: this taker backs off and removes nothing", async () => {
    const { dir, lock } = await lockDir();
    const content = `${DEAD_PID} 77 gone-boot pid:[1]\n`;
    await fs.writeFile(lock, content);
    const stale = await seenOf(lock);
    const prefix = `hosts.apxs-ts.lock.stale-${stale.ino}-${createHash('sha256').update(content).digest('hex').slice(0, 16)}.`;
    const other = await liveOther();
    const id = await identity(other.pid!);
    await fs.writeFile(
      path.join(dir, `${prefix}0.claim`),
      `${id.pid} ${id.start} ${id.boot} ${id.ns}\n`,
    );
    const tmp = path.join(dir, '.taker.tmp');
    await fs.writeFile(tmp, 'taker\n');
    expect(await takeOver(lock, tmp, stale)).toBe(false);
    expect(await fs.readFile(lock, 'utf8')).toBe(content);
    expect(await fs.readdir(dir)).toContain(`${prefix}0.claim`);
    // ... and withLock waits on it (LOCKED) instead of taking the lock.
    expect(await attempt(lock)).toBe('LOCKED');
  });
});

describe('withLock: leftovers of killed processes', () => {
  it("removes dead writers' temps, dead lock temps and dead claims; keeps a live writer's temp", async () => {
    const { dir, lock } = await lockDir();
    const other = await liveOther();
    const id = await identity(other.pid!);
    const dead = [
      `.hosts.apxs-ts-${DEAD_PID}-abc.tmp`,
      `.hosts.apxs-ts.lock.${DEAD_PID}-55-abcd.tmp`,
      `.hosts.apxs-ts.lock.${id.pid}-1-abcd.tmp`, // that pid now runs, with another start time
      'hosts.apxs-ts.lock.stale-1-00.0.claim',
    ];
    for (const f of dead)
      await fs.writeFile(path.join(dir, f), f.endsWith('.claim') ? `${DEAD_PID} 1 b n\n` : 'x');
    const kept = [
      `.hosts.apxs-ts-${id.pid}-abc.tmp`,
      `.hosts.apxs-ts.lock.${id.pid}-${id.start}-abcd.tmp`,
      'hosts.apxs-ts.lock.stale-1-00.1.claim',
      'unrelated.tmp',
      // Names that only look like ours: not a .tmp, not our prefix, no pid right after the prefix, a claim of no lock here.
      `.hosts.apxs-ts-${DEAD_PID}-abc.keep`,
      `.hosts.apxs-ts-x${DEAD_PID}-abc.tmp`,
      `.hosts.apxs-ts.lock.${DEAD_PID}-55-x.keep`,
      `.hosts.apxs-ts.lock.x${DEAD_PID}-55-abcd.tmp`,
      `my-notes-of-the-day.${DEAD_PID}-55-x.tmp`,
    ];
    for (const f of kept)
      await fs.writeFile(
        path.join(dir, f),
        f.endsWith('.claim') ? `${id.pid} ${id.start} ${id.boot} ${id.ns}\n` : 'x',
      );
    // A claim of no lock here, naming a dead process: not ours to remove.
    await fs.writeFile(path.join(dir, 'notes.claim'), `${DEAD_PID} 1 b n\n`);
    kept.push('notes.claim');
    expect(await attempt(lock)).toBe('ran');
    expect((await fs.readdir(dir)).sort()).toEqual(['hosts', ...kept].sort());
  });
});
