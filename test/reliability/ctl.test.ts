/**
 * ctl under adversarial conditions (reliability review, scenarios 9-12): pid
 * files naming other processes, a parent killed with SIGKILL, concurrent
 * starts, httpd dying right after it starts, a running but failing server.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canBind } from '../../lib/core/ports.js';
import { procInfo } from '../../lib/core/proc.js';
import { processesOf } from '../../lib/ctl/identity.js';
import { cliWithin, freePort, get, newSandbox } from '../helpers.js';

// ---- helpers ----

const roots: string[] = [];

const ctl = (sr: string, ...args: string[]) =>
  cliWithin(['ctl', ...args, '--server-root', sr, '--json'], 60_000);

/** This root's httpd processes (binary and -d ROOT) and which of them are parents (no parent among them). */
async function httpdOf(sr: string): Promise<{ pids: number[]; parents: number[] }> {
  const pids = await processesOf('/usr/sbin/apache2', sr);
  const infos = (await Promise.all(pids.map(procInfo))).filter((i) => i !== undefined);
  const set = new Set(infos.map((i) => i.pid));
  return {
    pids: infos.map((i) => i.pid),
    parents: infos.filter((i) => !set.has(i.ppid)).map((i) => i.pid),
  };
}

async function gone(pid: number, ms = 3000): Promise<boolean> {
  for (let t = Date.now(); Date.now() - t < ms; await new Promise((r) => setTimeout(r, 10))) {
    const i = await procInfo(pid);
    if (!i || i.state === 'Z' || i.state === 'X') return true;
  }
  return false;
}

/** A process whose argv[0] is "httpd" but which is `sleep`. */
function fakeHttpd(): ChildProcess {
  return spawn('bash', ['-c', 'exec -a httpd sleep 1000'], { stdio: 'ignore', detached: true });
}

async function stopAll(): Promise<void> {
  for (const sr of roots) await cliWithin(['ctl', 'stop', '--server-root', sr], 30_000);
}

const fakes: ChildProcess[] = [];
afterAll(async () => {
  await stopAll();
  for (const f of fakes) f.kill('SIGKILL');
});

const pidFileOf = (sr: string) => path.join(sr, 'logs', 'httpd.pid');
const answers = async (port: number) =>
  (await get(`http://127.0.0.1:${port}/`).catch(() => ({ status: 0 }))).status;

describe("9. a pid file naming a process that is not this server root's httpd", () => {
  it("another server root's httpd: status exits 3, stop exits 0 with only the stale pid file removed, and it keeps running (3 checks)", async () => {
    const a = await newSandbox(roots);
    const b = await newSandbox(roots);
    const startB = await ctl(b.sr, 'start');
    expect(startB.code, startB.stdout).toBe(0);
    await fs.writeFile(pidFileOf(a.sr), `${startB.json.pid}\n`);

    const st = await ctl(a.sr, 'status');
    expect(st.code, st.stdout).toBe(3);
    expect(st.json.stale.reason).toContain('another program');
    await fs.writeFile(pidFileOf(a.sr), `${startB.json.pid}\n`);
    const stop = await ctl(a.sr, 'stop');
    expect(stop.code, stop.stdout).toBe(0);
    expect(stop.json.changed).toBe(true);
    expect(stop.json.stale.reason).toContain('another program');
    expect(await answers(b.port)).toBe(200);
    expect((await ctl(b.sr, 'status')).json.pid).toBe(startB.json.pid);
  });

  it("both running, A's pid file overwritten with B's pid: stop on A stops A and only A (3 checks)", async () => {
    const a = await newSandbox(roots);
    const b = await newSandbox(roots);
    expect((await ctl(a.sr, 'start')).code).toBe(0);
    const startB = await ctl(b.sr, 'start');
    expect(startB.code).toBe(0);
    await fs.writeFile(pidFileOf(a.sr), `${startB.json.pid}\n`);

    const stop = await ctl(a.sr, 'stop');
    expect(stop.code, stop.stdout).toBe(0);
    expect((await httpdOf(a.sr)).pids).toEqual([]);
    expect(await answers(b.port)).toBe(200);
    expect((await ctl(b.sr, 'status')).json.pid).toBe(startB.json.pid);
  });

  it('a process whose argv[0] is httpd (exec -a httpd sleep): status 3, stop 0 (not running, stale pid file gone), start 0, and it survives (4 checks)', async () => {
    const a = await newSandbox(roots);
    const fake = fakeHttpd();
    fakes.push(fake);
    const pid = fake.pid!;
    for (let i = 0; i < 100 && !(await procInfo(pid))?.cmdline[0]?.startsWith('httpd'); i++)
      await new Promise((r) => setTimeout(r, 10));
    expect((await procInfo(pid))?.cmdline[0]).toBe('httpd');

    await fs.writeFile(pidFileOf(a.sr), `${pid}\n`);
    expect((await ctl(a.sr, 'status')).code).toBe(3);
    await fs.writeFile(pidFileOf(a.sr), `${pid}\n`);
    const stop = await ctl(a.sr, 'stop');
    expect(stop.code).toBe(0);
    expect(stop.json.stale).toBeTruthy();
    await fs.writeFile(pidFileOf(a.sr), `${pid}\n`);
    const start = await ctl(a.sr, 'start');
    expect(start.code, start.stdout).toBe(0);
    expect(start.json.alreadyRunning).toBeUndefined();
    expect(await answers(a.port)).toBe(200);
    expect(await gone(pid, 50)).toBe(false); // never signalled
    expect((await ctl(a.sr, 'stop')).code).toBe(0);
    expect(await gone(pid, 50)).toBe(false);
  });
});

describe('10. the parent killed with SIGKILL, its workers still listening', () => {
  async function startThenKillParent(): Promise<{ sr: string; port: number; workers: number[] }> {
    const s = await newSandbox(roots);
    const start = await ctl(s.sr, 'start');
    expect(start.code, start.stdout).toBe(0);
    const parent = start.json.pid as number;
    const workers = (await httpdOf(s.sr)).pids.filter((p) => p !== parent);
    expect(workers.length).toBeGreaterThan(0);
    process.kill(parent, 'SIGKILL'); // the parent only, as the OOM killer does
    expect(await gone(parent)).toBe(true);
    expect(await answers(s.port)).toBe(200); // the orphans still serve
    return { ...s, workers };
  }

  it('status exits 1 ORPHANED_WORKERS naming them; stop exits 0 and ends them; start then works (5 checks)', async () => {
    const { sr, port, workers } = await startThenKillParent();
    const st = await ctl(sr, 'status');
    expect(st.code, st.stdout).toBe(1);
    expect(st.json.error.code).toBe('ORPHANED_WORKERS');
    expect(st.json.error.message).toContain('orphaned workers, parent gone');
    for (const w of workers) expect(st.json.error.message).toContain(String(w));

    const stop = await ctl(sr, 'stop');
    expect(stop.code, stop.stdout).toBe(0);
    expect((await httpdOf(sr)).pids).toEqual([]);
    expect(await canBind(port)).toBe(true);

    const again = await ctl(sr, 'start');
    expect(again.code, again.stdout).toBe(0);
    expect(await answers(port)).toBe(200);
    expect((await ctl(sr, 'stop')).code).toBe(0);
  });

  it('start directly after the parent was killed: exit 0 with a warning, the orphans ended (4 checks)', async () => {
    const { sr, port, workers } = await startThenKillParent();
    const start = await ctl(sr, 'start');
    expect(start.code, start.stdout).toBe(0);
    expect(start.json.warnings.join('\n')).toMatch(/orphaned workers/);
    expect(await answers(port)).toBe(200);
    const now = await httpdOf(sr);
    expect(now.parents).toEqual([start.json.pid]);
    for (const w of workers) expect(now.pids).not.toContain(w);
    expect((await ctl(sr, 'stop')).code).toBe(0);
  });
});

describe('11. concurrent starts on one server root', () => {
  it('3 concurrent starts x 10 rounds: all exit 0, exactly one parent, it answers (10 rounds)', async () => {
    const { sr, port } = await newSandbox(roots);
    for (let round = 0; round < 10; round++) {
      const rs = await Promise.all([0, 1, 2].map(() => ctl(sr, 'start')));
      for (const r of rs) {
        expect(r.code, `round ${round}: ${r.stdout}`).toBe(0);
        expect(r.stdout).not.toMatch(/PORT_IN_USE/);
      }
      expect(rs.filter((r) => !r.json.alreadyRunning).length, `round ${round}`).toBe(1);
      const procs = await httpdOf(sr);
      expect(procs.parents, `round ${round}`).toHaveLength(1);
      expect(new Set(rs.map((r) => r.json.pid))).toEqual(new Set(procs.parents));
      expect(await answers(port)).toBe(200);
      const stop = await ctl(sr, 'stop');
      expect(stop.code, stop.stdout).toBe(0);
      expect((await httpdOf(sr)).pids).toEqual([]);
    }
  });
});

describe('12. httpd dying at once, or running but failing', () => {
  it('PidFile in a directory that does not exist (AH00099): START_FAILED within 5 s, not the 30 s timeout (3 checks)', async () => {
    const { sr, port } = await newSandbox(roots);
    const conf = path.join(sr, 'conf', 'httpd.conf');
    await fs.writeFile(
      conf,
      (await fs.readFile(conf, 'utf8')).replace(
        /^PidFile .*$/m,
        'PidFile /nonexistent-apxs-ts/httpd.pid',
      ),
    );
    const r = await ctl(sr, 'start', '--timeout', '30');
    expect(r.ms).toBeLessThan(5000);
    expect(r.code, r.stdout).toBe(1);
    expect(r.json.error.code).toBe('START_FAILED');
    expect(r.json.error.details.join('\n')).toMatch(/AH00099|AH00100/);
    expect((await httpdOf(sr)).pids).toEqual([]);
    expect(await canBind(port)).toBe(true);
  });

  it('ErrorLog in a directory that does not exist: exit 1 within 5 s (2 checks)', async () => {
    const { sr } = await newSandbox(roots);
    const conf = path.join(sr, 'conf', 'httpd.conf');
    await fs.writeFile(
      conf,
      (await fs.readFile(conf, 'utf8')).replace(
        /^ErrorLog .*$/m,
        'ErrorLog /nonexistent-apxs-ts/error_log',
      ),
    );
    const r = await ctl(sr, 'start', '--timeout', '30');
    expect(r.ms).toBeLessThan(5000);
    expect(r.code, r.stdout).toBe(1);
    expect(r.json.error.details.join('\n')).toMatch(/nonexistent-apxs-ts/);
    expect((await httpdOf(sr)).pids).toEqual([]);
  });

  it('start on a running server whose health URL answers 500 or nothing: exit 1 UNHEALTHY (2 checks)', async () => {
    const { sr } = await newSandbox(roots);
    const first = await ctl(sr, 'start');
    expect(first.code).toBe(0);
    const failing = http.createServer((_q, res) => res.writeHead(500).end('broken\n'));
    const failingPort = await freePort();
    await new Promise<void>((r) => failing.listen(failingPort, '127.0.0.1', () => r()));
    try {
      const r500 = await ctl(
        sr,
        'start',
        '--url',
        `http://127.0.0.1:${failingPort}/`,
        '--timeout',
        '5',
      );
      expect(r500.code, r500.stdout).toBe(1);
      expect(r500.json.error.code).toBe('UNHEALTHY');
      expect(r500.json.error.message).toMatch(/already running but .* answers 500/);
    } finally {
      await new Promise((r) => failing.close(r));
    }
    const silent = await freePort();
    const rNone = await ctl(sr, 'start', '--url', `http://127.0.0.1:${silent}/`, '--timeout', '5');
    expect(rNone.code, rNone.stdout).toBe(1);
    expect(rNone.json.error.code).toBe('UNHEALTHY');
    expect(rNone.json.error.message).toMatch(/ECONNREFUSED/);
    expect((await ctl(sr, 'status')).json.pid).toBe(first.json.pid); // left running
  });
});
