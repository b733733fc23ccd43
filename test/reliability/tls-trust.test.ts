/**
 * `tls trust` / `tls untrust` on a scratch copy of the system store (never
 * the machine's): update-ca-certificates pointed at temp dirs through its
 * own options, with three of the distribution's CAs as the store's content;
 * and on a scratch NSS database made by certutil. Idempotent both ways
 * (`changed`), and trust then untrust leaves the store byte for byte (files
 * and hash links) as it was.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { cli, scratchStore, tmpDir } from '../helpers.js';

/** Every file's bytes and every link's target under `dir`. */
async function snapshotTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    const p = path.join(e.parentPath, e.name);
    const rel = path.relative(dir, p);
    if (e.isSymbolicLink()) out[rel] = `-> ${await fs.readlink(p)}`;
    else if (e.isFile()) out[rel] = (await fs.readFile(p)).toString('base64');
    else if (e.isDirectory()) out[rel] = 'dir';
  }
  return out;
}

it('trust then untrust on a scratch system store and NSS db: changed true/false both ways, store byte-identical after', async () => {
  const work = await tmpDir('apxs-ts-tlst-');
  const env = { APXS_TS_CA_DIR: path.join(work, 'ca') };
  expect((await cli(['tls', 'ca'], { env })).code).toBe(0);
  const store = await scratchStore(work, 3);
  const nss = path.join(work, 'nssdb');
  await fs.mkdir(nss);
  execFileSync('certutil', ['-N', '-d', `sql:${nss}`, '--empty-password']);
  const before = await snapshotTree(work);
  delete before['ca'];
  const args = [...store.args, '--nss-db', nss, '--json'];
  const bundle = path.join(store.etc, 'ca-certificates.crt');
  const caPem = await fs.readFile(path.join(work, 'ca', 'ca.pem'), 'utf8');
  const body = (t: string) => t.replace(/-----[A-Z ]+-----|\s/g, '');

  const t1 = await cli(['tls', 'trust', ...args], { env });
  expect(t1.code, t1.stderr).toBe(0);
  expect(t1.json.changed).toBe(true);
  expect(
    t1.json.stores.map((s: { store: string; changed: boolean; trusted: boolean }) => [
      s.store,
      s.changed,
      s.trusted,
    ]),
  ).toEqual([
    ['system', true, true],
    ['nss', true, true],
  ]);
  expect(t1.json.nodeExtraCaCerts).toBe(
    `export NODE_EXTRA_CA_CERTS=${path.join(work, 'ca', 'ca.pem')}`,
  );
  expect(body(await fs.readFile(bundle, 'utf8'))).toContain(body(caPem));
  expect(execFileSync('certutil', ['-d', `sql:${nss}`, '-L'], { encoding: 'utf8' })).toMatch(
    /apxs-ts local CA [0-9a-f]{16}\s+C,,/,
  );

  const t2 = await cli(['tls', 'trust', ...args], { env });
  expect(t2.json.changed).toBe(false);
  expect(
    t2.json.stores.every((s: { changed: boolean; trusted: boolean }) => !s.changed && s.trusted),
  ).toBe(true);

  const u1 = await cli(['tls', 'untrust', ...args], { env });
  expect(u1.code, u1.stderr).toBe(0);
  expect(u1.json.changed).toBe(true);
  expect(
    u1.json.stores.every((s: { changed: boolean; trusted: boolean }) => s.changed && !s.trusted),
  ).toBe(true);
  const u2 = await cli(['tls', 'untrust', ...args], { env });
  expect(u2.json.changed).toBe(false);

  const after = await snapshotTree(work);
  delete after['ca'];
  // The NSS db is sqlite (its pages change); the system store must be exactly as it was.
  const sys = (s: Record<string, string>) =>
    Object.fromEntries(
      Object.entries(s).filter(
        ([k]) => !k.startsWith('nssdb') && !k.startsWith('ca/') && k !== 'ca',
      ),
    );
  expect(sys(after)).toEqual(sys(before));
  expect(execFileSync('certutil', ['-d', `sql:${nss}`, '-L'], { encoding: 'utf8' })).not.toContain(
    'apxs-ts local CA',
  );
  await fs.rm(work, { recursive: true, force: true });
}, 120_000);

it('certutil missing or no NSS database: said, nothing else changed', async () => {
  const work = await tmpDir('apxs-ts-tlst2-');
  const env = { APXS_TS_CA_DIR: path.join(work, 'ca'), PATH: '/nonexistent' };
  expect((await cli(['tls', 'ca'], { env: { APXS_TS_CA_DIR: env.APXS_TS_CA_DIR } })).code).toBe(0);
  const home = path.join(work, 'home');
  await fs.mkdir(path.join(home, '.pki', 'nssdb'), { recursive: true });
  execFileSync('certutil', [
    '-N',
    '-d',
    `sql:${path.join(home, '.pki', 'nssdb')}`,
    '--empty-password',
  ]);
  const r = await cli(['tls', 'trust', '--no-system', '--home', home, '--json'], { env });
  expect(r.code, r.stderr).toBe(0);
  expect(r.json.changed).toBe(false);
  expect(r.json.stores[0].note).toMatch(/certutil not found \(apt-get install libnss3-tools\)/);
  const none = await cli(
    ['tls', 'trust', '--no-system', '--home', path.join(work, 'empty'), '--json'],
    { env: { APXS_TS_CA_DIR: env.APXS_TS_CA_DIR } },
  );
  expect(none.json.stores[0].note).toMatch(/no NSS database/);
  // Found by itself under --home: ~/.pki/nssdb.
  const found = await cli(['tls', 'trust', '--no-system', '--home', home, '--json'], {
    env: { APXS_TS_CA_DIR: env.APXS_TS_CA_DIR },
  });
  expect(found.json.stores).toEqual([
    expect.objectContaining({
      store: 'nss',
      where: path.join(home, '.pki', 'nssdb'),
      changed: true,
      trusted: true,
    }),
  ]);
  await fs.rm(work, { recursive: true, force: true });
}, 60_000);
