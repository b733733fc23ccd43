/**
 * Attacks on `apxs-ts debug` (issue #21) its own tests did not name: two
 * batch debugs on one root at once, debug killed (-9) at each step
 * (failpoints debug:spawned, debug:listening), and gdb init files planted
 * where gdb would read them (the working directory, $HOME, a `-gdb.py` next
 * to the module's .so).
 */
import { execFileSync, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, cli, newSandbox, tmpDir } from '../helpers.js';

const roots: string[] = [];
afterAll(async () => {
  for (const root of roots) await cli(['ctl', 'stop', '--server-root', root]);
});

const debug = (root: string, dir: string, env: Record<string, string> = {}) =>
  cli(['debug', '--server-root', root, '--json', '--request', '/x'], {
    cwd: dir,
    timeoutMs: 240_000,
    env,
  });

/** gdb or httpd processes whose command line names `root`. */
function leftovers(root: string): string[] {
  let out = '';
  try {
    out = execFileSync('ps', ['-eo', 'pid,args']).toString();
  } catch {
    /* none */
  }
  return out
    .split('\n')
    .filter(
      (l) => l.includes(root) && /gdb|apache2|httpd|valgrind/.test(l) && !l.includes('vitest'),
    );
}

async function moduleRoot(): Promise<{ sr: string; dir: string; work: string }> {
  const { work, sr } = await newSandbox(roots);
  expect(
    (await cli(['new', 'dbg', '--template', 'hello', '--server-root', sr], { cwd: work })).code,
  ).toBe(0);
  const dir = path.join(work, 'mod_dbg');
  const inst = await cli(['install', '--server-root', sr], { cwd: dir });
  expect(inst.code, inst.stderr).toBe(0);
  return { sr, dir, work };
}

describe('apxs-ts debug: attacks its tests did not name', () => {
  it('two debugs on one root at once, 3 rounds: each reaches the breakpoint in turn or is refused (IN_USE), never a wrong answer; nothing left running', async () => {
    const { sr, dir } = await moduleRoot();
    const outcomes: string[] = [];
    for (let round = 0; round < 3; round++) {
      const both = await Promise.all([debug(sr, dir), debug(sr, dir)]);
      outcomes.push(
        both
          .map((r) => `exit ${r.code} ${r.json?.error?.code ?? `hit=${r.json?.hit}`}`)
          .join(' | '),
      );
      // Serialized by the lock (the second waits its turn: both work) or refused clearly; never a wrong answer.
      const ok = both.filter((r) => r.code === 0 && r.json?.hit === true);
      const refused = both.filter((r) => r.code !== 0 && r.json?.error?.code === 'IN_USE');
      expect(ok.length, outcomes.join('\n')).toBeGreaterThanOrEqual(1);
      expect(ok.length + refused.length, outcomes.join('\n')).toBe(2);
      expect(leftovers(sr), outcomes.join('\n')).toEqual([]);
    }
  }, 600_000);

  for (const step of ['debug:spawned', 'debug:listening']) {
    it(`debug killed (-9) at ${step}: the next debug is refused naming the running httpd, ctl stop (identity-checked) ends it, gdb with it`, async () => {
      const { sr, dir, work } = await moduleRoot();
      const mark = path.join(work, 'FP_MARK');
      const killed = await debug(sr, dir, {
        APXS_TS_FAILPOINT: step,
        APXS_TS_FAILPOINT_MARK: mark,
      });
      expect(killed.code).not.toBe(0);
      expect((await fs.readFile(mark, 'utf8')).trim()).toBe(step);
      // Let the orphaned httpd write its pid file.
      for (
        let i = 0;
        i < 100 &&
        !(await fs.stat(path.join(sr, 'logs', 'httpd.pid')).then(
          () => true,
          () => false,
        ));
        i++
      )
        await new Promise((r) => setTimeout(r, 100));
      const next = await debug(sr, dir);
      expect(next.code, next.stdout).not.toBe(0);
      expect(next.json?.error?.code).toBe('IN_USE');
      expect(next.json?.error?.hint).toContain('ctl stop');
      const stop = await cli(['ctl', 'stop', '--server-root', sr]);
      expect(stop.code, stop.stderr).toBe(0);
      for (let i = 0; i < 100 && leftovers(sr).length; i++)
        await new Promise((r) => setTimeout(r, 100));
      expect(leftovers(sr)).toEqual([]);
      const again = await debug(sr, dir);
      expect(again.code, again.stdout).toBe(0);
      expect(again.json.hit).toBe(true);
    }, 300_000);
  }

  it("gdb init files planted in the working directory, $HOME and next to the module's .so: 0 of 3 run", async () => {
    const { sr, dir } = await moduleRoot();
    const home = await tmpDir('apxs-ts-attack-debug-home-');
    const marks = ['CWD', 'HOME', 'PY'].map((m) => path.join(home, `MARK_${m}`));
    await fs.writeFile(path.join(dir, '.gdbinit'), `shell touch ${marks[0]}\n`);
    await fs.writeFile(path.join(home, '.gdbinit'), `shell touch ${marks[1]}\n`);
    await fs.writeFile(path.join(sr, 'modules', 'mod_dbg.so-gdb.py'), `open('${marks[2]}', 'w')\n`);
    const r = await debug(sr, dir, { HOME: home });
    expect(r.code, r.stdout).toBe(0);
    expect(r.json.hit).toBe(true);
    const ran = [];
    for (const m of marks)
      if (
        await fs.stat(m).then(
          () => true,
          () => false,
        )
      )
        ran.push(m);
    expect(ran).toEqual([]);
  }, 300_000);

  it('a module built with --sanitize address: gdb reaches the breakpoint (the runtime preloaded into httpd, not into gdb); valgrind is refused clearly; rebuilt without, the preload is gone and valgrind reports 0 errors', async () => {
    const { work, sr } = await newSandbox(roots);
    expect(
      (await cli(['new', 'san', '--template', 'hello', '--server-root', sr], { cwd: work })).code,
    ).toBe(0);
    const dir = path.join(work, 'mod_san');
    expect(
      (await cli(['build', '--sanitize', 'address', '--server-root', sr], { cwd: dir })).code,
    ).toBe(0);
    expect((await cli(['install', '--server-root', sr], { cwd: dir })).code).toBe(0);
    const gdb = await cli(
      ['debug', '--server-root', sr, '--json', '--request', '/x', '--timeout', '60'],
      { cwd: dir, timeoutMs: 120_000 },
    );
    expect(gdb.code, gdb.stdout + gdb.stderr).toBe(0);
    expect(gdb.json.hit).toBe(true);
    expect(leftovers(sr)).toEqual([]);
    const vg = await cli(
      ['debug', '--valgrind', '--server-root', sr, '--json', '--request', '/x', '--timeout', '60'],
      { cwd: dir, timeoutMs: 120_000 },
    );
    expect(vg.code, vg.stdout).toBe(2);
    expect(vg.json.error.code).toBe('UNSUPPORTED');
    expect(vg.json.error.message).toMatch(/--sanitize/);
    expect(leftovers(sr)).toEqual([]);
    // Rebuilt without (--sanitize none, the saved setting taken out) and installed: no runtime preloaded into the started httpd.
    expect(
      (await cli(['build', '--sanitize', 'none', '--server-root', sr], { cwd: dir })).code,
    ).toBe(0);
    expect((await cli(['install', '--server-root', sr], { cwd: dir })).code).toBe(0);
    const st = await cli(['ctl', 'start', '--server-root', sr, '--json']);
    expect(st.code, st.stdout).toBe(0);
    const environ = await fs.readFile(`/proc/${st.json.pid}/environ`, 'utf8');
    expect(environ).not.toMatch(/libasan|ASAN_OPTIONS/);
    expect((await cli(['ctl', 'stop', '--server-root', sr])).code).toBe(0);
    const clean = await cli(
      ['debug', '--valgrind', '--server-root', sr, '--json', '--request', '/x'],
      { cwd: dir, timeoutMs: 240_000 },
    );
    expect(clean.code, clean.stdout).toBe(0);
    expect(clean.json.errorCount).toBe(0);
  }, 600_000);

  it('a breakpoint never reached: debug answers NOT_FOUND and leaves neither gdb nor httpd running', async () => {
    const { sr, dir } = await moduleRoot();
    const r = await cli(
      [
        'debug',
        '--server-root',
        sr,
        '--json',
        '--request',
        '/',
        '--break',
        'no_such_function_here',
      ],
      { cwd: dir, timeoutMs: 240_000 },
    );
    expect(r.code, r.stdout).toBe(1);
    expect(r.json.error.code).toBe('NOT_FOUND');
    for (let i = 0; i < 50 && leftovers(sr).length; i++)
      await new Promise((res) => setTimeout(res, 100));
    expect(leftovers(sr)).toEqual([]);
  }, 300_000);

  // The signal lands while debug waits for a breakpoint that is never reached (its longest wait, after the request).
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    it(`${sig} to debug alone (not its process group) while it waits: exit 130, neither gdb nor httpd left running`, async () => {
      const { sr, dir } = await moduleRoot();
      const child = spawn(
        process.execPath,
        [
          CLI,
          'debug',
          '--server-root',
          sr,
          '--json',
          '--request',
          '/',
          '--break',
          'no_such_function_here',
        ],
        {
          cwd: dir,
          env: process.env,
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
      const code = new Promise<number | null>((res) => child.on('exit', (c) => res(c)));
      // Until httpd under gdb has answered the request (the access log has it): debug is then in its wait.
      const access = path.join(sr, 'logs', 'access_log');
      for (let i = 0; i < 300; i++) {
        if ((await fs.readFile(access, 'utf8').catch(() => '')).includes('GET / ')) break;
        await new Promise((res) => setTimeout(res, 100));
      }
      expect(leftovers(sr).length).toBeGreaterThan(0);
      child.kill(sig);
      expect(await code, out).toBe(130);
      for (let i = 0; i < 50 && leftovers(sr).length; i++)
        await new Promise((res) => setTimeout(res, 100));
      expect(leftovers(sr)).toEqual([]);
    }, 300_000);
  }
});
