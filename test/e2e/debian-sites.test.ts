/**
 * Sites on a copy of the real Debian /etc/apache2 (issue #17 items 1, 2, 5,
 * 7 and 8): vhost add never replaces a site file it did not write, vhost
 * remove takes only its own block out, a2ensite/a2dissite and apxs-ts agree
 * on links and enabled_by_admin markers, and list/check/logs say what httpd
 * will do with disabled sites.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get } from '../helpers.js';
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
let t: DebianTree;
beforeAll(async () => {
  t = await debianTree('apxs-ts-deb-sites-');
});
afterAll(() => stopTree(t));

describe('Debian sites', () => {
  it('works from a fresh tree without its run dir, as apache2ctl would (item 5)', async () => {
    expect(await exists(path.join(t.work, 'run'))).toBe(false);
    const ct = await apxs(t, ['ctl', 'configtest', '--json']);
    expect(ct.code, ct.stdout + ct.stderr).toBe(0);
    expect((await fs.stat(path.join(t.work, 'run'))).isDirectory()).toBe(true);
  });

  it('refuses to replace a site file the package or the admin wrote, and vhost remove does not delete it (item 1)', async () => {
    const shipped = new Map(shippedFiles().map((f) => [f.rel, f.md5]));
    expect(shipped.get('sites-available/default-ssl.conf')).toMatch(/^[0-9a-f]{32}$/);
    const shop = path.join(t.root, 'sites-available', 'shop.dd.conf');
    await fs.writeFile(
      shop,
      `<VirtualHost *:${t.port}>\n\tServerName shop.dd\n\tDocumentRoot /var/www/html\n</VirtualHost>\n`,
    );
    expect((await a2(t, 'a2ensite', 'shop.dd')).code).toBe(0);
    const before = await Promise.all(
      ['default-ssl', '000-default', 'shop.dd'].map((n) =>
        fs.readFile(path.join(t.root, 'sites-available', `${n}.conf`)),
      ),
    );
    for (const name of ['default-ssl', '000-default', 'shop.dd']) {
      const r = await apxs(t, ['vhost', 'add', name, '--json']);
      expect(r.code, r.stdout).toBe(2);
      expect(r.json.error.code).toBe('SITE_EXISTS');
      // Not apxs-ts's: apxs-ts's vhost is absent (#23: exit 0, nothing changed), and the site file is left, said so.
      const rm = await apxs(t, ['vhost', 'remove', name, '--json']);
      expect(rm.code, rm.stdout).toBe(0);
      expect(rm.json).toMatchObject({ changed: false, alreadyAbsent: true, files: [] });
      expect(rm.json.warnings.join('\n')).toContain('was not written by apxs-ts: left as it is');
    }
    const after = await Promise.all(
      ['default-ssl', '000-default', 'shop.dd'].map((n) =>
        fs.readFile(path.join(t.root, 'sites-available', `${n}.conf`)),
      ),
    );
    expect(after).toEqual(before);
    expect(await md5(path.join(t.root, 'sites-available', 'default-ssl.conf'))).toBe(
      shipped.get('sites-available/default-ssl.conf'),
    );
    expect(await fs.readlink(path.join(t.root, 'sites-enabled', 'shop.dd.conf'))).toBe(
      '../sites-available/shop.dd.conf',
    );
    expect(await exists(path.join(t.root, 'sites-enabled', 'default-ssl.conf'))).toBe(false);
    // a2ensite still finds Debian's site.
    expect((await a2(t, 'a2ensite', 'default-ssl')).out).not.toContain('does not exist');
    expect((await a2(t, 'a2dissite', 'default-ssl')).code).toBe(0);
    expect((await a2(t, 'a2dissite', 'shop.dd')).code).toBe(0);
  });

  it('vhost remove takes out only its own block; the file goes only when nothing else is left in a file it made (item 2)', async () => {
    const file = path.join(t.root, 'sites-available', 'one.dd.conf');
    expect((await apxs(t, ['vhost', 'add', 'one.dd'])).code).toBe(0);
    const admin = `\n<VirtualHost *:${t.port}>\n    ServerName extra.dd\n    DocumentRoot /var/www/html\n</VirtualHost>\n`;
    await fs.appendFile(file, admin);
    const rm = await apxs(t, ['vhost', 'remove', 'one.dd', '--json']);
    expect(rm.code, rm.stdout).toBe(0);
    const left = await fs.readFile(file, 'utf8');
    expect(left).toContain(admin);
    expect(left).not.toContain('BEGIN apxs-ts vhost one.dd');
    expect(await fs.readlink(path.join(t.root, 'sites-enabled', 'one.dd.conf'))).toBe(
      '../sites-available/one.dd.conf',
    );
    expect((await apxs(t, ['ctl', 'configtest'])).code).toBe(0);
    // What is left is the admin's alone: a vhost add of that name now refuses it like any other.
    const adminBytes = await fs.readFile(file);
    expect((await apxs(t, ['vhost', 'add', 'one.dd'])).code).toBe(2);
    expect(await fs.readFile(file)).toEqual(adminBytes);
    await fs.rm(file);
    await fs.rm(path.join(t.root, 'sites-enabled', 'one.dd.conf'));
  });

  it("writes and removes a2ensite's markers and agrees with a2ensite/a2dissite; DocumentRoot under the www dir; --purge leaves no empty dir (item 7)", async () => {
    const add = await apxs(t, ['vhost', 'add', 'two.dd', '--json']);
    expect(add.code, add.stdout).toBe(0);
    expect(add.json.documentRoot).toBe(path.join(t.www, 'two.dd'));
    const marker = path.join(t.state, 'site', 'enabled_by_admin', 'two.dd');
    expect(await exists(marker)).toBe(true);
    expect((await a2(t, 'a2dissite', 'two.dd')).code).toBe(0);
    expect(await exists(path.join(t.state, 'site', 'disabled_by_admin', 'two.dd'))).toBe(true);
    expect((await a2(t, 'a2ensite', 'two.dd')).code).toBe(0);
    expect(await exists(marker)).toBe(true);
    const rm = await apxs(t, ['vhost', 'remove', 'two.dd', '--purge']);
    expect(rm.code, rm.stderr).toBe(0);
    for (const d of [
      'enabled_by_admin',
      'disabled_by_admin',
      'enabled_by_maint',
      'disabled_by_maint',
    ]) {
      expect(await exists(path.join(t.state, 'site', d, 'two.dd'))).toBe(false);
    }
    for (const p of ['sites-available/two.dd.conf', 'sites-enabled/two.dd.conf'])
      expect(await exists(path.join(t.root, p))).toBe(false);
    expect(await exists(path.join(t.www, 'two.dd'))).toBe(false);
    // A DocumentRoot whose parents apxs-ts had to make: --purge takes them too, and nothing else.
    const deep = path.join(t.work, 'deep', 'a', 'three.dd');
    expect((await apxs(t, ['vhost', 'add', 'three.dd', '--docroot', deep])).code).toBe(0);
    expect((await apxs(t, ['vhost', 'remove', 'three.dd', '--purge'])).code).toBe(0);
    expect(await exists(path.join(t.work, 'deep'))).toBe(false);
    expect(await exists(t.www)).toBe(true);
    // The hosts file's backups: in apxs-ts's state dir, a bounded number, none beside the hosts file.
    for (let i = 0; i < 6; i++) {
      expect((await apxs(t, ['vhost', 'add', `b${i}.dd`])).code).toBe(0);
      expect((await apxs(t, ['vhost', 'remove', `b${i}.dd`, '--purge'])).code).toBe(0);
    }
    expect((await fs.readdir(t.work)).filter((f) => f.startsWith('hosts.'))).toEqual([]);
    const kept = (await fs.readdir(path.join(t.root, '.apxs-ts', 'hosts-backups'))).filter((f) =>
      f.startsWith('hosts.'),
    );
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThanOrEqual(10);
  });

  it('lists disabled sites, warns when a mapped name falls to the default vhost, and says reload only when it must (item 8)', async () => {
    const add = await apxs(t, ['vhost', 'add', 'four.dd']);
    expect(add.code).toBe(0);
    expect(add.stderr).toContain('reload the server');
    const again = await apxs(t, ['vhost', 'add', 'four.dd']);
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('nothing changed');
    expect(again.stderr).not.toContain('reload');
    expect((await a2(t, 'a2dissite', 'four.dd')).code).toBe(0);
    const list = await apxs(t, ['vhost', 'list', '--json']);
    const four = list.json.vhosts.find((v: { serverName?: string }) => v.serverName === 'four.dd');
    expect(four).toMatchObject({ disabled: true, isDefault: false });
    expect(
      list.json.vhosts.find((v: { file: string }) => v.file.endsWith('000-default.conf')),
    ).toMatchObject({ disabled: false, isDefault: true });
    expect((await apxs(t, ['vhost', 'list'])).stdout).toMatch(
      /four\.dd\t\S+four\.dd\.conf:\d+\tdisabled/,
    );
    const check = await apxs(t, ['vhost', 'check', '--no-httpd', '--json']);
    expect(check.code).toBe(1);
    expect(check.json.findings.map((f: { code: string }) => f.code)).toContain(
      'NAME_SITE_DISABLED',
    );
    expect((await a2(t, 'a2ensite', 'four.dd')).code).toBe(0);
    const ok = await apxs(t, ['vhost', 'check', '--no-httpd', '--json']);
    expect(ok.code, ok.stdout).toBe(0);

    // The running server: --access is 000-default's own access.log, and a removed vhost needs a reload.
    const start = await apxs(t, ['ctl', 'start', '--json']);
    expect(start.code, start.stdout + start.stderr).toBe(0);
    expect((await get(`http://127.0.0.1:${t.port}/`, { Host: 'four.dd' })).body).toContain(
      'four.dd',
    );
    const logs = await apxs(t, ['ctl', 'logs', '--access', '--json']);
    expect(logs.code, logs.stdout).toBe(0);
    expect(logs.json.file).toBe(path.join(t.work, 'log', 'access.log'));
    const rm = await apxs(t, ['vhost', 'remove', 'four.dd']);
    expect(rm.code).toBe(0);
    expect(rm.stderr).toContain('apxs-ts ctl graceful');
    expect((await apxs(t, ['ctl', 'stop'])).code).toBe(0);
    const rm2 = await apxs(t, ['vhost', 'add', 'five.dd']);
    expect(rm2.code).toBe(0);
    const rm3 = await apxs(t, ['vhost', 'remove', 'five.dd', '--purge']);
    expect(rm3.stderr).not.toContain('graceful');
  });
});
