/** apxs-ts ctl on real httpd sandboxes on free ports. */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canBind } from '../../lib/core/ports.js';
import { processesOf } from '../../lib/ctl/identity.js';
import { CLI, cli, freePort, get, newSandbox } from '../helpers.js';

const roots: string[] = [];
afterAll(async () => {
  for (const sr of roots) await cli(['ctl', 'stop', '--server-root', sr]);
});

const ctl = (sr: string, ...args: string[]) => cli(['ctl', ...args, '--server-root', sr, '--json']);

describe('ctl lifecycle', () => {
  it('start -> healthy -> status -> graceful (new generation answers) -> status -> stop', async () => {
    const { sr, port, work } = await newSandbox(roots);
    // A hello module whose text we change between generations.
    await cli(['new', 'gen', '--template', 'hello'], { cwd: work });
    const dir = path.join(work, 'mod_gen');
    expect((await cli(['install', '--server-root', sr], { cwd: dir })).code).toBe(0);

    const start = await ctl(sr, 'start');
    expect(start.code, start.stdout).toBe(0);
    expect(start.json.health.status).toBe(200);
    const pid = start.json.pid as number;
    expect((await get(`http://127.0.0.1:${port}/gen`)).body).toBe('Hello from mod_gen\n');

    const st = await ctl(sr, 'status');
    expect(st.code).toBe(0);
    expect(st.json).toMatchObject({
      running: true,
      healthy: true,
      pid,
      listening: [`127.0.0.1:${port}`],
    });
    expect(Date.parse(st.json.since)).toBeGreaterThan(Date.now() - 120_000);

    const src = path.join(dir, 'mod_gen.c');
    await fs.writeFile(
      src,
      (await fs.readFile(src, 'utf8')).replace('Hello from', 'Second generation of'),
    );
    expect((await cli(['install', '--server-root', sr], { cwd: dir })).code).toBe(0);
    const graceful = await ctl(sr, 'graceful');
    expect(graceful.code, graceful.stdout).toBe(0);
    expect(graceful.json.pid).toBe(pid); // same parent, new children
    expect((await get(`http://127.0.0.1:${port}/gen`)).body).toBe('Second generation of mod_gen\n');

    const st2 = await ctl(sr, 'status');
    expect(st2.code).toBe(0);
    expect(st2.json.healthy).toBe(true);

    const stop = await ctl(sr, 'stop');
    expect(stop.code).toBe(0);
    await expect(fs.stat(path.join(sr, 'logs', 'httpd.pid'))).rejects.toThrow();
    expect(await canBind(port)).toBe(true);
    expect(await processesOf('/usr/sbin/apache2', sr)).toEqual([]);
  });

  it('stop when not running: exit 0, changed false (#23); status exits 3', async () => {
    const { sr } = await newSandbox(roots);
    const stop = await ctl(sr, 'stop');
    expect(stop.code).toBe(0);
    expect(stop.json).toMatchObject({ changed: false, msg: 'httpd is not running' });
    const st = await cli(['ctl', 'status', '--server-root', sr]);
    expect(st.code).toBe(3);
    expect(st.stderr).toContain('httpd is not running');
  });
});

describe('ctl failures', () => {
  it('start with a broken config: exit 1, file:line shown, nothing left running', async () => {
    const { sr, port } = await newSandbox(roots);
    const conf = path.join(sr, 'conf', 'httpd.conf');
    await fs.appendFile(conf, 'NoSuchDirective on\n');
    const lines = (await fs.readFile(conf, 'utf8')).split('\n').length - 1;
    const r = await cli(['ctl', 'start', '--server-root', sr]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${conf}:${lines}: Invalid command 'NoSuchDirective'`);
    expect(r.stderr).toMatch(/not a directive httpd knows/);
    expect(await canBind(port)).toBe(true);
    expect(await processesOf('/usr/sbin/apache2', sr)).toEqual([]);
  });

  it('start when the port is held by another process: exit 1, names the port and the holder', async () => {
    const { sr, port } = await newSandbox(roots);
    const holder = net.createServer();
    await new Promise<void>((r) => holder.listen(port, '127.0.0.1', () => r()));
    try {
      const r = await ctl(sr, 'start');
      expect(r.code).toBe(1);
      expect(r.json.error.code).toBe('PORT_IN_USE');
      expect(r.json.error.message).toContain(
        `port ${port} is already in use by pid ${process.pid}`,
      );
      expect(await processesOf('/usr/sbin/apache2', sr)).toEqual([]);
    } finally {
      await new Promise((r) => holder.close(r));
    }
  });

  it('a server killed with SIGKILL: status exits 3 and removes the stale pid file; start succeeds again', async () => {
    const { sr, port } = await newSandbox(roots);
    const start = await ctl(sr, 'start');
    expect(start.code).toBe(0);
    const pidFile = path.join(sr, 'logs', 'httpd.pid');
    // httpd runs in its own session: its pid is the process group of it and its children.
    process.kill(-start.json.pid, 'SIGKILL');
    for (let i = 0; i < 100 && !(await canBind(port)); i++)
      await new Promise((r) => setTimeout(r, 20));
    expect(await fs.readFile(pidFile, 'utf8')).toContain(String(start.json.pid));

    const st = await ctl(sr, 'status');
    expect(st.code).toBe(3);
    expect(st.json.stale).toMatchObject({ pidFile, pid: start.json.pid });
    expect(st.json.error.message).toContain('stale pid file');
    await expect(fs.stat(pidFile)).rejects.toThrow();

    const again = await ctl(sr, 'start');
    expect(again.code, again.stdout).toBe(0);
    expect((await get(`http://127.0.0.1:${port}/`)).status).toBe(200);
    expect((await ctl(sr, 'stop')).code).toBe(0);
  });

  it('a stale pid file naming another live program is not mistaken for httpd', async () => {
    const { sr } = await newSandbox(roots);
    const pidFile = path.join(sr, 'logs', 'httpd.pid');
    await fs.writeFile(pidFile, `${process.pid}\n`); // the test runner: alive, not httpd
    const r = await ctl(sr, 'stop');
    // Nothing to stop, but the stale pid file went: exit 0, changed (#23).
    expect(r.code).toBe(0);
    expect(r.json.changed).toBe(true);
    expect(r.json.stale.reason).toContain('belongs to another program');
    await expect(fs.stat(pidFile)).rejects.toThrow();
  });

  it('restart and graceful with a broken config keep the old server answering', async () => {
    const { sr, port } = await newSandbox(roots);
    const start = await ctl(sr, 'start');
    expect(start.code).toBe(0);
    await fs.appendFile(path.join(sr, 'conf', 'httpd.conf'), '<Location /x>\n');
    for (const action of ['restart', 'graceful']) {
      const r = await ctl(sr, action);
      expect(r.code).toBe(1);
      expect(r.json.error.code).toBe('CONFIG_BROKEN');
      expect(r.json.error.message).toMatch(/left untouched/);
      expect((await get(`http://127.0.0.1:${port}/`)).status).toBe(200);
    }
    const st = await ctl(sr, 'status');
    expect(st.json.pid).toBe(start.json.pid);
    // stop works from the pid file even though the config is broken now
    expect((await ctl(sr, 'stop')).code).toBe(0);
    expect(await canBind(port)).toBe(true);
  });

  it('restart of a stopped server starts it, reported as the restart with its configtest', async () => {
    const { sr, port } = await newSandbox(roots);
    const r = await ctl(sr, 'restart');
    expect(r.code, r.stdout).toBe(0);
    expect(r.json).toMatchObject({ action: 'restart', configtest: { ok: true } });
    expect(r.json.warnings).toContain('httpd was not running: started it');
    expect((await get(`http://127.0.0.1:${port}/`)).status).toBe(200);
    expect((await ctl(sr, 'stop')).code).toBe(0);
  });

  it('configtest explains warnings and exits 1 on a broken config', async () => {
    const { sr } = await newSandbox(roots);
    const ok = await cli(['ctl', 'configtest', '--server-root', sr]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('Syntax OK');
    await fs.appendFile(
      path.join(sr, 'conf', 'httpd.conf'),
      'LoadModule nope_module modules/mod_nope.so\n',
    );
    const bad = await ctl(sr, 'configtest');
    expect(bad.code).toBe(1);
    expect(bad.json.error.details.join('\n')).toMatch(
      /LoadModule points at .*mod_nope\.so, which httpd cannot load/,
    );
  });

  it('logs shows the last lines of the error log', async () => {
    const { sr } = await newSandbox(roots);
    await fs.writeFile(
      path.join(sr, 'logs', 'error_log'),
      Array.from({ length: 50 }, (_, i) => `line ${i + 1}`).join('\n') + '\n',
    );
    const r = await cli(['ctl', 'logs', '-n', '3', '--server-root', sr]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('line 48\nline 49\nline 50\n');
  });

  it('logs --follow prints lines as httpd writes them', async () => {
    const { sr } = await newSandbox(roots);
    const log = path.join(sr, 'logs', 'error_log');
    await fs.writeFile(log, 'old line\n');
    const child = spawn(
      process.execPath,
      [CLI, 'ctl', 'logs', '--follow', '-n', '1', '--server-root', sr],
      { env: { ...process.env, CI: 'true' } },
    );
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    try {
      for (let i = 0; i < 100 && !out.includes('old line'); i++)
        await new Promise((r) => setTimeout(r, 20));
      await fs.appendFile(log, 'new line from httpd\n');
      for (let i = 0; i < 100 && !out.includes('new line'); i++)
        await new Promise((r) => setTimeout(r, 20));
      expect(out).toBe('old line\nnew line from httpd\n');
    } finally {
      child.kill();
    }
  });

  it('graceful-stop of an idle server ends httpd once its children have exited, before its own 1 s check', async () => {
    // Gracefully stopping, httpd's parent sleeps 1 s before it first looks at its children
    // (event.c); ctl sends it SIGTERM once they are all gone. Without that every stop takes >= 1 s;
    // three tries keep a loaded machine from failing this.
    const { sr, port } = await newSandbox(roots);
    const elapsed: number[] = [];
    for (let i = 0; i < 3; i++) {
      expect((await ctl(sr, 'start')).code).toBe(0);
      expect((await fetch(`http://127.0.0.1:${port}/`)).status).toBe(200);
      const stop = await ctl(sr, 'graceful-stop');
      expect(stop.code, stop.stdout).toBe(0);
      expect(stop.json.warnings).toEqual([]);
      expect(await processesOf('/usr/sbin/apache2', sr)).toEqual([]);
      elapsed.push(stop.json.elapsedMs);
    }
    expect(Math.min(...elapsed), elapsed.join(' ')).toBeLessThan(1000);
    const log = await fs.readFile(path.join(sr, 'logs', 'error_log'), 'utf8');
    expect(log.match(/AH00492: caught SIGWINCH, shutting down gracefully/g)).toHaveLength(3);
  });

  it('stop past --timeout kills httpd and its children with SIGKILL, with a warning', async () => {
    const { sr, port } = await newSandbox(roots);
    const start = await ctl(sr, 'start');
    expect(start.code).toBe(0);
    // A request that never finishes: a graceful stop waits for it (httpd's Timeout is 60 s).
    const sock = net.connect(port, '127.0.0.1');
    await new Promise<void>((r) => sock.on('connect', () => r()));
    sock.write('GET / HTTP/1.1\r\nHost: x\r\n');
    await new Promise((r) => setTimeout(r, 100));
    const t0 = Date.now();
    const stop = await ctl(sr, 'graceful-stop', '--timeout', '1');
    sock.destroy();
    expect(stop.code, stop.stdout).toBe(0);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(stop.json.warnings.join('\n')).toMatch(
      /did not exit within 1s: killed it and its children with SIGKILL/,
    );
    expect(await processesOf('/usr/sbin/apache2', sr)).toEqual([]);
    await expect(fs.stat(path.join(sr, 'logs', 'httpd.pid'))).rejects.toThrow();
    expect(await canBind(port)).toBe(true);
  });

  it('start that never becomes healthy: exit 1 after --timeout, the error_log since the start shown, nothing left running', async () => {
    const { sr, port } = await newSandbox(roots);
    await fs.writeFile(path.join(sr, 'logs', 'error_log'), 'a line from an earlier run\n');
    const silent = await freePort(); // nothing listens there
    const r = await ctl(sr, 'start', '--url', `http://127.0.0.1:${silent}/`, '--timeout', '1');
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('START_FAILED');
    expect(r.json.error.message).toContain(
      `http://127.0.0.1:${silent}/ did not answer below 500 within 1s`,
    );
    expect(r.json.error.hint).toBe('nothing was left running');
    const log = r.json.errorLog.join('\n');
    expect(log).toMatch(/AH00489/); // httpd's own "resuming normal operations" of this start
    expect(log).not.toContain('earlier run');
    expect(await processesOf('/usr/sbin/apache2', sr)).toEqual([]);
    expect(await canBind(port)).toBe(true);
  });
});
