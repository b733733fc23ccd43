/**
 * Attacks on `tls trust` / `tls untrust` (a scratch copy of the system store
 * driven by the real update-ca-certificates through its own options, never
 * the machine's): a user's file with the name trust uses, a symlink planted
 * there, the file changed since trust, another CA added between trust and
 * untrust, a certs dir others can write, an NSS database another user owns;
 * and 12 alternating runs: `changed` right each time, the store byte for
 * byte as it was at the end.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { cli, scratchStore, tmpDir } from '../helpers.js';

async function snapshotTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    const p = path.join(e.parentPath, e.name);
    const rel = path.relative(dir, p);
    if (e.isSymbolicLink()) out[rel] = `-> ${await fs.readlink(p)}`;
    else if (e.isFile()) out[rel] = (await fs.readFile(p)).toString('base64');
  }
  return out;
}

const body = (t: string) => t.replace(/-----[A-Z ]+-----|\s/g, '');

it('12 alternating trust/untrust (with repeats) on a scratch store and NSS db: changed right each time, the store byte-identical at the end', async () => {
  const work = await tmpDir('apxs-ts-tlsta-');
  const env = { APXS_TS_CA_DIR: path.join(work, 'ca') };
  expect((await cli(['tls', 'ca'], { env })).code).toBe(0);
  const s = await scratchStore(path.join(work, 'store'), 2);
  const nss = path.join(work, 'nssdb');
  await fs.mkdir(nss);
  execFileSync('certutil', ['-N', '-d', `sql:${nss}`, '--empty-password']);
  const before = await snapshotTree(path.join(work, 'store'));
  const seq = [
    'trust',
    'untrust',
    'trust',
    'trust',
    'untrust',
    'untrust',
    'trust',
    'untrust',
    'trust',
    'untrust',
    'untrust',
    'trust',
    'untrust',
  ];
  let trusted = false;
  let checked = 0;
  for (const verb of seq) {
    const r = await cli(['tls', verb, ...s.args, '--nss-db', nss, '--json'], { env });
    expect(r.code, `${verb}: ${r.stderr}`).toBe(0);
    const want = verb === 'trust';
    expect(r.json.changed, `${verb} after trusted=${trusted}`).toBe(want !== trusted);
    for (const st of r.json.stores) {
      expect(st.changed, `${verb} ${st.store}`).toBe(want !== trusted);
      expect(st.trusted, `${verb} ${st.store}`).toBe(want);
    }
    trusted = want;
    checked++;
  }
  expect(checked).toBe(seq.length);
  expect(await snapshotTree(path.join(work, 'store'))).toEqual(before);
  expect(execFileSync('certutil', ['-d', `sql:${nss}`, '-L'], { encoding: 'utf8' })).not.toContain(
    'apxs-ts local CA',
  );
}, 180_000);

it("a user file or a planted symlink with trust's file name, the file changed since trust, another CA added in between: only what trust added goes", async () => {
  const work = await tmpDir('apxs-ts-tlsta-');
  const env = { APXS_TS_CA_DIR: path.join(work, 'ca') };
  const made = await cli(['tls', 'ca', '--json'], { env });
  const fp16 = (made.json.ca.fingerprint as string).replace(/:/g, '').slice(0, 16).toLowerCase();
  const s = await scratchStore(path.join(work, 'store'), 2);
  const ours = path.join(s.local, `apxs-ts-local-ca-${fp16}.crt`);
  const base = [...s.args, '--no-nss', '--json'];

  // 1. The user's own file has that name: trust refuses to replace it; untrust leaves it.
  const userCert = await fs.readFile(
    path.join(
      '/usr/share/ca-certificates/mozilla',
      (await fs.readdir('/usr/share/ca-certificates/mozilla')).sort()[5]!,
    ),
    'utf8',
  );
  await fs.writeFile(ours, userCert);
  const t1 = await cli(['tls', 'trust', ...base], { env });
  expect(t1.code, t1.stderr).toBe(2);
  expect(t1.json.error.code).toBe('UNSAFE_CONFIG');
  expect(t1.json.error.message).toContain(ours);
  expect(await fs.readFile(ours, 'utf8')).toBe(userCert);
  const u1 = await cli(['tls', 'untrust', ...base], { env });
  expect(u1.code).toBe(0);
  expect(u1.json.changed).toBe(false);
  expect(await fs.readFile(ours, 'utf8')).toBe(userCert);
  await fs.rm(ours);

  // 2. A symlink planted there: trust writes nothing through it; untrust does not delete it.
  const victim = path.join(work, 'victim');
  await fs.writeFile(victim, 'not a certificate\n');
  await fs.symlink(victim, ours);
  const t2 = await cli(['tls', 'trust', ...base], { env });
  expect(t2.code, t2.stderr).toBe(2);
  expect(t2.json.error.message).toMatch(/symlink/);
  expect(await fs.readFile(victim, 'utf8')).toBe('not a certificate\n');
  // A symlink to the CA's own file: not a file trust made, untrust leaves it.
  await fs.rm(ours);
  await fs.symlink(path.join(work, 'ca', 'ca.pem'), ours);
  const u2 = await cli(['tls', 'untrust', ...base], { env });
  expect(u2.json.changed).toBe(false);
  expect((await fs.lstat(ours)).isSymbolicLink()).toBe(true);
  await fs.rm(ours);

  // 3. Trusted, then the file changed by someone: untrust leaves the changed file.
  expect((await cli(['tls', 'trust', ...base], { env })).json.changed).toBe(true);
  await fs.appendFile(ours, userCert);
  const changedText = await fs.readFile(ours, 'utf8');
  const u3 = await cli(['tls', 'untrust', ...base], { env });
  expect(u3.json.changed).toBe(false);
  expect(await fs.readFile(ours, 'utf8')).toBe(changedText);
  await fs.rm(ours);
  execFileSync('update-ca-certificates', s.tool, { stdio: 'ignore' });

  // 4. Another program adds its CA (the distribution's way) between trust and untrust: it stays.
  expect((await cli(['tls', 'trust', ...base], { env })).json.changed).toBe(true);
  const otherCa = path.join(work, 'other');
  await fs.mkdir(otherCa);
  expect((await cli(['tls', 'ca'], { env: { APXS_TS_CA_DIR: otherCa } })).code).toBe(0);
  const otherPem = await fs.readFile(path.join(otherCa, 'ca.pem'), 'utf8');
  await fs.writeFile(path.join(s.local, 'someone-else.crt'), otherPem);
  execFileSync('update-ca-certificates', s.tool, { stdio: 'ignore' });
  const u4 = await cli(['tls', 'untrust', ...base], { env });
  expect(u4.json.changed).toBe(true);
  const bundle = body(await fs.readFile(path.join(s.etc, 'ca-certificates.crt'), 'utf8'));
  expect(bundle).toContain(body(otherPem));
  expect(bundle).not.toContain(body(made.json.ca.certPem));
  expect(await fs.readFile(path.join(s.local, 'someone-else.crt'), 'utf8')).toBe(otherPem);
}, 180_000);

it('a certs dir others can write, an NSS database owned by nobody: refused (explicit) or left alone with a note (found)', async () => {
  const work = await tmpDir('apxs-ts-tlsta-');
  const env = { APXS_TS_CA_DIR: path.join(work, 'ca') };
  expect((await cli(['tls', 'ca'], { env })).code).toBe(0);
  const s = await scratchStore(path.join(work, 'store'), 2);
  await fs.chmod(s.local, 0o777);
  const w = await cli(['tls', 'trust', ...s.args, '--no-nss', '--json'], { env });
  expect(w.code).toBe(2);
  expect(w.json.error.code).toBe('UNSAFE_CONFIG');
  expect(w.json.error.message).toContain(s.local);
  expect(await fs.readdir(s.local)).toEqual([]);

  const home = path.join(work, 'home');
  const db = path.join(home, '.pki', 'nssdb');
  await fs.mkdir(db, { recursive: true });
  await fs.chown(path.join(home, '.pki'), 65534, 65534);
  await fs.chown(db, 65534, 65534);
  execFileSync('setpriv', [
    '--reuid=nobody',
    '--regid=nogroup',
    '--clear-groups',
    'certutil',
    '-N',
    '-d',
    `sql:${db}`,
    '--empty-password',
  ]);
  const snap = await snapshotTree(db);
  const explicit = await cli(['tls', 'trust', '--no-system', '--nss-db', db, '--json'], { env });
  expect(explicit.code).toBe(2);
  expect(explicit.json.error.code).toBe('UNSAFE_CONFIG');
  const found = await cli(['tls', 'trust', '--no-system', '--home', home, '--json'], { env });
  expect(found.code, found.stderr).toBe(0);
  expect(found.json.changed).toBe(false);
  expect(found.json.stores[0].note).toMatch(/left alone: .*owned by nobody/);
  expect(await snapshotTree(db)).toEqual(snap);
  for (const f of await fs.readdir(db))
    expect((await fs.stat(path.join(db, f))).uid, f).toBe(65534);
}, 120_000);

it('the NODE_EXTRA_CA_CERTS line for a CA dir with a space, a quote and $(...) in its path: a shell reads back the path, runs nothing', async () => {
  const work = await tmpDir('apxs-ts-tlsta-');
  const dir = path.join(work, "my ca's $(touch pwned) `touch pwned2`");
  const env = { APXS_TS_CA_DIR: dir };
  expect((await cli(['tls', 'ca'], { env })).code).toBe(0);
  const r = await cli(['tls', 'trust', '--no-system', '--no-nss'], { env });
  expect(r.code, r.stderr).toBe(0);
  const line = r.stdout.trim();
  const got = execFileSync('sh', ['-c', `${line}; printf %s "$NODE_EXTRA_CA_CERTS"`], {
    cwd: work,
    encoding: 'utf8',
  });
  expect(got).toBe(path.join(dir, 'ca.pem'));
  expect(await fs.readdir(work)).toEqual([path.basename(dir)]);
}, 60_000);
