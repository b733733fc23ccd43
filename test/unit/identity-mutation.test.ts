/**
 * lib/ctl/identity.ts against its surviving mutants (issue #16): which
 * process of this root is a parent, a worker or an orphan in the process
 * trees a real server has (a setsid'd child of a parent, a worker whose
 * parent died while its session leader lives, a session whose leader is a
 * zombie), and that ending processes waits for them to be gone (zombies
 * included) without waiting out its grace time, and kills what ignores
 * SIGTERM. Every tree is built here, each in sessions of its own, so the
 * results do not depend on the test runner's session (its leader may be
 * dead, as on CI runners).
 *
 * "Ours" is a copy of bash at ROOT/bin/httpd run with `-d ROOT`; a process
 * of ours that only blocks (`read` on a FIFO it holds open) never forks, so
 * no transient fork is counted as one more process of ours.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promises as fs, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { endProcesses, findServerProcesses, forceStop } from '../../lib/ctl/identity.js';
import { detectServerRoot, type ServerRoot } from '../../lib/httpd/server-root.js';
import { tmpDir } from '../helpers.js';

const TAG = 'APXS_TS_IDFIX';
const tags: string[] = [];

/** Kills every process this file started (they all carry its tag in their environment). */
afterEach(() => {
  for (const tag of tags.splice(0)) {
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        if (readFileSync(`/proc/${d}/environ`, 'latin1').split('\0').includes(`${TAG}=${tag}`))
          process.kill(Number(d), 'SIGKILL');
      } catch {
        // gone, or not readable
      }
    }
  }
});

interface Stat {
  state: string;
  ppid: number;
  session: number;
}
function stat(pid: number): Stat | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { state: f[0]!, ppid: Number(f[1]), session: Number(f[3]) };
  } catch {
    return undefined;
  }
}
const gone = (pid: number) => {
  const s = stat(pid);
  return !s || s.state === 'Z';
};

async function until(
  cond: () => Promise<boolean> | boolean,
  what: string,
  ms = 20_000,
): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`not reached in ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A root whose bin/httpd is bash, a FIFO that the blocking processes read, and the environment the scripts use. */
async function fixture(): Promise<{
  sr: ServerRoot;
  env: NodeJS.ProcessEnv;
  run: (cmd: string, script: string, detached: boolean) => ChildProcess;
}> {
  const root = await tmpDir('apxs-ts-idmut-');
  await fs.mkdir(path.join(root, 'bin'));
  await fs.mkdir(path.join(root, 'conf'));
  await fs.copyFile('/bin/bash', path.join(root, 'bin', 'httpd'));
  await fs.chmod(path.join(root, 'bin', 'httpd'), 0o755);
  await fs.writeFile(path.join(root, 'conf', 'httpd.conf'), '');
  spawnSync('mkfifo', [path.join(root, 'w.fifo')]);
  const sr = await detectServerRoot(root);
  const tag = randomBytes(6).toString('hex');
  tags.push(tag);
  const env = {
    ...process.env,
    [TAG]: tag,
    H: sr.httpd,
    R: sr.root,
    BLOCK: 'exec 3<>"$R/w.fifo"; read x <&3', // blocks for good, never forks
  };
  // cmd 'ours': ROOT/bin/httpd -c SCRIPT -d ROOT; cmd 'bash': a helper that is not ours.
  const run = (cmd: string, script: string, detached: boolean) =>
    spawn(
      cmd === 'ours' ? sr.httpd : '/bin/bash',
      cmd === 'ours' ? ['-c', script, '-d', sr.root] : ['-c', script],
      { detached, env, stdio: 'ignore' },
    );
  return { sr, env, run };
}

/**
 * Waits until this root has `n` processes: `top` and others that each run BLOCK as their -c (so none
 * is a fork before its exec) and pass `extra`.
 */
async function settled(
  sr: ServerRoot,
  n: number,
  top: number | undefined,
  extra: (pid: number) => boolean = () => true,
) {
  await until(async () => {
    const { all } = await findServerProcesses(sr);
    return (
      all.length === n &&
      all.every(
        (p) =>
          p.pid === top ||
          (p.cmdline[2]?.endsWith('exec 3<>"$R/w.fifo"; read x <&3') === true && extra(p.pid)),
      )
    );
  }, `${n} processes of the root`);
  return findServerProcesses(sr);
}

describe('parents, workers and orphans in the trees a server has', () => {
  it('a child of a parent that made its own session (the detaching fork of `httpd -k start`) is not a second parent', async () => {
    const { sr, run } = await fixture();
    // P leads its session; its child C runs setsid: pid = session, parent P.
    const p = run('ours', 'setsid "$H" -c "$BLOCK" -d "$R" & eval "$BLOCK"', true);
    const found = await settled(sr, 2, p.pid, (pid) => stat(pid)?.session === pid);
    const c = found.all.find((x) => x.pid !== p.pid)!;
    expect(c.ppid).toBe(p.pid);
    expect(found.parents).toEqual([p.pid]);
    expect(found.orphans).toEqual([]);
  });

  it('a worker whose parent died while its session leader lives: an orphan when re-parented to init', async () => {
    const { sr, run } = await fixture();
    // P leads the session; a helper (not ours) starts W and exits: W is re-parented.
    const p = run('ours', 'bash -c \'"$H" -c "$BLOCK" -d "$R" & exit 0\'; eval "$BLOCK"', true);
    const found = await settled(sr, 2, p.pid, (pid) => {
      const ppid = stat(pid)?.ppid;
      return ppid !== undefined && ppid !== p.pid && !isHelper(ppid);
    });
    const w = found.all.find((x) => x.pid !== p.pid)!;
    expect(w.session).toBe(p.pid);
    expect(found.parents).toEqual([p.pid]);
    if (w.ppid === 1) expect(found.orphans).toEqual([w.pid]);
    else expect(found.orphans).toEqual([]); // a subreaper took it: the session leader lives, so by the rule it is not an orphan
  });

  it("a worker whose parent moved to another session, while the worker's session leader lives, is not an orphan", async () => {
    const { sr, run } = await fixture();
    // P leads the session; helper M starts W, then setsid()s itself away (exec setsid: M is no group leader).
    const p = run(
      'ours',
      'bash -c \'"$H" -c "$BLOCK" -d "$R" & exec setsid bash -c "$BLOCK"\' & eval "$BLOCK"',
      true,
    );
    const found = await settled(sr, 2, p.pid, sessionOfParentDiffers);
    const w = found.all.find((x) => x.pid !== p.pid)!;
    expect(w.session).toBe(p.pid);
    expect(found.parents).toEqual([p.pid]);
    expect(found.orphans).toEqual([]);
  });

  // A session whose leader is a zombie: its leader SL (setsid) starts L and exits; SL's parent has exec()ed
  // sleep, which never reaps, so SL stays a zombie (not alive, still in /proc).
  const zombieLeader = (l: string) => `setsid bash -c '${l} & sleep 0.2; exit 0' & exec sleep 60`;

  it('a worker whose session leader is a zombie and whose parent lives in another session is an orphan', async () => {
    const { sr, run } = await fixture();
    run(
      'bash',
      zombieLeader(
        'bash -c "\\"\\$H\\" -c \\"\\$BLOCK\\" -d \\"\\$R\\" & exec setsid bash -c \\"\\$BLOCK\\""',
      ),
      false,
    );
    const found = await settled(
      sr,
      1,
      undefined,
      (w) => stat(stat(w)!.session)?.state === 'Z' && sessionOfParentDiffers(w),
    );
    const w = found.all[0]!;
    expect(found.parents).toEqual([]);
    expect(found.orphans).toEqual([w.pid]);
  });

  it('a worker whose session leader is a zombie but whose parent lives in its session (a CI launcher) is not an orphan', async () => {
    const { sr, run } = await fixture();
    run(
      'bash',
      zombieLeader('bash -c "\\"\\$H\\" -c \\"\\$BLOCK\\" -d \\"\\$R\\" & eval \\"\\$BLOCK\\""'),
      false,
    );
    const found = await settled(
      sr,
      1,
      undefined,
      (w) =>
        stat(stat(w)!.session)?.state === 'Z' &&
        isHelper(stat(w)!.ppid) &&
        stat(stat(w)!.ppid)?.session === stat(w)!.session,
    );
    expect(found.parents).toEqual([]);
    expect(found.orphans).toEqual([]);
  });
});

/** A helper of these trees: a bash that is not ours. */
function isHelper(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')[0] === 'bash';
  } catch {
    return false;
  }
}
function sessionOfParentDiffers(pid: number): boolean {
  const s = stat(pid);
  const parent = s && stat(s.ppid);
  return !!s && !!parent && isHelper(s.ppid) && parent.session !== s.session;
}

describe('ending processes', () => {
  const TRAP = (onTerm: string) => `trap '${onTerm}' TERM; while :; do sleep 0.05; done`;

  it('one that exits some time after SIGTERM is waited for within the grace time, not SIGKILLed; the wait ends when it is gone', async () => {
    const { sr, run } = await fixture();
    const p = run('ours', TRAP('sleep 0.3; exit 0'), true);
    await until(
      async () =>
        (await findServerProcesses(sr)).parents.includes(p.pid!) &&
        (await fs.readFile(`/proc/${p.pid}/cmdline`, 'utf8')).includes('trap'),
      'started',
    );
    await new Promise((r) => setTimeout(r, 100)); // the trap is set before the loop starts
    const t0 = Date.now();
    const r = await endProcesses(sr, [p.pid!], 60_000);
    expect(r).toEqual({ ended: [p.pid], killed: [] });
    expect(gone(p.pid!)).toBe(true);
    // Not the 60 s grace: the wait stops once the process is gone (a bound far above any load).
    expect(Date.now() - t0).toBeLessThan(30_000);
  });

  it('one whose parent never reaps it (a zombie) counts as gone once it exits', async () => {
    const { sr, run } = await fixture();
    // The worker's parent exec()s sleep, which never waits for it.
    run('bash', `"$H" -c "${TRAP('exit 0').replace(/"/g, '\\"')}" -d "$R" & exec sleep 60`, false);
    let w = 0;
    await until(async () => {
      const { all } = await findServerProcesses(sr);
      w = all[0]?.pid ?? 0;
      return (
        all.length >= 1 &&
        (await fs.readFile(`/proc/${w}/cmdline`, 'utf8').catch(() => '')).includes('trap')
      );
    }, 'the worker runs');
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    const r = await endProcesses(sr, [w], 60_000);
    expect(r).toEqual({ ended: [w], killed: [] });
    expect(stat(w)?.state).toBe('Z'); // still in /proc, as a zombie
    expect(Date.now() - t0).toBeLessThan(30_000);
  });

  it('forceStop SIGKILLs what ignores SIGTERM, workers included, and removes the pid file', async () => {
    const { sr, run } = await fixture();
    const p = run(
      'ours',
      `"$H" -c "trap '' TERM; $BLOCK" -d "$R" & trap '' TERM; eval "$BLOCK"`,
      true,
    );
    const found = await settled(sr, 2, p.pid);
    expect(found.all.map((x) => x.pid)).toContain(p.pid);
    const pidFile = path.join(sr.root, 'httpd.pid');
    await fs.writeFile(pidFile, `${p.pid}\n`);
    await forceStop(sr, pidFile, p.pid);
    for (const x of found.all) expect(gone(x.pid), `pid ${x.pid}`).toBe(true);
    await expect(fs.stat(pidFile)).rejects.toThrow();
  });
});
