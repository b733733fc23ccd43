/**
 * The identity rule is checked again right before every signal
 * (lib/ctl/identity.ts signalOurs): a pid found a moment ago may be another
 * program by the time it is signalled. Here a process that is this root's
 * "httpd" (its exe is ROOT/bin/httpd, a copy of bash, and its command line
 * names `-d ROOT`) exec()s /bin/sleep between the lookup and the signal:
 * the same pid, now another program, must survive every way of ending a
 * server. Without the re-check, each of these sends it a signal.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { promises as fs, readlinkSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  endProcesses,
  findServerProcesses,
  forceStop,
  isOurHttpd,
  signalOurs,
} from '../../lib/ctl/identity.js';
import { readTextIfAny } from '../../lib/core/fs.js';
import { detectServerRoot, type ServerRoot } from '../../lib/httpd/server-root.js';
import { tmpDir } from '../helpers.js';

const started: ChildProcess[] = [];
afterEach(() => {
  for (const c of started.splice(0))
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** An httpd prefix whose bin/httpd is a copy of bash: a binary of this root that the test can run. */
async function fakeRoot(): Promise<ServerRoot> {
  const root = await tmpDir('apxs-ts-identity-');
  await fs.mkdir(path.join(root, 'bin'));
  await fs.mkdir(path.join(root, 'conf'));
  await fs.copyFile('/bin/bash', path.join(root, 'bin', 'httpd'));
  await fs.chmod(path.join(root, 'bin', 'httpd'), 0o755);
  await fs.writeFile(path.join(root, 'conf', 'httpd.conf'), '');
  return detectServerRoot(root);
}

/**
 * Starts `ROOT/bin/httpd -c SCRIPT -d ROOT` as its own session leader (as a
 * daemonized httpd parent is). SCRIPT waits for a line on stdin, then
 * exec()s /bin/sleep: same pid, another program.
 */
async function startShapeShifter(sr: ServerRoot): Promise<ChildProcess> {
  const child = spawn(sr.httpd, ['-c', 'read line; exec /bin/sleep 300', '-d', sr.root], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  started.push(child);
  await until(() => isOurHttpd(child.pid!, sr));
  return child;
}

async function until(cond: () => Promise<boolean> | boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 10));
  }
}

const exeOf = (pid: number) => {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return undefined;
  }
};

/** Makes the process exec /bin/sleep and waits until /proc shows the new program. */
async function shapeShift(child: ChildProcess): Promise<void> {
  child.stdin!.write('\n');
  await until(() => exeOf(child.pid!) !== undefined && /sleep$/.test(exeOf(child.pid!)!));
}

const alive = (c: ChildProcess) =>
  c.exitCode === null && c.signalCode === null && exeOf(c.pid!) !== undefined;

describe('identity is checked again right before a signal', () => {
  it('a found parent that became another program before the signal survives endProcesses, signalOurs and forceStop', async () => {
    const sr = await fakeRoot();
    for (const end of ['endProcesses', 'signalOurs', 'forceStop'] as const) {
      const child = await startShapeShifter(sr);
      const found = await findServerProcesses(sr);
      expect(found.parents).toEqual([child.pid]); // it was this server's httpd when found
      await shapeShift(child);
      let sent: number[] = [];
      if (end === 'endProcesses') sent = (await endProcesses(sr, found.parents, 50)).ended;
      if (end === 'signalOurs') sent = await signalOurs(sr, found.parents, 'SIGKILL');
      if (end === 'forceStop')
        await forceStop(sr, path.join(sr.root, 'logs', 'httpd.pid'), child.pid);
      expect(sent, end).toEqual([]);
      await new Promise((r) => setTimeout(r, 50)); // a signal sent would have landed by now
      expect(alive(child), `${end}: the pid that is now /bin/sleep is still alive`).toBe(true);
      child.kill('SIGKILL');
    }
  });

  it("the same process, still this root's httpd, is ended (the check passes what it should)", async () => {
    const sr = await fakeRoot();
    const child = await startShapeShifter(sr);
    const found = await findServerProcesses(sr);
    const exited = new Promise((r) => child.once('exit', r));
    expect((await endProcesses(sr, found.parents, 50)).ended).toEqual([child.pid]);
    await exited;
    expect(alive(child)).toBe(false);
  });
});

describe("which processes are this root's httpd: parents, workers, orphans", () => {
  it('a session leader is a parent; its worker is neither; once the parent is killed the worker is an orphan; a launcher with a live session is neither', async () => {
    const sr = await fakeRoot();
    // The "parent" leads its own session (detached) and starts a "worker": the same binary ($BASH), -d ROOT.
    // Neither forks again (a fork is, until its exec, one more process of this identity). The worker
    // waits on a FIFO it holds open for reading and writing, never at EOF: not on a pipe from this
    // test, which Node closes when the parent exits.
    spawnSync('mkfifo', [path.join(sr.root, 'w.fifo')]);
    const parent = spawn(
      sr.httpd,
      [
        '-c',
        `"$BASH" -c 'exec 3<>"$1/w.fifo"; read x <&3' -d "$1" & echo $!; read y`,
        '-d',
        sr.root,
      ],
      { detached: true, stdio: ['pipe', 'pipe', 'ignore'] },
    );
    started.push(parent);
    const worker = Number(
      await new Promise<string>((r) => parent.stdout!.once('data', (d) => r(String(d).trim()))),
    );
    // A launcher: this root's binary, not detached (its session leader, above this test, lives), no parent of ours.
    const launcher = spawn(sr.httpd, ['-c', 'read x', '-d', sr.root], {
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    started.push(launcher);
    // Until each has exec()ed: a fork before its exec still shows its parent's command line.
    const cmdOf = (pid: number) => (readTextIfAny(`/proc/${pid}/cmdline`) ?? '').split('\0');
    await until(
      async () =>
        cmdOf(worker)[2] === 'exec 3<>"$1/w.fifo"; read x <&3' &&
        cmdOf(launcher.pid!)[2] === 'read x' &&
        (await isOurHttpd(worker, sr)) &&
        (await isOurHttpd(launcher.pid!, sr)) &&
        (await isOurHttpd(parent.pid!, sr)),
    );
    const before = await findServerProcesses(sr);
    expect(before.all.map((p) => p.pid).sort()).toEqual([parent.pid, worker, launcher.pid].sort());
    expect(before.parents).toEqual([parent.pid]);
    expect(before.orphans).toEqual([]);
    process.kill(parent.pid!, 'SIGKILL');
    await until(async () => (await findServerProcesses(sr)).orphans.length === 1);
    const after = await findServerProcesses(sr);
    expect(after.orphans).toEqual([worker]);
    expect(after.parents).toEqual([]);
    const { ended } = await endProcesses(sr, after.orphans, 50);
    expect(ended).toEqual([worker]);
    expect(exeOf(worker)).toBeUndefined();
  });

  it('a launcher whose session leader is gone (a CI runner, nohup after logout) but whose parent lives in its session is neither parent nor orphan', async () => {
    const sr = await fakeRoot();
    spawnSync('mkfifo', [path.join(sr.root, 'l.fifo')]);
    // sh leads a new session, starts a subshell (its session) that runs the launcher as a child and
    // waits for it, and exits: the session's leader is gone, the launcher's parent lives.
    const leader = spawn(
      '/bin/sh',
      [
        '-c',
        '( "$0" -c \'exec 3<>"$1/l.fifo"; read x <&3\' -d "$1"; : ) & echo $!',
        sr.httpd,
        sr.root,
      ],
      { detached: true, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const sub = Number(
      await new Promise<string>((r) => leader.stdout!.once('data', (d) => r(String(d).trim()))),
    );
    await new Promise((r) => (leader.exitCode === null ? leader.once('exit', r) : r(undefined)));
    let launcher = 0;
    try {
      await until(async () => {
        const found = await findServerProcesses(sr);
        launcher = found.all[0]?.pid ?? 0;
        return (
          found.all.length === 1 &&
          (readTextIfAny(`/proc/${launcher}/cmdline`) ?? '').includes('l.fifo')
        );
      });
      const found = await findServerProcesses(sr);
      expect(found.parents).toEqual([]);
      expect(found.orphans).toEqual([]);
      // The same launcher, once its parent is gone too, is re-parented: an orphan.
      process.kill(sub, 'SIGKILL');
      await until(async () => (await findServerProcesses(sr)).orphans.length === 1);
      expect((await findServerProcesses(sr)).orphans).toEqual([launcher]);
    } finally {
      // Whatever failed above: nothing of this root is left running (never pid 0: that is our group).
      const left = (await findServerProcesses(sr)).all.map((p) => p.pid);
      for (const pid of [sub, launcher, ...left].filter((p) => p > 0))
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          /* gone */
        }
    }
  });

  it('a process that ignores SIGTERM is SIGKILLed after the grace time; forceStop also removes the pid file', async () => {
    const sr = await fakeRoot();
    const stubborn = spawn(
      sr.httpd,
      ['-c', "trap '' TERM; echo ready; while :; do sleep 0.05; done", '-d', sr.root],
      { detached: true, stdio: ['pipe', 'pipe', 'ignore'] },
    );
    started.push(stubborn);
    await new Promise((r) => stubborn.stdout!.once('data', r)); // the trap is set
    await until(() => isOurHttpd(stubborn.pid!, sr));
    const r = await endProcesses(sr, [stubborn.pid!], 100);
    expect(r).toEqual({ ended: [stubborn.pid], killed: [stubborn.pid] });
    expect(exeOf(stubborn.pid!)).toBeUndefined();
    const again = spawn(sr.httpd, ['-c', 'read x', '-d', sr.root], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    started.push(again);
    await until(() => isOurHttpd(again.pid!, sr));
    const pidFile = path.join(sr.root, 'httpd.pid');
    await fs.writeFile(pidFile, `${again.pid}\n`);
    await forceStop(sr, pidFile, undefined);
    expect(exeOf(again.pid!)).toBeUndefined();
    await expect(fs.stat(pidFile)).rejects.toThrow();
  });
});
