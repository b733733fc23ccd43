/**
 * `query` answers as `apxs -q` does (the same apxs: Debian's for a sandbox,
 * the prefix's own for a built httpd), and `doctor` reports what apxs-ts
 * detected for a sandbox and for a prefix, and what is missing with its fix.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, newSandbox, tmpDir } from '../helpers.js';
import { withBuiltHttpd } from '../series-builds.js';

const started: string[] = [];
afterAll(async () => {
  for (const sr of started) await cli(['ctl', 'stop', '--server-root', sr]);
});

const apxsQ = (apxs: string, name: string) =>
  execFileSync(apxs, ['-q', name], { encoding: 'utf8' }).replace(/\n$/, '');

describe('query', () => {
  it('query INCLUDEDIR prints what `apxs -q INCLUDEDIR` prints, for a sandbox', async () => {
    const { sr } = await newSandbox();
    const r = await cli(['query', 'INCLUDEDIR', '--server-root', sr]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.replace(/\n$/, '')).toBe(apxsQ('/usr/bin/apxs', 'INCLUDEDIR'));
    // Several names: one value per line, each as apxs gives it.
    const two = await cli(['query', 'CC', 'LIBEXECDIR', '--server-root', sr]);
    expect(two.stdout.split('\n').slice(0, 2)).toEqual([
      apxsQ('/usr/bin/apxs', 'CC'),
      apxsQ('/usr/bin/apxs', 'LIBEXECDIR'),
    ]);
  });

  it('--json gives every variable, expanded as apxs -q expands it', async () => {
    const { sr } = await newSandbox();
    const r = await cli(['query', '--json', '--server-root', sr]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.source).toBe('/usr/bin/apxs');
    const vars = r.json.vars as Record<string, string>;
    // apxs -q alone lists its config_vars.mk: every one of those names is there.
    const listed = execFileSync('/usr/bin/apxs', ['-q'], { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.split('=')[0])
      .filter(Boolean);
    expect(listed.length).toBeGreaterThan(50);
    for (const n of listed) expect(vars, n).toHaveProperty([n!]);
    expect(vars.INCLUDEDIR).toBe(apxsQ('/usr/bin/apxs', 'INCLUDEDIR'));
    // Expanded (apxs -q alone prints ${exec_prefix}/bin unexpanded).
    expect(vars.bindir).toBe(apxsQ('/usr/bin/apxs', 'bindir'));
    expect(vars.bindir).not.toContain('${');
  });

  it('an unknown name is bad input (exit 2), named', async () => {
    const { sr } = await newSandbox();
    const r = await cli(['query', 'NO_SUCH_VAR', '--json', '--server-root', sr]);
    expect(r.code).toBe(2);
    expect(r.json.error.message).toContain('NO_SUCH_VAR');
  });
});

describe('doctor', () => {
  it('reports a sandbox: kind and path, httpd version, series and MPM, compiler, apxs, flags, hosts file, Listen status', async () => {
    const { work, sr, port } = await newSandbox();
    const hosts = path.join(work, 'hosts');
    await fs.writeFile(hosts, '127.0.0.1 localhost\n');
    const r = await cli(['doctor', '--json', '--server-root', sr, '--hosts-file', hosts]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const d = r.json;
    expect(d.ok).toBe(true);
    expect(d.serverRoot).toEqual({
      kind: 'sandbox',
      path: sr,
      config: path.join(sr, 'conf', 'httpd.conf'),
    });
    const v = /Apache\/(2\.4\.\d+)/.exec(
      execFileSync('/usr/sbin/apache2', ['-v'], { encoding: 'utf8' }),
    )![1];
    expect(d.httpd).toMatchObject({ binary: '/usr/sbin/apache2', version: v, series: '2.4' });
    // Debian loads its MPM as a module: only httpd -V with the sandbox's config knows it.
    expect(d.httpd.mpm).toMatch(/^(event|worker|prefork)$/);
    expect(d.compiler.cc).toBe(apxsQ('/usr/bin/apxs', 'CC'));
    expect(d.compiler.ccVersion).toMatch(/gcc|clang/);
    expect(d.compiler.cxxVersion).toMatch(/g\+\+|clang/);
    expect(d.apxs).toBe('/usr/bin/apxs');
    expect(d.flags.cflags).toContain(`-I${apxsQ('/usr/bin/apxs', 'INCLUDEDIR')}`);
    expect(d.hostsFile).toEqual({ path: hosts, writable: true, fix: null });
    expect(d.listen).toEqual([{ address: `127.0.0.1:${port}`, port, status: 'free' }]); // the sandbox listens on loopback
    expect(d.running).toBe(null);
    expect(d.missing).toEqual([]);

    const start = await cli(['ctl', 'start', '--server-root', sr]);
    expect(start.code, start.stderr).toBe(0);
    started.push(sr);
    const up = await cli(['doctor', '--json', '--server-root', sr, '--hosts-file', hosts]);
    expect(up.json.listen[0].status).toBe('this server');
    expect(up.json.running.pid).toBeGreaterThan(0);
    // Human form: one line per fact.
    const human = await cli(['doctor', '--server-root', sr, '--hosts-file', hosts]);
    expect(human.stdout).toMatch(/^server root: sandbox /m);
    expect(human.stdout).toMatch(/^httpd: .*\(series 2\.4, MPM \w+\)/m);
    expect(human.stdout).toContain('nothing missing');
  });

  it('a Listen port another process holds is missing (exit 1), with the holder and the fix', async () => {
    const { sr, port } = await newSandbox();
    const squatter = net.createServer().listen(port, '127.0.0.1');
    await new Promise((r) => squatter.once('listening', r));
    try {
      const r = await cli(['doctor', '--json', '--server-root', sr]);
      expect(r.code).toBe(1);
      expect(r.json.ok).toBe(false);
      expect(r.json.listen[0]).toMatchObject({ port, status: 'taken' });
      expect(r.json.listen[0].holder).toContain(`pid ${process.pid}`);
      const miss = r.json.missing.find((m: { what: string }) => m.what === `port ${port}`);
      expect(miss.fix).toContain(path.join(sr, 'conf', 'httpd.conf'));
      // The private hosts file the tests pass does not exist: reported, not counted as missing.
      expect(r.json.hostsFile.writable).toBe(false);
      expect(r.json.missing).toHaveLength(1);
    } finally {
      squatter.close();
    }
  });

  it('no server root: missing, with the command that makes one', async () => {
    const dir = await tmpDir();
    const r = await cli(['doctor', '--json'], { cwd: dir, env: { APXS_TS_SERVER_ROOT: '' } });
    expect(r.code).toBe(1);
    expect(r.json.serverRoot).toBe(null);
    expect(r.json.missing[0]).toMatchObject({ what: 'server root' });
    expect(r.json.missing[0].fix).toMatch(/^apxs-ts sandbox create /);
    // The machine's tools are still reported.
    expect(r.json.apxs).toBe('/usr/bin/apxs');
    expect(r.json.compiler.ccVersion).toBeTruthy();
  });

  it('reports a prefix built from source (2.2.34): its own httpd, version and MPM, its own apxs; query asks that apxs', async () => {
    await withBuiltHttpd('2.2.34', async ({ prefix, port }) => {
      const r = await cli(['doctor', '--json', '--server-root', prefix]);
      expect(r.code, r.stdout).toBe(0);
      expect(r.json.serverRoot).toMatchObject({ kind: 'prefix', path: prefix });
      expect(r.json.httpd).toMatchObject({
        binary: path.join(prefix, 'bin', 'httpd'),
        version: '2.2.34',
        series: '2.2',
      });
      expect(r.json.httpd.mpm).toMatch(/prefork|worker|event/i);
      expect(r.json.apxs).toBe(path.join(prefix, 'bin', 'apxs'));
      expect(r.json.flags.cflags).toContain(`-I${path.join(prefix, 'include')}`);
      expect(r.json.listen).toEqual([{ address: `localhost:${port}`, port, status: 'free' }]);
      const q = await cli(['query', 'INCLUDEDIR', '--server-root', prefix]);
      expect(q.stdout.replace(/\n$/, '')).toBe(
        apxsQ(path.join(prefix, 'bin', 'apxs'), 'INCLUDEDIR'),
      );
    });
  });
});
