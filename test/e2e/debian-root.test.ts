/**
 * A Debian-layout server root (apache2.conf, envvars, mods-available/-enabled)
 * run by the real /usr/sbin/apache2: install enables a module as a2enmod
 * would, ctl starts and stops it through its envvars.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ROOT, cli, freePort, get, tmpDir } from '../helpers.js';

let root = '';
afterAll(async () => {
  if (root) await cli(['ctl', 'stop', '--server-root', root]);
});

it('installs a module the a2enmod way and serves it, with ctl driven by envvars', async () => {
  const work = await tmpDir();
  root = path.join(work, 'apache2');
  execFileSync('cp', ['-a', path.join(ROOT, 'fixtures', 'debian-root'), root]);
  const port = await freePort();
  for (const f of ['ports.conf', 'sites-available/000-default.conf']) {
    const p = path.join(root, f);
    await fs.writeFile(p, (await fs.readFile(p, 'utf8')).replaceAll('@@port@@', String(port)));
  }
  const start = await cli(['ctl', 'start', '--server-root', root, '--json']);
  expect(start.code, start.stdout).toBe(0);
  expect(start.json.healthUrl).toBe(`http://127.0.0.1:${port}/`);
  expect((await get(`http://127.0.0.1:${port}/`)).body).toContain('debian layout');
  // The pid file is where envvars put it, under the root.
  expect(Number(await fs.readFile(path.join(root, 'run', 'apache2.pid'), 'utf8'))).toBe(
    start.json.pid,
  );

  await cli(['new', 'deb', '--template', 'handler', '--dir', work]);
  const apache2conf = await fs.readFile(path.join(root, 'apache2.conf'));
  const inst = await cli(['install', path.join(work, 'mod_deb'), '--server-root', root, '--json']);
  expect(inst.code, inst.stdout).toBe(0);
  expect(await fs.readFile(path.join(root, 'mods-available', 'deb.load'), 'utf8')).toContain(
    `LoadModule deb_module ${path.join(root, 'modules', 'mod_deb.so')}`,
  );
  expect(await fs.readFile(path.join(root, 'mods-available', 'deb.conf'), 'utf8')).toContain(
    '<Location /deb>\n    SetHandler deb\n    <IfModule authz_host_module>\n        Require local\n    </IfModule>',
  );
  expect(await fs.readlink(path.join(root, 'mods-enabled', 'deb.load'))).toBe(
    '../mods-available/deb.load',
  );
  expect(await fs.readFile(path.join(root, 'apache2.conf'))).toEqual(apache2conf); // untouched

  expect((await cli(['ctl', 'graceful', '--server-root', root])).code).toBe(0);
  expect((await get(`http://127.0.0.1:${port}/deb`)).body).toContain(
    '<dt>handler</dt><dd>deb</dd>',
  );

  const un = await cli(['uninstall', 'deb', '--server-root', root]);
  expect(un.code, un.stderr).toBe(0);
  for (const f of [
    'mods-available/deb.load',
    'mods-available/deb.conf',
    'mods-enabled/deb.load',
    'mods-enabled/deb.conf',
    'modules/mod_deb.so',
  ]) {
    await expect(fs.lstat(path.join(root, f))).rejects.toThrow();
  }
  // Not installed any more: already absent (#23: what state=absent asks is already so), exit 0, nothing changed.
  const again = await cli(['uninstall', 'deb', '--server-root', root, '--json']);
  expect(again.code, again.stderr).toBe(0);
  expect(again.json).toMatchObject({ changed: false, alreadyAbsent: true, files: [] });
  expect((await cli(['ctl', 'stop', '--server-root', root])).code).toBe(0);
  await expect(fs.stat(path.join(root, 'run', 'apache2.pid'))).rejects.toThrow();
});
