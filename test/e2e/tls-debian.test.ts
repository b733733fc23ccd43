/**
 * `vhost add --tls` on a copy of Debian's /etc/apache2 (test/e2e/debian-tree.ts):
 * ssl and socache_shmcb enabled a2enmod's way (links to the package's
 * mods-available files, a2enmod's markers), the Listen in
 * conf-available/apxs-ts-tls.conf unless ports.conf listens there already
 * (its `<IfModule ssl_module> Listen 443`, set here to a free port); served
 * over TLS; vhost remove puts the module links and markers back as they were.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { freePort } from '../helpers.js';
import { a2View, apxs, debianTree, stopTree, type DebianTree } from './debian-tree.js';

const run = promisify(execFile);
let tree: DebianTree | undefined;
afterAll(async () => {
  await stopTree(tree);
});

it('Debian copy: ssl enabled a2enmod-style, served over TLS on the ports.conf port; remove restores the module links and markers', async () => {
  tree = await debianTree('apxs-ts-tlsdeb-');
  const t = tree;
  let tlsPort = await freePort();
  while (tlsPort === t.port) tlsPort = await freePort();
  const ports = path.join(t.root, 'ports.conf');
  await fs.writeFile(
    ports,
    (await fs.readFile(ports, 'utf8')).replaceAll('Listen 443', `Listen ${tlsPort}`),
  );
  t.env.APXS_TS_CA_DIR = path.join(t.work, 'ca');
  const mods = await a2View(t, 'mods');
  expect(mods.enabled).not.toContain('ssl');
  const add = await apxs(t, [
    'vhost',
    'add',
    'one.test',
    '--tls',
    '--tls-port',
    String(tlsPort),
    '--json',
  ]);
  expect(add.code, add.stderr).toBe(0);
  const after = await a2View(t, 'mods');
  expect(after.enabled).toEqual([...mods.enabled, 'socache_shmcb', 'ssl'].sort());
  expect(await fs.readlink(path.join(t.root, 'mods-enabled', 'ssl.conf'))).toBe(
    '../mods-available/ssl.conf',
  );
  const snippet = await fs.readFile(
    path.join(t.root, 'conf-available', 'apxs-ts-tls.conf'),
    'utf8',
  );
  expect(snippet).not.toMatch(/^Listen/m); // ports.conf's <IfModule ssl_module> Listen has it
  expect(snippet).toContain('SSLSessionCache');
  const st = await apxs(t, ['ctl', 'start']);
  expect(st.code, st.stderr).toBe(0);
  const page = await run('curl', [
    '-sS',
    '--max-time',
    '10',
    '--cacert',
    path.join(t.work, 'ca', 'ca.pem'),
    '--resolve',
    `one.test:${tlsPort}:127.0.0.1`,
    `https://one.test:${tlsPort}/`,
  ]);
  expect(page.stdout).toContain('<h1>one.test</h1>');
  await apxs(t, ['ctl', 'stop']);
  const rm = await apxs(t, ['vhost', 'remove', 'one.test']);
  expect(rm.code, rm.stderr).toBe(0);
  // An empty marker dir may stay, as a2dismod leaves it.
  const nonEmpty = (v: { enabled: string[]; markers: Record<string, string[]> }) => ({
    enabled: v.enabled,
    markers: Object.fromEntries(Object.entries(v.markers).filter(([, l]) => l.length)),
  });
  expect(nonEmpty(await a2View(t, 'mods'))).toEqual(nonEmpty(mods));
  expect(
    await fs.stat(path.join(t.root, 'conf-available', 'apxs-ts-tls.conf')).catch(() => 'gone'),
  ).toBe('gone');
  expect(
    await fs.stat(path.join(t.root, 'conf-enabled', 'apxs-ts-tls.conf')).catch(() => 'gone'),
  ).toBe('gone');
  expect((await apxs(t, ['ctl', 'configtest'])).code).toBe(0);
}, 120_000);
