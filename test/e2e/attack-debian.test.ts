/**
 * Attacks on issue #17's Debian support that the issue did not name, on a
 * copy of the real /etc/apache2 (debian-tree.ts): the save of what
 * `install --force` replaced is written back by root into the module dir,
 * so a swapped blob or a record naming another path must be refused, not
 * restored; a2dismod between install and uninstall, and two concurrent
 * forced installs of the same stock module, must still give the stock
 * module back byte for byte.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers.js';
import {
  a2,
  apxs,
  debianTree,
  md5,
  shippedFiles,
  stopTree,
  type DebianTree,
} from './debian-tree.js';

const soMd5 = (so: string) =>
  /^([0-9a-f]{32})\s/m.exec(
    execFileSync(
      'grep',
      [`usr/lib/apache2/modules/${so}$`, '/var/lib/dpkg/info/apache2-bin.md5sums'],
      { encoding: 'utf8' },
    ),
  )![1];
const shipped = new Map(shippedFiles().map((f) => [f.rel, f.md5]));

let t: DebianTree;
let so: string;
let replaced: string;
beforeAll(async () => {
  t = await debianTree('apxs-ts-attack3-');
  await fs.mkdir(path.join(t.root, 'modules'), { mode: 0o755 });
  so = path.join(t.root, 'modules', 'mod_info.so');
  replaced = path.join(t.root, '.apxs-ts', 'replaced');
  await fs.copyFile('/usr/lib/apache2/modules/mod_info.so', so);
  for (const name of ['info', 'foo']) {
    const r = await cli(['new', name, '--template', 'handler', '--dir', t.work]);
    if (r.code !== 0) throw new Error(r.stderr);
  }
});
afterAll(() => stopTree(t));

const install = () => apxs(t, ['install', path.join(t.work, 'mod_info'), '--force']);
async function stockBack(): Promise<void> {
  expect(await md5(so)).toBe(soMd5('mod_info.so'));
  for (const ext of ['load', 'conf'])
    expect(await md5(path.join(t.root, 'mods-available', `info.${ext}`))).toBe(
      shipped.get(`mods-available/info.${ext}`),
    );
  expect(await fs.readdir(replaced).catch(() => [])).toEqual([]);
}
/** The record of the save, and the entry for `file`. */
async function record(): Promise<{
  module: string;
  paths: { path: string; kind: string; blob?: string }[];
}> {
  return JSON.parse(await fs.readFile(path.join(replaced, 'info.json'), 'utf8'));
}

describe('attacks on the Debian layout (#17)', () => {
  it("a swapped blob in replaced/ is refused by uninstall: the other bytes never reach the module dir; put back, the uninstall restores dpkg's bytes", async () => {
    expect((await install()).code).toBe(0);
    const ours = await md5(so);
    const rec = await record();
    const soBlob = rec.paths.find((p) => p.path === so)!.blob!;
    const stock = await fs.readFile(soBlob);
    // "An attacker's .so": any other bytes (here /bin/true's) in place of the saved stock module.
    await fs.copyFile('/bin/true', soBlob);
    const un = await apxs(t, ['uninstall', 'info', '--json']);
    expect(un.code, un.stdout).toBe(2);
    expect(un.json.error.code).toBe('UNSAFE_CONFIG');
    expect(await md5(so)).toBe(ours); // rolled back: apxs-ts's module still there, not /bin/true
    // A truncated blob (a disk that lost the tail) is refused the same way.
    await fs.writeFile(soBlob, stock.subarray(0, 100));
    expect((await apxs(t, ['uninstall', 'info'])).code).toBe(2);
    await fs.writeFile(soBlob, stock);
    expect((await apxs(t, ['uninstall', 'info'])).code).toBe(0);
    await stockBack();
  });

  it("a save record naming a path outside the module's files (or a blob elsewhere) is refused; nothing is written there", async () => {
    const outside = path.join(t.work, 'outside.conf');
    await fs.writeFile(outside, 'keep me\n');
    const secret = path.join(t.work, 'secret');
    await fs.writeFile(secret, 'not for mods-available\n');
    for (const tamper of ['path', 'blob'] as const) {
      expect((await install()).code).toBe(0);
      const rec = await record();
      const conf = rec.paths.find((p) => p.path.endsWith('/mods-available/info.conf'))!;
      if (tamper === 'path') conf.path = outside;
      else conf.blob = secret;
      const file = path.join(replaced, 'info.json');
      const good = await fs.readFile(file, 'utf8');
      await fs.writeFile(file, JSON.stringify(rec));
      const un = await apxs(t, ['uninstall', 'info', '--json']);
      expect(un.code, `${tamper}: ${un.stdout}`).toBe(2);
      expect(un.json.error.code).toBe('UNSAFE_CONFIG');
      expect(await fs.readFile(outside, 'utf8')).toBe('keep me\n');
      expect(await fs.readFile(path.join(t.root, 'mods-available', 'info.conf'), 'utf8')).toContain(
        'Written by apxs-ts',
      );
      await fs.writeFile(file, good);
      expect((await apxs(t, ['uninstall', 'info'])).code).toBe(0);
      await stockBack();
    }
  });

  it('a2dismod between a forced install and uninstall, and 2 concurrent forced installs x 3 rounds: the stock module comes back byte for byte every time', async () => {
    for (let round = 0; round < 3; round++) {
      const [a, b] = await Promise.all([install(), install()]);
      expect(a.code, a.stderr).toBe(0);
      expect(b.code, b.stderr).toBe(0);
      expect((await a2(t, 'a2dismod', 'info')).code).toBe(0);
      expect((await apxs(t, ['uninstall', 'info'])).code).toBe(0);
      await stockBack();
      expect(
        await fs.lstat(path.join(t.root, 'mods-enabled', 'info.load')).then(
          () => true,
          () => false,
        ),
      ).toBe(false);
      expect((await a2(t, 'a2enmod', 'info')).code).toBe(0);
      expect((await a2(t, 'a2dismod', 'info')).code).toBe(0);
    }
  });

  it("an admin's own mods-enabled/NAME.load (a link to a file elsewhere) is neither replaced by install nor deleted by uninstall; --force keeps it and uninstall puts it back", async () => {
    const elsewhere = path.join(t.work, 'opt-foo.load');
    await fs.writeFile(
      elsewhere,
      "# the admin's foo, enabled from /opt (its LoadModule commented out while the .so is away)\n",
    );
    const link = path.join(t.root, 'mods-enabled', 'foo.load');
    await fs.symlink(elsewhere, link);
    const r = await apxs(t, ['install', path.join(t.work, 'mod_foo'), '--json']);
    expect(r.code, r.stdout).toBe(2);
    expect(r.json.error.code).toBe('MODULE_EXISTS');
    expect(r.json.error.message).toContain(link);
    expect(await fs.readlink(link)).toBe(elsewhere);
    expect((await apxs(t, ['install', path.join(t.work, 'mod_foo'), '--force'])).code).toBe(0);
    expect(await fs.readlink(link)).toBe('../mods-available/foo.load');
    expect((await apxs(t, ['uninstall', 'foo'])).code).toBe(0);
    expect(await fs.readlink(link)).toBe(elsewhere);
    await fs.rm(link);
  });

  it("an admin's own file put straight in sites-enabled/NAME.conf: vhost add refuses (SITE_EXISTS) and the file keeps its bytes; one added after apxs-ts's link is not deleted by vhost remove", async () => {
    const entry = path.join(t.root, 'sites-enabled', 'one.dd.conf');
    const text =
      "# the admin's one.dd, kept in sites-enabled only\n<VirtualHost *:8081>\nServerName one.dd\n</VirtualHost>\n";
    await fs.writeFile(entry, text);
    const r = await apxs(t, ['vhost', 'add', 'one.dd', '--json']);
    expect(r.code, r.stdout).toBe(2);
    expect(r.json.error.code).toBe('SITE_EXISTS');
    expect(await fs.readFile(entry, 'utf8')).toBe(text);
    expect(
      await fs.lstat(path.join(t.root, 'sites-available', 'one.dd.conf')).then(
        () => true,
        () => false,
      ),
    ).toBe(false);
    await fs.rm(entry);
    // apxs-ts's site, then the admin replaces its link by a file of their own: vhost remove leaves that file.
    expect((await apxs(t, ['vhost', 'add', 'one.dd'])).code).toBe(0);
    await fs.rm(entry);
    await fs.writeFile(entry, text);
    expect((await apxs(t, ['vhost', 'remove', 'one.dd'])).code).toBe(0);
    expect(await fs.readFile(entry, 'utf8')).toBe(text);
    await fs.rm(entry);
  });

  it("an admin's own (disabled) conf-available/apxs-ts-loglevel.conf is not enabled nor taken over by ctl loglevel", async () => {
    const file = path.join(t.root, 'conf-available', 'apxs-ts-loglevel.conf');
    const link = path.join(t.root, 'conf-enabled', 'apxs-ts-loglevel.conf');
    const text = "# the admin's own file of that name, disabled on purpose\nServerSignature On\n";
    await fs.writeFile(file, text);
    const r = await apxs(t, ['ctl', 'loglevel', 'debug', '--json']);
    expect(r.code, r.stdout).toBe(2);
    expect(r.json.error.code).toBe('CONF_EXISTS');
    expect(await fs.readFile(file, 'utf8')).toBe(text);
    expect(
      await fs.lstat(link).then(
        () => true,
        () => false,
      ),
    ).toBe(false);
    expect(
      await fs.lstat(path.join(t.state, 'conf', 'enabled_by_admin', 'apxs-ts-loglevel')).then(
        () => true,
        () => false,
      ),
    ).toBe(false);
    await fs.rm(file);
    // apxs-ts's own snippet, with a line the admin added: set again and reset keep working on it.
    expect((await apxs(t, ['ctl', 'loglevel', 'debug'])).code).toBe(0);
    await fs.appendFile(file, '# admin note\n');
    expect((await apxs(t, ['ctl', 'loglevel', 'info'])).code).toBe(0);
    expect((await apxs(t, ['ctl', 'loglevel', '--reset'])).code).toBe(0);
    expect(await fs.readFile(file, 'utf8')).toContain('# admin note');
    await fs.rm(file);
    await fs.rm(link, { force: true });
  });

  it('a forced install with APACHE_STATE_DIRECTORY, uninstalled without it: the save is still accepted and the stock module comes back', async () => {
    const withState = await install(); // t.env has APACHE_STATE_DIRECTORY
    expect(withState.code, withState.stderr).toBe(0);
    const { APACHE_STATE_DIRECTORY: _, ...noState } = t.env;
    const un = await cli(['uninstall', 'info', '--server-root', t.root], { env: noState });
    expect(un.code, un.stderr).toBe(0);
    await stockBack();
  });

  it("a package upgrade that replaced the forced .so since: uninstall keeps the package's newer .so (warned) instead of putting the older saved bytes back", async () => {
    expect((await install()).code).toBe(0);
    // As dpkg unpacks an upgrade: its new mod_info.so renamed over ours (mod_status's bytes stand for the newer build).
    await fs.copyFile('/usr/lib/apache2/modules/mod_status.so', `${so}.dpkg-new`);
    await fs.rename(`${so}.dpkg-new`, so);
    const newer = await md5(so);
    const un = await apxs(t, ['uninstall', 'info', '--json']);
    expect(un.code, un.stdout).toBe(0);
    expect(un.json.warnings.join('\n')).toContain(`${so} changed since apxs-ts installed it`);
    expect(await md5(so)).toBe(newer);
    for (const ext of ['load', 'conf'])
      expect(await md5(path.join(t.root, 'mods-available', `info.${ext}`))).toBe(
        shipped.get(`mods-available/info.${ext}`),
      );
    expect(await fs.readdir(replaced).catch(() => [])).toEqual([]);
    await fs.copyFile('/usr/lib/apache2/modules/mod_info.so', so);
  });
});
