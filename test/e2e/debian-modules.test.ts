/**
 * Modules, LogLevel and doctor on a copy of the real Debian /etc/apache2
 * (issue #17 items 3, 4, 5, 6, 7 and 10): install --force over a stock
 * module keeps what it replaced and uninstall puts it back byte for byte;
 * an admin's disabled mods-available file is neither overwritten nor
 * deleted; markers as a2enmod writes them; LogLevel in conf-available, never
 * apache2.conf; a module's <Location> answers only this machine unless
 * installed --public.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, get } from '../helpers.js';
import {
  a2,
  apxs,
  debianTree,
  md5,
  shippedFiles,
  stopTree,
  type DebianTree,
} from './debian-tree.js';

const exists = (p: string) =>
  fs.lstat(p).then(
    () => true,
    () => false,
  );
const linkOf = (p: string) => fs.readlink(p).catch(() => undefined);
/** dpkg's md5 of a file apache2-bin shipped under /usr/lib/apache2/modules. */
const soMd5 = (so: string) =>
  /^([0-9a-f]{32})\s/m.exec(
    execFileSync(
      'grep',
      [`usr/lib/apache2/modules/${so}$`, '/var/lib/dpkg/info/apache2-bin.md5sums'],
      { encoding: 'utf8' },
    ),
  )![1];
/**
 * "Someone else": every address of this machine is local to `Require local`
 * (it also grants a client whose address is the server's), so the test
 * makes httpd take the client from X-Forwarded-For (mod_remoteip, trusted
 * from 127.0.0.1 only), as behind a proxy: 203.0.113.9 is then the client.
 */
const REMOTE = { 'X-Forwarded-For': '203.0.113.9' };

let t: DebianTree;
const shipped = new Map(shippedFiles().map((f) => [f.rel, f.md5]));
beforeAll(async () => {
  t = await debianTree('apxs-ts-deb-mods-');
  // The copy's modules dir stands for /usr/lib/apache2/modules: the stock .so files apxs-ts must give back.
  await fs.mkdir(path.join(t.root, 'modules'), { mode: 0o755 });
  for (const so of ['mod_info.so', 'mod_status.so'])
    await fs.copyFile(`/usr/lib/apache2/modules/${so}`, path.join(t.root, 'modules', so));
  for (const name of ['info', 'status', 'hi', 'foo']) {
    const r = await cli(['new', name, '--template', 'handler', '--dir', t.work]);
    if (r.code !== 0) throw new Error(r.stderr);
  }
});
afterAll(() => stopTree(t));

describe('Debian modules', () => {
  it("install works on a fresh tree without its run dir (item 5), writes a2enmod's marker and uninstall clears a2dismod/a2enmod's (item 7)", async () => {
    expect(await exists(path.join(t.work, 'run'))).toBe(false);
    const inst = await apxs(t, ['install', path.join(t.work, 'mod_hi'), '--json']);
    expect(inst.code, inst.stdout + inst.stderr).toBe(0);
    expect(await exists(path.join(t.state, 'module', 'enabled_by_admin', 'hi'))).toBe(true);
    expect((await a2(t, 'a2dismod', 'hi')).code).toBe(0);
    expect(await exists(path.join(t.state, 'module', 'disabled_by_admin', 'hi'))).toBe(true);
    expect((await a2(t, 'a2enmod', 'hi')).code).toBe(0);
    expect(await exists(path.join(t.state, 'module', 'enabled_by_admin', 'hi'))).toBe(true);
    expect(await linkOf(path.join(t.root, 'mods-enabled', 'hi.load'))).toBe(
      '../mods-available/hi.load',
    );
    const un = await apxs(t, ['uninstall', 'hi']);
    expect(un.code, un.stderr).toBe(0);
    for (const d of [
      'enabled_by_admin',
      'disabled_by_admin',
      'enabled_by_maint',
      'disabled_by_maint',
    ]) {
      expect(await exists(path.join(t.state, 'module', d, 'hi'))).toBe(false);
    }
    for (const f of [
      'mods-available/hi.load',
      'mods-available/hi.conf',
      'mods-enabled/hi.load',
      'mods-enabled/hi.conf',
    ])
      expect(await exists(path.join(t.root, f))).toBe(false);
  });

  it('install --force over a stock module keeps it, and uninstall puts it back byte for byte, enabled as it was (item 3)', async () => {
    // info: shipped disabled; status: shipped enabled (links and an enabled_by_maint marker).
    for (const [name, enabled] of [
      ['info', false],
      ['status', true],
    ] as const) {
      const so = path.join(t.root, 'modules', `mod_${name}.so`);
      const refused = await apxs(t, ['install', path.join(t.work, `mod_${name}`), '--json']);
      expect(refused.code, refused.stdout).toBe(2);
      expect(refused.json.error.code).toBe('MODULE_EXISTS');
      const inst = await apxs(t, ['install', path.join(t.work, `mod_${name}`), '--force']);
      expect(inst.code, inst.stderr).toBe(0);
      expect(await md5(so)).not.toBe(soMd5(`mod_${name}.so`));
      expect(
        await fs.readFile(path.join(t.root, 'mods-available', `${name}.load`), 'utf8'),
      ).toContain(`LoadModule ${name}_module ${so}`);
      const reinst = await apxs(t, ['install', path.join(t.work, `mod_${name}`), '--force']); // a second forced install keeps the first save
      expect(reinst.code, reinst.stderr).toBe(0);
      const un = await apxs(t, ['uninstall', name]);
      expect(un.code, un.stderr).toBe(0);
      expect(await md5(so)).toBe(soMd5(`mod_${name}.so`));
      for (const ext of ['load', 'conf']) {
        expect(await md5(path.join(t.root, 'mods-available', `${name}.${ext}`))).toBe(
          shipped.get(`mods-available/${name}.${ext}`),
        );
        expect(await linkOf(path.join(t.root, 'mods-enabled', `${name}.${ext}`))).toBe(
          enabled ? `../mods-available/${name}.${ext}` : undefined,
        );
      }
      expect(await exists(path.join(t.state, 'module', 'enabled_by_maint', name))).toBe(enabled);
      expect((await a2(t, 'a2enmod', name)).code).toBe(0); // Debian's tools find their module again
      if (!enabled) expect((await a2(t, 'a2dismod', name)).code).toBe(0);
    }
    expect((await apxs(t, ['ctl', 'configtest'])).code).toBe(0);
  });

  it('kill -9 in a forced install (after the .so) or in the uninstall (after one restored file): the next run finishes, and the stock module is back byte for byte (item 3)', async () => {
    const so = path.join(t.root, 'modules', 'mod_info.so');
    const mark = path.join(t.work, 'failpoint-mark');
    for (const [step, cmd] of [
      ['install:after-so', 'install'],
      ['uninstall:after-restore-one', 'uninstall'],
    ] as const) {
      await fs.rm(mark, { force: true });
      const env = { ...t.env, APXS_TS_FAILPOINT: step, APXS_TS_FAILPOINT_MARK: mark };
      const installArgs = [
        'install',
        path.join(t.work, 'mod_info'),
        '--force',
        '--server-root',
        t.root,
      ];
      if (cmd === 'uninstall') expect((await cli(installArgs, { env: t.env })).code).toBe(0);
      const killed = await cli(
        cmd === 'install' ? installArgs : ['uninstall', 'info', '--server-root', t.root],
        { env },
      );
      expect(killed.code, killed.stderr).not.toBe(0);
      expect(await fs.readFile(mark, 'utf8')).toBe(`${step}\n`);
      if (cmd === 'install') {
        expect(await md5(so)).not.toBe(soMd5('mod_info.so')); // killed after the .so was replaced
        expect((await cli(installArgs, { env: t.env })).code).toBe(0);
      }
      const un = await apxs(t, ['uninstall', 'info']);
      expect(un.code, un.stderr).toBe(0);
      expect(await md5(so)).toBe(soMd5('mod_info.so'));
      for (const ext of ['load', 'conf'])
        expect(await md5(path.join(t.root, 'mods-available', `info.${ext}`))).toBe(
          shipped.get(`mods-available/info.${ext}`),
        );
      expect(await exists(path.join(t.root, 'mods-enabled', 'info.load'))).toBe(false);
      expect(await fs.readdir(path.join(t.root, '.apxs-ts', 'replaced')).catch(() => [])).toEqual(
        [],
      );
    }
  });

  it("an admin's disabled mods-available file is not overwritten without --force nor deleted by uninstall (item 4)", async () => {
    const load = path.join(t.root, 'mods-available', 'foo.load');
    const text = "# the admin's own foo\nLoadModule foo_module /usr/local/lib/foo/mod_foo.so\n";
    await fs.writeFile(load, text);
    const r = await apxs(t, ['install', path.join(t.work, 'mod_foo'), '--json']);
    expect(r.code, r.stdout).toBe(2);
    expect(r.json.error.message).toContain(load);
    expect(await fs.readFile(load, 'utf8')).toBe(text);
    // apxs-ts's foo is absent (#23: exit 0, nothing changed); the admin's file is left and named.
    const un = await apxs(t, ['uninstall', 'foo', '--json']);
    expect(un.code, un.stderr).toBe(0);
    expect(un.json).toMatchObject({ changed: false, alreadyAbsent: true, files: [] });
    expect(un.json.warnings.join('\n')).toContain(`${load} was not written by apxs-ts`);
    expect(await fs.readFile(load, 'utf8')).toBe(text);
    expect((await apxs(t, ['install', path.join(t.work, 'mod_foo'), '--force'])).code).toBe(0);
    expect((await apxs(t, ['uninstall', 'foo'])).code).toBe(0);
    expect(await fs.readFile(load, 'utf8')).toBe(text);
    expect(await exists(path.join(t.root, 'mods-enabled', 'foo.load'))).toBe(false);
    await fs.rm(load);
  });

  it('ctl loglevel goes in conf-available/apxs-ts-loglevel.conf, enabled as a2enconf does, never apache2.conf (item 6)', async () => {
    const conf = path.join(t.root, 'conf-available', 'apxs-ts-loglevel.conf');
    const set = await apxs(t, ['ctl', 'loglevel', 'debug', '--module', 'alias']);
    expect(set.code, set.stderr).toBe(0);
    expect(await fs.readFile(conf, 'utf8')).toContain('LogLevel alias:debug');
    expect(await linkOf(path.join(t.root, 'conf-enabled', 'apxs-ts-loglevel.conf'))).toBe(
      '../conf-available/apxs-ts-loglevel.conf',
    );
    expect(await exists(path.join(t.state, 'conf', 'enabled_by_admin', 'apxs-ts-loglevel'))).toBe(
      true,
    );
    expect(await md5(path.join(t.root, 'apache2.conf'))).toBe(shipped.get('apache2.conf'));
    // httpd reads it: -t -D DUMP_CONFIG is not in 2.4's apache2, so ask the error log at debug after a start instead.
    expect((await a2(t, 'a2disconf', 'apxs-ts-loglevel')).code).toBe(0);
    expect((await a2(t, 'a2enconf', 'apxs-ts-loglevel')).code).toBe(0);
    const reset = await apxs(t, ['ctl', 'loglevel', '--reset']);
    expect(reset.code, reset.stderr).toBe(0);
    for (const p of [conf, path.join(t.root, 'conf-enabled', 'apxs-ts-loglevel.conf')])
      expect(await exists(p)).toBe(false);
    for (const d of ['enabled_by_admin', 'disabled_by_admin'])
      expect(await exists(path.join(t.state, 'conf', d, 'apxs-ts-loglevel'))).toBe(false);
    expect(await md5(path.join(t.root, 'apache2.conf'))).toBe(shipped.get('apache2.conf'));
    // A line of the admin's own in that file: --reset takes only apxs-ts's block out and keeps the file.
    expect((await apxs(t, ['ctl', 'loglevel', 'info'])).code).toBe(0);
    await fs.appendFile(conf, 'LogLevel mime:info\n');
    expect((await apxs(t, ['ctl', 'loglevel', '--reset'])).code).toBe(0);
    const kept = await fs.readFile(conf, 'utf8');
    expect(kept).toContain('LogLevel mime:info\n');
    expect(kept).not.toContain('BEGIN apxs-ts loglevel');
    expect((await a2(t, 'a2disconf', 'apxs-ts-loglevel')).code).toBe(0);
    await fs.rm(conf);
  });

  it('uninstall takes the module\'s own LogLevel out with it (httpd: "Cannot find module" otherwise), and keeps the rest', async () => {
    const conf = path.join(t.root, 'conf-available', 'apxs-ts-loglevel.conf');
    expect((await apxs(t, ['install', path.join(t.work, 'mod_hi')])).code).toBe(0);
    expect((await apxs(t, ['ctl', 'loglevel', 'debug', '--module', 'hi'])).code).toBe(0);
    expect((await apxs(t, ['ctl', 'loglevel', 'info', '--module', 'alias'])).code).toBe(0);
    const un = await apxs(t, ['uninstall', 'hi']);
    expect(un.code, un.stderr).toBe(0);
    const text = await fs.readFile(conf, 'utf8');
    expect(text).not.toContain('hi:debug');
    expect(text).toContain('LogLevel alias:info');
    expect((await apxs(t, ['ctl', 'loglevel', '--reset'])).code).toBe(0);
    expect(await exists(conf)).toBe(false);
  });

  it('a module page answers only this machine unless installed --public (item 10)', async () => {
    await fs.writeFile(
      path.join(t.root, 'conf-available', 'test-remoteip.conf'),
      'RemoteIPHeader X-Forwarded-For\nRemoteIPInternalProxy 127.0.0.1\n',
    );
    expect((await a2(t, 'a2enmod', 'remoteip')).code).toBe(0);
    expect((await a2(t, 'a2enconf', 'test-remoteip')).code).toBe(0);
    expect((await apxs(t, ['install', path.join(t.work, 'mod_hi')])).code).toBe(0);
    expect(await fs.readFile(path.join(t.root, 'mods-available', 'hi.conf'), 'utf8')).toContain(
      'Require local',
    );
    const start = await apxs(t, ['ctl', 'start']);
    expect(start.code, start.stderr).toBe(0);
    expect((await get(`http://127.0.0.1:${t.port}/hi`)).status).toBe(200);
    expect((await get(`http://[::1]:${t.port}/hi`)).status).toBe(200);
    expect((await get(`http://127.0.0.1:${t.port}/hi`, REMOTE)).status).toBe(403);
    expect((await apxs(t, ['install', path.join(t.work, 'mod_hi'), '--public'])).code).toBe(0);
    expect((await apxs(t, ['ctl', 'graceful'])).code).toBe(0);
    expect((await get(`http://127.0.0.1:${t.port}/hi`, REMOTE)).status).toBe(200);
    expect(
      JSON.parse(await fs.readFile(path.join(t.work, 'mod_hi', 'apxs-ts-module.json'), 'utf8'))
        .public,
    ).toBe(true);
    expect((await apxs(t, ['install', path.join(t.work, 'mod_hi'), '--local'])).code).toBe(0);
    expect((await apxs(t, ['ctl', 'graceful'])).code).toBe(0);
    expect((await get(`http://127.0.0.1:${t.port}/hi`, REMOTE)).status).toBe(403);
    expect((await apxs(t, ['ctl', 'stop'])).code).toBe(0);
    expect((await apxs(t, ['uninstall', 'hi'])).code).toBe(0);
    expect((await a2(t, 'a2disconf', 'test-remoteip')).code).toBe(0);
    expect((await a2(t, 'a2dismod', 'remoteip')).code).toBe(0);
  });

  it('doctor reads no MPM when none is loaded instead of the next line\'s "Server" (item 5)', async () => {
    expect((await a2(t, 'a2dismod', '-f', 'mpm_event')).code).toBe(0);
    const d = await apxs(t, ['doctor', '--json']);
    expect(d.json, d.stdout + d.stderr).toBeTruthy();
    expect(d.json.httpd.mpm).toBeNull();
    expect((await a2(t, 'a2enmod', 'mpm_event')).code).toBe(0);
    const d2 = await apxs(t, ['doctor', '--json']);
    expect(d2.json.httpd.mpm).toBe('event');
  });
});
