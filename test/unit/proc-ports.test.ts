/**
 * lib/core/proc.ts and lib/core/ports.ts against the live /proc of this
 * machine: this test process's own sockets and identity, a fake httpd (a
 * copy of bash named ROOT/bin/httpd), a zombie. For mutation testing
 * (scripts/mutation.sh): each assertion pins a rule a one-line change breaks.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs, realpathSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  addressesOf,
  canBind,
  freePort,
  listeningAddresses,
  listeningSockets,
  parsePort,
  socketInodes,
  whoListens,
} from '../../lib/core/ports.js';
import {
  bootId,
  childrenOf,
  isAlive,
  nowMs,
  procInfo,
  readPidFile,
  scanChildrenOf,
  sleep,
  startTicks,
  type ProcInfo,
} from '../../lib/core/proc.js';
import { isServerProcess, processesOf, serverProcesses } from '../../lib/ctl/identity.js';
import { tmpDir } from '../helpers.js';

const DEAD_PID = 4_000_000;
const children: ChildProcess[] = [];
const servers: net.Server[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

function listen(host: string, port = 0): Promise<net.Server> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen({ host, port }, () => {
      servers.push(s);
      resolve(s);
    });
  });
}
const portOf = (s: net.Server) => (s.address() as net.AddressInfo).port;

describe('ports', () => {
  it('parsePort: 1-65535 as digits only', () => {
    expect(parsePort('1')).toBe(1);
    expect(parsePort(' 8080 ')).toBe(8080);
    expect(parsePort('65535')).toBe(65535);
    for (const bad of ['0', '65536', '99999', '-1', '1.5', 'abc', '', '80a', '0x50', '123456']) {
      expect(() => parsePort(bad), bad).toThrow(
        expect.objectContaining({
          code: 'USAGE',
          message: `bad port ${JSON.stringify(bad)}: expected a number from 1 to 65535`,
        }),
      );
    }
  });

  it('canBind is false while a port is held and true once it is free; freePort gives a bindable port', async () => {
    const s = await listen('127.0.0.1');
    expect(await canBind(portOf(s))).toBe(false);
    const p = portOf(s);
    await new Promise((r) => s.close(r));
    servers.splice(servers.indexOf(s), 1);
    expect(await canBind(p)).toBe(true);
    const f = await freePort();
    expect(f).toBeGreaterThan(0);
    expect(await canBind(f)).toBe(true);
    await expect(freePort('203.0.113.1')).rejects.toThrow(); // an address this host has not got
  });

  it("a process's listening sockets in v4 and v6, found by inode; a connected socket is not listening", async () => {
    const v4 = await listen('127.0.0.1');
    const v6 = await listen('::1');
    const any6 = await listen('::');
    const client = net.connect(portOf(v4), '127.0.0.1');
    await new Promise((r) => client.once('connect', r));
    const inodes = socketInodes(process.pid);
    const sockets = listeningSockets(process.pid, inodes);
    const addrs = [...sockets.values()];
    expect(addrs).toContain(`127.0.0.1:${portOf(v4)}`);
    expect(addrs).toContain(`[::1]:${portOf(v6)}`);
    expect(addrs).toContain(`[::]:${portOf(any6)}`);
    expect(addrs).toContain(undefined); // the client's socket, and the accepted one
    expect(await listeningAddresses(process.pid)).toEqual(
      expect.arrayContaining([`127.0.0.1:${portOf(v4)}`, `[::1]:${portOf(v6)}`]),
    );
    expect(listeningSockets(process.pid)).toEqual(sockets);
    client.destroy();
    expect(socketInodes(DEAD_PID)).toEqual([]);
  });

  it('whoListens names this process for its port, nobody for a free one', async () => {
    const s = await listen('127.0.0.1');
    const holders = await whoListens(portOf(s));
    expect(holders).toEqual([{ pid: process.pid, command: expect.stringContaining('node') }]);
    expect(await whoListens(await freePort())).toEqual([]);
  });

  it('addressesOf: each address once, the non-listening left out', () => {
    expect(
      addressesOf(
        new Map([
          ['1', 'a:1'],
          ['2', undefined],
          ['3', 'a:1'],
          ['4', 'b:2'],
        ]),
      ),
    ).toEqual(['a:1', 'b:2']);
  });
});

/** A fake httpd: ROOT/bin/httpd is a copy of bash, run with the given args after `-c 'exec sleep'`-like script. */
async function fakeHttpd(
  args: (root: string) => string[],
): Promise<{ root: string; bin: string; child: ChildProcess }> {
  const root = await tmpDir('apxs-ts-proc-');
  const bin = path.join(root, 'httpd');
  await fs.copyFile('/bin/bash', bin);
  await fs.chmod(bin, 0o755);
  const child = spawn(bin, ['-c', 'read x', ...args(root)], {
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  children.push(child);
  for (let i = 0; i < 200 && !(await procInfo(child.pid!))?.exe?.startsWith(root); i++)
    await sleep(10);
  return { root, bin, child };
}

const info = (over: Partial<ProcInfo>): ProcInfo => ({
  pid: 1,
  ppid: 0,
  session: 1,
  state: 'S',
  startedAt: undefined,
  exe: '/srv/bin/httpd',
  cmdline: ['/srv/bin/httpd', '-d', '/srv'],
  ...over,
});

describe('proc', () => {
  it('this process: alive, its exe, command line, parent, start time, ticks; a dead pid is none of it', async () => {
    const me = (await procInfo(process.pid))!;
    expect(me.pid).toBe(process.pid);
    expect(me.ppid).toBe(process.ppid);
    expect(me.exe).toBe(realpathSync(process.execPath));
    expect(me.cmdline).toEqual(
      (await fs.readFile('/proc/self/cmdline', 'utf8')).split('\0').filter(Boolean),
    );
    expect(me.session).toBe(
      Number((await fs.readFile('/proc/self/stat', 'utf8')).split(') ')[1]!.split(' ')[3]),
    );
    expect(me.state).toMatch(/^[RS]$/);
    const started = me.startedAt!.getTime();
    expect(Math.abs(started - (Date.now() - process.uptime() * 1000))).toBeLessThan(2000);
    expect(startTicks(process.pid)).toMatch(/^\d+$/);
    expect(await isAlive(process.pid)).toBe(true);
    expect(await isAlive(DEAD_PID)).toBe(false);
    expect(await procInfo(DEAD_PID)).toBeUndefined();
    expect(startTicks(DEAD_PID)).toBeUndefined();
    expect(bootId()).toBe((await fs.readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim());
  });

  it('a zombie is not alive and has no start ticks', async () => {
    // sh starts `sleep 0` and execs `sleep 5`, which never reaps it: a zombie for 5 s.
    const c = spawn('/bin/sh', ['-c', 'sleep 0 & echo $!; exec sleep 5'], {
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    children.push(c);
    const zombie = Number(
      await new Promise<string>((r) => c.stdout!.once('data', (d) => r(String(d).trim()))),
    );
    for (let i = 0; i < 200 && (await procInfo(zombie))?.state !== 'Z'; i++) await sleep(10);
    expect((await procInfo(zombie))?.state).toBe('Z');
    expect(await isAlive(zombie)).toBe(false);
    expect(startTicks(zombie)).toBeUndefined();
    expect(await childrenOf(c.pid!)).toEqual([zombie]);
  });

  it('childrenOf finds the children every thread forked, as the scan of every ppid does', async () => {
    // A node whose main thread and a worker thread each spawn a sleep: the worker's child is on
    // the worker thread's /proc/PID/task/TID/children, not the main thread's.
    const script = `
      const { Worker } = require('node:worker_threads');
      const { spawn } = require('node:child_process');
      spawn('/bin/sleep', ['30'], { stdio: 'ignore' });
      new Worker("require('node:child_process').spawn('/bin/sleep', ['30'], { stdio: 'ignore' });" +
        "setInterval(() => {}, 1000)", { eval: true });
      setInterval(() => {}, 1000);`;
    const c = spawn(process.execPath, ['-e', script], { stdio: 'ignore' });
    children.push(c);
    let kids: number[] = [];
    for (let i = 0; i < 500 && kids.length < 2; i++) {
      await sleep(10);
      kids = scanChildrenOf(c.pid!);
    }
    expect(kids).toHaveLength(2);
    const threads = await fs.readdir(`/proc/${c.pid}/task`);
    expect(threads.length).toBeGreaterThan(1);
    expect([...childrenOf(c.pid!)].sort()).toEqual([...kids].sort());
    for (const k of kids) process.kill(k, 'SIGKILL');
  });

  it("childrenOf lists a process's children", async () => {
    const c = spawn('/bin/sleep', ['5'], { stdio: 'ignore' });
    children.push(c);
    await new Promise((r) => c.once('spawn', r));
    expect(await childrenOf(process.pid)).toContain(c.pid);
    expect(await childrenOf(c.pid!)).toEqual([]);
  });

  it("isServerProcess: this root's binary AND -d this root; a zombie, no exe, a relative or other -d are not", () => {
    const id = { binary: '/srv/bin/httpd', serverRoot: '/srv' };
    const real = '/srv/bin/httpd';
    expect(isServerProcess(info({}), id, real)).toBe(true);
    expect(isServerProcess(info({ exe: '/srv/bin/httpd (deleted)' }), id, real)).toBe(true);
    expect(isServerProcess(info({ cmdline: ['/srv/bin/httpd', '-d', '/srv/'] }), id, real)).toBe(
      true,
    );
    expect(isServerProcess(info({ state: 'Z' }), id, real)).toBe(false);
    expect(isServerProcess(info({ state: 'X' }), id, real)).toBe(false);
    expect(isServerProcess(info({ exe: undefined }), id, real)).toBe(false);
    expect(isServerProcess(info({ exe: '/other/httpd' }), id, real)).toBe(false);
    expect(isServerProcess(info({ cmdline: ['/srv/bin/httpd', '-d', 'srv'] }), id, real)).toBe(
      false,
    );
    expect(isServerProcess(info({ cmdline: ['/srv/bin/httpd', '-d'] }), id, real)).toBe(false);
    expect(isServerProcess(info({ cmdline: ['/srv/bin/httpd', '-d', '/other'] }), id, real)).toBe(
      false,
    );
    // No -d: this root only when it is the binary's built-in root.
    expect(isServerProcess(info({ cmdline: ['/srv/bin/httpd'] }), id, real)).toBe(false);
    expect(
      isServerProcess(info({ cmdline: ['/srv/bin/httpd'] }), { ...id, defaultRoot: '/srv/' }, real),
    ).toBe(true);
    expect(
      isServerProcess(
        info({ cmdline: ['/srv/bin/httpd'] }),
        { ...id, defaultRoot: '/etc/x' },
        real,
      ),
    ).toBe(false);
    // The binary compared by its realpath.
    expect(
      isServerProcess(info({ exe: realpathSync('/bin/sh') }), {
        binary: '/bin/sh',
        serverRoot: '/srv',
      }),
    ).toBe(true);
  });

  it("serverProcesses and processesOf find a live fake httpd of this root by exe and -d, not another root's", async () => {
    const { root, bin, child } = await fakeHttpd((r) => ['-d', r]);
    const found = await serverProcesses({ binary: bin, serverRoot: root });
    expect(found.map((p) => p.pid)).toEqual([child.pid]);
    expect(found[0]).toMatchObject({ exe: bin, cmdline: [bin, '-c', 'read x', '-d', root] });
    expect(await processesOf(bin, root)).toEqual([child.pid]);
    expect(await processesOf(bin, path.join(root, 'other'))).toEqual([]);
    expect(await processesOf('/bin/bash', root)).toEqual([]);
  });

  it('readPidFile: a positive integer, or nothing', async () => {
    const d = await tmpDir('apxs-ts-pidfile-');
    const f = path.join(d, 'pid');
    expect(await readPidFile(f)).toBeUndefined();
    for (const [text, want] of [
      [' 42\n', 42],
      ['0', undefined],
      ['-3', undefined],
      ['1.5', undefined],
      ['abc', undefined],
      ['', undefined],
    ] as const) {
      await fs.writeFile(f, text);
      expect(await readPidFile(f), JSON.stringify(text)).toBe(want);
    }
  });

  it('nowMs never goes back; sleep waits', async () => {
    const a = nowMs();
    await sleep(20);
    const b = nowMs();
    expect(b - a).toBeGreaterThanOrEqual(19);
    expect(b - a).toBeLessThan(5000);
  });
});
