/**
 * #17 item 9: with no --server-root, no $APXS_TS_SERVER_ROOT and no
 * apxs-ts.json, commands act on the system's server root (as apachectl and
 * `apxs -i -a` do), say so, and keep the rules: an apxs-ts.json still wins,
 * the system root is trusted only when root owns it, and a user who cannot
 * write it gets PERMISSION_DENIED. The "system root" here is a copy of a
 * Debian layout named by $APXS_TS_SYSTEM_ROOT: the machine's /etc/apache2 is
 * never touched.
 */
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemServerRoot } from '../../lib/httpd/system-httpd.js';
import { CLI, ROOT, cli, freePort, get, tmpDir } from '../helpers.js';

const isRoot = process.getuid?.() === 0;
let work: string;
let sys: string;
let hosts: string;
let port: number;
const env = () => ({ APXS_TS_SYSTEM_ROOT: sys, APXS_TS_SERVER_ROOT: '' });

beforeAll(async () => {
  work = await tmpDir('apxs-ts-sysroot-');
  sys = path.join(work, 'apache2');
  execFileSync('cp', ['-a', path.join(ROOT, 'fixtures', 'debian-root'), sys]);
  port = await freePort();
  for (const f of ['ports.conf', 'sites-available/000-default.conf']) {
    const p = path.join(sys, f);
    await fs.writeFile(p, (await fs.readFile(p, 'utf8')).replaceAll('@@port@@', String(port)));
  }
  hosts = path.join(work, 'hosts');
  await fs.writeFile(hosts, '127.0.0.1 localhost\n');
  await fs.mkdir(path.join(work, 'cwd'), { mode: 0o755 });
});

afterAll(async () => {
  await cli(['ctl', 'stop', '--server-root', sys]);
  await fs.rm(work, { recursive: true, force: true });
  await fs.rm('/tmp/apxs-ts-sysroot-nobody-cache', { recursive: true, force: true });
});

describe.skipIf(!isRoot)("no server root given: the system's (#17 item 9)", () => {
  it('ctl start, status, vhost add, vhost list, ctl stop act on it; every one says so (serverRootFrom "system", a note on stderr)', async () => {
    const cwd = path.join(work, 'cwd');
    const start = await cli(['ctl', 'start', '--json'], { cwd, env: env() });
    expect(start.code, start.stdout).toBe(0);
    expect(start.json.serverRootFrom).toBe('system');
    expect((await get(`http://127.0.0.1:${port}/`)).body).toContain('debian layout');

    const status = await cli(['ctl', 'status'], { cwd, env: env() });
    expect(status.code, status.stderr).toBe(0);
    expect(status.stderr).toContain(
      `note: using the system's server root ${sys} (found by $APXS_TS_SYSTEM_ROOT)`,
    );

    const add = await cli(['vhost', 'add', 'sys.dd', '--hosts-file', hosts, '--json'], {
      cwd,
      env: env(),
    });
    expect(add.code, add.stdout).toBe(0);
    expect(add.json.serverRootFrom).toBe('system');
    expect(add.json.vhostsFile).toBe(path.join(sys, 'sites-available', 'sys.dd.conf'));
    const list = await cli(['vhost', 'list', '--json'], { cwd, env: env() });
    expect(list.json.serverRootFrom).toBe('system');
    expect(list.json.vhosts.map((v: { serverName: string }) => v.serverName)).toContain('sys.dd');

    const stop = await cli(['ctl', 'stop'], { cwd, env: env() });
    expect(stop.code).toBe(0);
    expect(stop.stderr).toContain("note: using the system's server root");
    // Not running any more: status exits 3, and still says which root it asked.
    const after = await cli(['ctl', 'status', '--json'], { cwd, env: env() });
    expect(after.code).toBe(3);
    expect(after.json.serverRootFrom).toBe('system');
  }, 90_000);

  it('a sandbox\'s apxs-ts.json still wins (serverRootFrom "project", no note)', async () => {
    const proj = await tmpDir('apxs-ts-sysroot-proj-');
    const sb = path.join(proj, 'srv');
    expect(
      (await cli(['sandbox', 'create', sb, '--port', String(await freePort())], { cwd: proj }))
        .code,
    ).toBe(0);
    const r = await cli(['ctl', 'status', '--json'], { cwd: proj, env: env() });
    expect(r.code).toBe(3);
    expect(r.json.serverRootFrom).toBe('project');
    const h = await cli(['ctl', 'status'], { cwd: proj, env: env() });
    expect(h.stderr).not.toContain("system's server root");
    await fs.rm(proj, { recursive: true, force: true });
  }, 30_000);

  it('no system server either: a usage error, exit 2 (NO_SERVER_ROOT)', async () => {
    const r = await cli(['ctl', 'status', '--json'], {
      cwd: path.join(work, 'cwd'),
      env: { APXS_TS_SYSTEM_ROOT: 'none', APXS_TS_SERVER_ROOT: '' },
    });
    expect(r.code).toBe(2);
    expect(r.json.error.code).toBe('NO_SERVER_ROOT');
  });

  it('a system root root does not own is refused, even by its owner; as nobody, one they cannot write is PERMISSION_DENIED for a change and readable for a look', async () => {
    // Not root's: nobody owns the copy. Root is refused (the general rule), and so is nobody (the system rule).
    const other = path.join(work, 'other');
    execFileSync('cp', ['-a', sys, other]);
    execFileSync('chown', ['-R', 'nobody', other]);
    const byRoot = await cli(['ctl', 'status', '--json'], {
      cwd: path.join(work, 'cwd'),
      env: { APXS_TS_SYSTEM_ROOT: other, APXS_TS_SERVER_ROOT: '' },
    });
    expect(byRoot.code).toBe(2);
    expect(byRoot.json.error.code).toBe('UNSAFE_CONFIG');
    const byOwner = await asNobody(['vhost', 'list', '--json'], other);
    expect(JSON.parse(byOwner).error.code).toBe('UNSAFE_CONFIG');

    // Root's: nobody may look, not change.
    const denied = JSON.parse(
      await asNobody(['vhost', 'add', 'no.dd', '--hosts-file', hosts, '--json'], sys),
    );
    expect(denied.error.code).toBe('PERMISSION_DENIED');
    expect(denied.error.hint).toMatch(/sudo/);
    expect(denied.error.hint).toMatch(/sandbox create/);
    await expect(fs.stat(path.join(sys, 'sites-available', 'no.dd.conf'))).rejects.toThrow();
    const look = JSON.parse(await asNobody(['vhost', 'list', '--json'], sys));
    expect(look.ok).toBe(true);
    expect(look.serverRootFrom).toBe('system');
  }, 60_000);

  it("found the way apxs finds it: the system httpd -V's HTTPD_ROOT (read only, nothing touched)", async () => {
    const found = await systemServerRoot({ PATH: process.env.PATH });
    // apache2 -V exits 1 without Debian's envvars, after printing its compile settings.
    const v = spawnSync('/usr/sbin/apache2', ['-V'], { encoding: 'utf8' }).stdout;
    expect(found?.root).toBe(/HTTPD_ROOT="([^"]+)"/.exec(v)?.[1]);
    expect(found?.why).toMatch(/-V: HTTPD_ROOT/);
    expect(await systemServerRoot({ APXS_TS_SYSTEM_ROOT: 'none' })).toBeUndefined();
  });
});

function asNobody(args: string[], sysRoot: string): Promise<string> {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const cmd = `cd /tmp && APXS_TS_SYSTEM_ROOT=${q(sysRoot)} APXS_TS_SERVER_ROOT= XDG_CACHE_HOME=/tmp/apxs-ts-sysroot-nobody-cache ${q(process.execPath)} ${q(CLI)} ${args.map(q).join(' ')}`;
  return new Promise((resolve) =>
    execFile('su', ['nobody', '-s', '/bin/sh', '-c', cmd], (_err, stdout) => resolve(stdout)),
  );
}
