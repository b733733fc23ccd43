/**
 * `vhost remove` and `tls renew` against a user and against each other: a
 * certificate file the user replaced (their own certificate, a symlink to
 * their file) is theirs and is kept, with a warning; `tls renew --all` racing
 * `vhost add --tls` in one root leaves every certificate the config names on
 * disk, chaining to the one CA, and no file the config does not name.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { cli, tlsSandbox, tmpDir } from '../helpers.js';

async function tlsRoot(prefix: string) {
  const work = await tmpDir(prefix);
  const sr = path.join(work, 'srv');
  const env = { APXS_TS_CA_DIR: path.join(work, 'ca') };
  await tlsSandbox(sr, env);
  const hosts = path.join(work, 'hosts');
  await fs.writeFile(hosts, '127.0.0.1 localhost\n');
  return { work, sr, env, common: ['--server-root', sr, '--hosts-file', hosts] };
}

/** The certificate files the config names, each checked to exist and verify against the CA; and the files in apxs-ts-tls/. */
async function named(sr: string, caFile: string): Promise<{ named: string[]; files: string[] }> {
  const conf = path.join(sr, 'conf');
  const out: string[] = [];
  for (const f of await fs.readdir(conf)) {
    const p = path.join(conf, f);
    if (!(await fs.stat(p)).isFile()) continue;
    for (const m of (await fs.readFile(p, 'utf8')).matchAll(/^\s*SSLCertificateFile\s+"([^"]+)"/gm))
      out.push(m[1]!);
  }
  for (const f of out)
    expect(
      execFileSync('openssl', ['verify', '-CAfile', caFile, f], { encoding: 'utf8' }),
    ).toContain(': OK');
  const dir = path.join(conf, 'apxs-ts-tls');
  return {
    named: [...new Set(out)].sort(),
    files: (await fs.readdir(dir).catch(() => [] as string[])).map((f) => path.join(dir, f)).sort(),
  };
}

it('vhost remove and tls renew keep a certificate file the user replaced (own certificate, symlink), with a warning', async () => {
  const s = await tlsRoot('apxs-ts-tlsrr-');
  const a = await cli(['vhost', 'add', 'a.test', '--tls', ...s.common, '--json'], { env: s.env });
  const b = await cli(['vhost', 'add', 'b.test', '--tls', ...s.common, '--json'], { env: s.env });
  expect(a.code, a.stderr).toBe(0);
  expect(b.code, b.stderr).toBe(0);
  const aFile: string = a.json.tls.certificate;
  const bFile: string = b.json.tls.certificate;

  // The user puts their own certificate and key in a.test's file (here: one openssl makes).
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-days',
      '30',
      '-subj',
      '/CN=a.test',
      '-keyout',
      `${aFile}.key`,
      '-out',
      `${aFile}.crt`,
    ],
    { stdio: 'ignore' },
  );
  const mine =
    (await fs.readFile(`${aFile}.crt`, 'utf8')) + (await fs.readFile(`${aFile}.key`, 'utf8'));
  await fs.rm(`${aFile}.crt`);
  await fs.rm(`${aFile}.key`);
  await fs.writeFile(aFile, mine, { mode: 0o600 });
  const rm = await cli(['vhost', 'remove', 'a.test', ...s.common, '--json'], { env: s.env });
  expect(rm.code, rm.stderr).toBe(0);
  expect(await fs.readFile(aFile, 'utf8')).toBe(mine);
  expect(JSON.stringify(rm.json.warnings)).toContain(
    `${aFile} no longer holds the certificate apxs-ts wrote`,
  );

  // b.test's file replaced by a symlink to a file of the user's: renew switches to a new file, the link and its target stay.
  const theirs = path.join(s.work, 'their-cert.pem');
  await fs.copyFile(bFile, theirs);
  await fs.rm(bFile);
  await fs.symlink(theirs, bFile);
  const rn = await cli(['tls', 'renew', 'b.test', ...s.common.slice(0, 2), '--json'], {
    env: s.env,
  });
  expect(rn.code, rn.stderr).toBe(0);
  expect(rn.json.renewed[0].file).not.toBe(bFile);
  expect((await fs.lstat(bFile)).isSymbolicLink()).toBe(true);
  expect(await fs.stat(theirs).then(() => true)).toBe(true);
  expect(JSON.stringify(rn.json.warnings)).toContain(
    `${bFile} no longer holds the certificate apxs-ts wrote`,
  );

  // The last TLS vhost goes: the user's files keep the directory.
  const rm2 = await cli(['vhost', 'remove', 'b.test', ...s.common, '--json'], { env: s.env });
  expect(rm2.code, rm2.stderr).toBe(0);
  expect(await fs.readFile(aFile, 'utf8')).toBe(mine);
  expect(await fs.stat(rn.json.renewed[0].file).catch(() => 'gone')).toBe('gone');
}, 120_000);

it('tls renew --all racing vhost add --tls, 4 rounds: every named certificate exists and verifies, no unnamed file, configtest ok', async () => {
  const s = await tlsRoot('apxs-ts-tlsrr-');
  const caFile = path.join(s.work, 'ca', 'ca.pem');
  expect(
    (await cli(['vhost', 'add', 'base.test', '--tls', ...s.common], { env: s.env })).code,
  ).toBe(0);
  const rounds = 4;
  for (let i = 0; i < rounds; i++) {
    const [add, renew] = await Promise.all([
      cli(['vhost', 'add', `r${i}.test`, '--tls', ...s.common, '--json'], {
        env: s.env,
        timeoutMs: 90_000,
      }),
      cli(['tls', 'renew', '--all', ...s.common.slice(0, 2), '--json'], {
        env: s.env,
        timeoutMs: 90_000,
      }),
    ]);
    expect(add.code, add.stderr).toBe(0);
    expect(renew.code, renew.stderr).toBe(0);
    const { named: n, files } = await named(s.sr, caFile);
    expect(n).toHaveLength(i + 2);
    expect(files).toEqual(n);
    expect((await cli(['ctl', 'configtest', '--server-root', s.sr])).code).toBe(0);
  }
}, 300_000);
