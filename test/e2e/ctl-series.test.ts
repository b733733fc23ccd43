/**
 * `apxs-ts ctl` on every httpd series (issue #10): 1.3.42, 2.0.65 and 2.2.34
 * built from the shared archive (test/series-builds.ts, once per boot) and
 * the system 2.4 in a sandbox. What differs and is checked here: 1.3 starts
 * without `-k start` (it has none and detaches by itself); graceful-stop
 * (SIGWINCH, from 2.2 on) is refused on 1.3 and 2.0 before anything is
 * signalled; the new generation after graceful and restart is recognised on
 * each; the parent, its workers, the pid file and orphans look the same in
 * /proc on each; status names the version.
 */
import { spawnSync } from 'node:child_process';
import { promises as fs, realpathSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canBind } from '../../lib/core/ports.js';
import { childrenOf, procInfo, sleep } from '../../lib/core/proc.js';
import { processesOf } from '../../lib/ctl/identity.js';
import { lastLines } from '../../lib/core/run.js';
import { reasonLines } from '../../lib/ctl/start.js';
import { cli, get, newSandbox } from '../helpers.js';
import { withBuiltHttpd } from '../series-builds.js';

const SYSTEM_HTTPD = '/usr/sbin/apache2';
const sandboxes: string[] = [];
afterAll(async () => {
  for (const sr of sandboxes) await cli(['ctl', 'stop', '--server-root', sr]);
});

const ctl = (root: string, ...args: string[]) =>
  cli(['ctl', ...args, '--server-root', root, '--json'], { timeoutMs: 90_000 });

interface Server {
  root: string;
  port: number;
  binary: string;
}

/** How many generations the error log has announced ("resuming normal operations": 1.3 to 2.4 alike). */
async function generations(root: string): Promise<number> {
  const r = await cli(['ctl', 'logs', '-n', '5000', '--server-root', root, '--json']);
  return ((r.json?.lines as string[] | undefined) ?? []).filter((l) =>
    /resuming normal operations/.test(l),
  ).length;
}

/** Waits until a worker of `parent` that was not in `before` exists: the new generation's. */
async function newWorker(parent: number, before: Set<number>): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    if ((await childrenOf(parent)).some((c) => !before.has(c))) return true;
    await sleep(50);
  }
  return false;
}

/** The /proc layout ctl's identity rule relies on, for a running parent. */
async function checkLayout(s: Server, pid: number, withK: boolean): Promise<void> {
  const parent = await procInfo(pid);
  expect(parent?.exe?.replace(/ \(deleted\)$/, '')).toBe(realpathSync(s.binary));
  const d = parent!.cmdline.indexOf('-d');
  expect(d).toBeGreaterThan(0);
  expect(path.resolve(parent!.cmdline[d + 1]!)).toBe(path.resolve(s.root));
  expect(parent!.cmdline.includes('-k')).toBe(withK);
  expect(parent!.session).toBe(pid); // it leads its own session: detached with setsid
  const workers = await childrenOf(pid);
  expect(workers.length).toBeGreaterThan(0);
  for (const w of workers) {
    const info = await procInfo(w);
    if (!info || info.state === 'Z') continue; // an exiting worker
    expect(info.session).toBe(pid);
  }
  const ours = await processesOf(s.binary, s.root);
  expect(ours).toContain(pid);
  expect(workers.filter((w) => !ours.includes(w))).toEqual([]);
}

/** Nothing of this root runs, nothing listens on its port, no pid file. */
async function expectGone(s: Server): Promise<void> {
  expect(await processesOf(s.binary, s.root)).toEqual([]);
  expect(await canBind(s.port)).toBe(true);
  await expect(fs.stat(path.join(s.root, 'logs', 'httpd.pid'))).rejects.toThrow();
}

async function lifecycle(
  s: Server,
  version: RegExp,
  gracefulStop: boolean,
  withK: boolean,
): Promise<void> {
  const start = await ctl(s.root, 'start');
  expect(start.code, start.stdout).toBe(0);
  expect(start.json.health.status).toBe(200);
  const pid = start.json.pid as number;
  expect(await fs.readFile(path.join(s.root, 'logs', 'httpd.pid'), 'utf8')).toContain(String(pid));
  await checkLayout(s, pid, withK);

  const st = await ctl(s.root, 'status');
  expect(st.code, st.stdout).toBe(0);
  expect(st.json).toMatchObject({ running: true, healthy: true, pid });
  expect(st.json.version).toMatch(version);

  for (const verb of ['graceful', 'restart']) {
    const before = new Set(await childrenOf(pid));
    const gens = await generations(s.root);
    const r = await ctl(s.root, verb);
    expect(r.code, `${verb}: ${r.stdout}`).toBe(0);
    expect(r.json.pid).toBe(pid); // the same parent, a new generation
    expect(await generations(s.root)).toBeGreaterThan(gens);
    expect(await newWorker(pid, before)).toBe(true);
    expect((await get(`http://127.0.0.1:${s.port}/`)).status).toBe(200);
  }

  if (!gracefulStop) {
    const before = new Set(await childrenOf(pid));
    const log = (await cli(['ctl', 'logs', '-n', '5000', '--server-root', s.root, '--json'])).json
      .lines as string[];
    // A short --timeout: signalled anyway, 1.3 and 2.0 would ignore SIGWINCH until it ran out and then be killed.
    const r = await cli(
      ['ctl', 'graceful-stop', '--timeout', '3', '--server-root', s.root, '--json'],
      { timeoutMs: 30_000 },
    );
    expect(r.code, r.stdout).toBe(2);
    expect(r.json.error.code).toBe('UNSUPPORTED');
    expect(r.json.error.message).toMatch(
      /^httpd (1\.3|2\.0) has no graceful-stop: use stop, or graceful to reload$/,
    );
    expect(r.ms).toBeLessThan(3000);
    // Nothing signalled: the same parent and workers, nothing logged, still answering.
    const again = await ctl(s.root, 'status');
    expect(again.code).toBe(0);
    expect(again.json.pid).toBe(pid);
    expect(new Set(await childrenOf(pid))).toEqual(before);
    expect(
      (await cli(['ctl', 'logs', '-n', '5000', '--server-root', s.root, '--json'])).json.lines,
    ).toEqual(log);
    expect((await get(`http://127.0.0.1:${s.port}/`)).status).toBe(200);
  }

  const stop = await ctl(s.root, 'stop');
  expect(stop.code, stop.stdout).toBe(0);
  await expectGone(s);
  expect((await ctl(s.root, 'status')).code).toBe(3);

  if (gracefulStop) {
    expect((await ctl(s.root, 'start')).code).toBe(0);
    const gs = await ctl(s.root, 'graceful-stop');
    expect(gs.code, gs.stdout).toBe(0);
    expect(gs.json.warnings).toEqual([]); // it exited by itself, not killed at the timeout
    await expectGone(s);
  }
}

describe.each([
  { version: '1.3.42', gracefulStop: false },
  { version: '2.0.65', gracefulStop: false },
  { version: '2.2.34', gracefulStop: true },
])('ctl on httpd $version', ({ version, gracefulStop }) => {
  const withK = !version.startsWith('1.3');
  const exact = new RegExp(`^${version.replace(/\./g, '\\.')}$`);

  it('start, status (version), graceful and restart (a new generation answers), graceful-stop, stop', async () => {
    await withBuiltHttpd(version, async ({ prefix, port }) => {
      const s = { root: prefix, port, binary: path.join(prefix, 'bin', 'httpd') };
      try {
        await lifecycle(s, exact, gracefulStop, withK);
      } finally {
        await cli(['ctl', 'stop', '--server-root', prefix]);
      }
    });
  });

  it.runIf(!gracefulStop)(
    'workers orphaned by a SIGKILLed parent: status reports them, start ends them and starts afresh',
    async () => {
      await withBuiltHttpd(version, async ({ prefix, port }) => {
        const binary = path.join(prefix, 'bin', 'httpd');
        try {
          const start = await ctl(prefix, 'start');
          expect(start.code, start.stdout).toBe(0);
          const workers = await childrenOf(start.json.pid);
          process.kill(start.json.pid, 'SIGKILL');
          for (let i = 0; i < 100 && (await procInfo(start.json.pid)); i++) await sleep(20);
          // Prefork workers outlive their parent on these series: re-parented, in a session whose leader is gone.
          const st = await ctl(prefix, 'status');
          expect(st.code, st.stdout).toBe(1);
          expect(st.json.error.code).toBe('ORPHANED_WORKERS');
          expect([...st.json.orphans].sort()).toEqual([...workers].sort());
          const again = await ctl(prefix, 'start');
          expect(again.code, again.stdout).toBe(0);
          expect(again.json.warnings.join('\n')).toMatch(/ended orphaned workers/);
          expect((await get(`http://127.0.0.1:${port}/`)).status).toBe(200);
          expect((await processesOf(binary, prefix)).filter((p) => workers.includes(p))).toEqual(
            [],
          );
          expect((await ctl(prefix, 'stop')).code).toBe(0);
          await expectGone({ root: prefix, port, binary });
        } finally {
          await cli(['ctl', 'stop', '--server-root', prefix]);
        }
      });
    },
  );

  it.runIf(!withK)(
    'httpd -k start on 1.3: the reason shown is `invalid option`, not the tail of its usage text',
    async () => {
      const { prefix } = await withBuiltHttpd(version, async (h) => h);
      const r = spawnSync(
        path.join(prefix, 'bin', 'httpd'),
        ['-d', prefix, '-f', 'conf/httpd.conf', '-k', 'start'],
        { encoding: 'utf8' },
      );
      expect(r.status).toBe(1);
      const output = `${r.stdout}${r.stderr}`;
      expect(lastLines(output, 5).join('\n')).not.toMatch(/invalid option/); // what was shown before
      expect(reasonLines(output)).toEqual([expect.stringMatching(/invalid option -- '?k'?$/)]);
    },
  );
});

describe('ctl on the system httpd 2.4 (sandbox)', () => {
  it('start, status (version), graceful and restart (a new generation answers), stop, graceful-stop', async () => {
    const { sr, port } = await newSandbox(sandboxes);
    await lifecycle({ root: sr, port, binary: SYSTEM_HTTPD }, /^2\.4\.\d+$/, true, true);
  });

  it('a start httpd refuses names the reason in its message', async () => {
    const { sr, port } = await newSandbox(sandboxes);
    const conf = path.join(sr, 'conf', 'httpd.conf');
    await fs.writeFile(
      conf,
      (await fs.readFile(conf, 'utf8')).replace(/^User .*$/m, 'User no-such-user-apxs'),
    );
    const r = await ctl(sr, 'start');
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('START_FAILED');
    expect(r.json.error.message).toMatch(/exited with 1: .*bad user name no-such-user-apxs/);
    await expectGone({ root: sr, port, binary: SYSTEM_HTTPD });
  });
});
