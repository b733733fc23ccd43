/**
 * Which servers can have TLS vhosts (lib/httpd/profile.ts tlsModules), on a
 * real sandbox layout whose system modules dir is a temp dir: the series,
 * the release (SNI from 2.2.12) and the .so files decide; and 2.2's
 * NameVirtualHost for the TLS port.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ApxsError } from '../../lib/core/errors.js';
import { LAYOUTS } from '../../lib/httpd/layout.js';
import { tlsModules, traitsOf } from '../../lib/httpd/profile.js';
import type { ServerRoot } from '../../lib/httpd/server-root.js';
import type { Series } from '../../lib/httpd/version.js';
import { syncNameVirtualHost } from '../../lib/sites/vhost-edit.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

async function sandboxWith(files: string[]): Promise<ServerRoot> {
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'apxs-ts-tlsser-'));
  dirs.push(root);
  const mods = path.join(root, 'sysmods');
  await fs.mkdir(mods);
  for (const f of files) await fs.writeFile(path.join(mods, f), '');
  await fs.writeFile(
    path.join(root, 'apxs-ts-sandbox.json'),
    JSON.stringify({ kind: 'sandbox', systemModulesDir: mods }),
  );
  return {
    kind: 'sandbox',
    layout: LAYOUTS.sandbox,
    root,
    httpd: '/nonexistent',
    apxs: undefined,
    configFile: path.join(root, 'conf', 'httpd.conf'),
    modulesDir: path.join(root, 'modules'),
    envvars: undefined,
    stateDir: path.join(root, '.apxs-ts'),
  };
}

const profile = (version: string, series: Series) => ({
  version,
  series,
  traits: traitsOf(series),
});
const refused = async (p: Promise<unknown>) => {
  const e = await p.catch((x: unknown) => x);
  expect(e).toBeInstanceOf(ApxsError);
  expect((e as ApxsError).code).toBe('TLS_UNSUPPORTED');
  return (e as ApxsError).message;
};

it('2.4 needs mod_ssl.so and mod_socache_shmcb.so; 2.2 from 2.2.12 needs mod_ssl.so; 2.0 and 1.3 never', async () => {
  const both = await sandboxWith(['mod_ssl.so', 'mod_socache_shmcb.so']);
  expect((await tlsModules(both, profile('2.4.68', '2.4'))).map((m) => m.symbol)).toEqual([
    'socache_shmcb_module',
    'ssl_module',
  ]);
  expect((await tlsModules(both, profile('2.2.34', '2.2'))).map((m) => m.symbol)).toEqual([
    'ssl_module',
  ]);
  expect(await refused(tlsModules(both, profile('2.2.11', '2.2')))).toMatch(
    /SNI came with 2\.2\.12/,
  );
  expect(await refused(tlsModules(both, profile('2.0.65', '2.0')))).toMatch(/no SNI/);
  expect(await refused(tlsModules(both, profile('1.3.42', '1.3')))).toMatch(/1\.3 has no mod_ssl/);
  const sslOnly = await sandboxWith(['mod_ssl.so']);
  expect(await refused(tlsModules(sslOnly, profile('2.4.68', '2.4')))).toMatch(
    /no loadable mod_socache_shmcb\.so/,
  );
  expect((await tlsModules(sslOnly, profile('2.2.34', '2.2'))).map((m) => m.symbol)).toEqual([
    'ssl_module',
  ]);
  expect(await refused(tlsModules(await sandboxWith([]), profile('2.2.34', '2.2')))).toMatch(
    /no loadable mod_ssl\.so/,
  );
});

it('2.2: a NameVirtualHost for the TLS port as for the plain one; none on 2.4', () => {
  const text = '<VirtualHost *:8080>\n</VirtualHost>\n<VirtualHost *:8443>\n</VirtualHost>\n';
  const out = syncNameVirtualHost(text, '2.2');
  expect(out).toContain('NameVirtualHost *:8080\nNameVirtualHost *:8443');
  expect(syncNameVirtualHost(text, '2.4')).not.toContain('NameVirtualHost');
});
