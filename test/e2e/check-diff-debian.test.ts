/**
 * The #23 contract on a copy of the real Debian /etc/apache2, where an edit
 * is files, a2enmod-style symlinks, markers and apxs-ts's record of what it
 * created: --check reads its planned links and files back (a missed read
 * makes its diff differ from the real run's), changes nothing, and a second
 * run changes nothing. install --force over a stock module (its files kept
 * to put back) and the uninstall that puts them back are in it too.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from '../helpers.js';
import { changeContract, ok } from './change-contract.js';
import { debianTree, md5, stopTree, type DebianTree } from './debian-tree.js';

let t: DebianTree;
beforeAll(async () => {
  t = await debianTree('apxs-ts-deb-check-');
  // The copy's modules dir stands for /usr/lib/apache2/modules: the stock mod_info.so --force replaces.
  await fs.mkdir(path.join(t.root, 'modules'), { mode: 0o755 });
  await fs.copyFile(
    '/usr/lib/apache2/modules/mod_info.so',
    path.join(t.root, 'modules', 'mod_info.so'),
  );
  for (const name of ['info', 'dchk']) {
    const r = await cli(['new', name, '--template', 'handler', '--dir', t.work]);
    expect(r.code, r.stderr).toBe(0);
    const b = await cli(['build', '--server-root', t.root], {
      cwd: path.join(t.work, `mod_${name}`),
      env: t.env,
    });
    expect(b.code, b.stderr).toBe(0);
  }
}, 120_000);
afterAll(async () => {
  await stopTree(t);
});

const contract = (args: string[]) =>
  changeContract([t.root, t.state, t.www, t.hosts], [...args, '--server-root', t.root], {
    env: t.env,
  });

describe('--check/--diff and idempotency on a Debian tree', () => {
  it('install, vhost add, ctl loglevel, then their undoing: each plan is what the real run does, a second run does nothing', async () => {
    const so = path.join(t.root, 'modules', 'mod_dchk.so');
    const ins = await contract(['install', path.join(t.work, 'mod_dchk')]);
    const headers = ins.diff.map((d: any) =>
      d.after_header === '/dev/null' ? d.before_header : d.after_header,
    );
    expect(headers).toEqual(
      expect.arrayContaining([
        so,
        path.join(t.root, 'mods-available', 'dchk.load'),
        path.join(t.root, 'mods-enabled', 'dchk.load'),
      ]),
    );
    const link = ins.diff.find(
      (d: any) => d.after_header === path.join(t.root, 'mods-enabled', 'dchk.load'),
    );
    expect(link).toMatchObject({
      before_header: '/dev/null',
      after: 'symlink to ../mods-available/dchk.load\n',
    });
    expect(ins.state).toMatchObject({
      installed: true,
      identifier: 'dchk_module',
      enabled: true,
      loaded: true,
    });

    await contract(['vhost', 'add', 'deb.dd', '--hosts-file', t.hosts]);
    await contract(['ctl', 'loglevel', 'debug', '--module', 'dchk']);
    await contract(['ctl', 'loglevel', 'info']);
    // The uninstall takes the module's LogLevel line out too (in the same plan: it reads the snippet it edits).
    const un = await contract(['uninstall', 'dchk']);
    expect(un.diff.some((d: any) => d.before.includes('LogLevel dchk:debug'))).toBe(true);
    await contract(['ctl', 'loglevel', '--reset']);
    await contract(['vhost', 'remove', 'deb.dd', '--hosts-file', t.hosts, '--purge']);
  }, 240_000);

  it('install --force over the stock mod_info keeps it, uninstall puts it back byte for byte; uninstall again is already absent and names the stock module', async () => {
    const stock = path.join(t.root, 'modules', 'mod_info.so');
    const stockMd5 = await md5(stock);
    const load = path.join(t.root, 'mods-available', 'info.load');
    const loadBefore = await fs.readFile(load);
    await contract(['install', path.join(t.work, 'mod_info'), '--force']);
    expect(await md5(stock)).not.toBe(stockMd5);
    await contract(['uninstall', 'info']);
    expect(await md5(stock)).toBe(stockMd5);
    expect(await fs.readFile(load)).toEqual(loadBefore);
    const again = ok(
      await cli(['uninstall', 'info', '--server-root', t.root, '--json'], { env: t.env }),
    );
    expect(again).toMatchObject({ changed: false, alreadyAbsent: true, files: [] });
    expect(again.warnings.join('\n')).toContain('apxs-ts did not install is there, left as it is');
  }, 240_000);
});
