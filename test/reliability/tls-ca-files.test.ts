/**
 * Attacks on the local CA's files (lib/tls/ca-safety.ts): a CA dir or key
 * another user planted or owns, a key others can read, a symlink in place of
 * the key, the certificate or the CA dir, a foreign CA (no name constraints,
 * constraints widened to a public suffix, a key that is not the
 * certificate's), and --permit values that would widen a new CA. Each must be
 * refused (UNSAFE_CONFIG or BAD_INPUT, exit 2, with the path), and nothing
 * may be signed, written through or re-chmodded.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { caSigningKey, ensureCa, loadCa } from '../../lib/tls/ca.js';
import { issueLeaf } from '../../lib/tls/leaf.js';
import { ApxsError } from '../../lib/core/errors.js';
import { cli, tmpDir } from '../helpers.js';

const NOBODY = ['--reuid=nobody', '--regid=nogroup', '--clear-groups'];

/** The error code of a promise that must reject. */
async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return err instanceof ApxsError
      ? `${err.code} ${err.message}`
      : `other ${(err as Error).message}`;
  }
  return 'resolved';
}

/** A CA made by openssl (not apxs-ts) in `dir`: `ext` are its extensions (none: no name constraints). */
function opensslCa(dir: string, ext: string[]): void {
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
      '/CN=foreign CA',
      '-keyout',
      path.join(dir, 'ca-key.pem'),
      '-out',
      path.join(dir, 'ca.pem'),
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      ...ext.flatMap((e) => ['-addext', e]),
    ],
    { stdio: 'ignore' },
  );
}

it('a CA dir owned by nobody, a key readable by others, symlinks for key, certificate or dir, a foreign key: refused, nothing signed or chmodded', async () => {
  const work = await tmpDir('apxs-ts-tlscaf-');
  const refused: string[] = [];

  // 1. The whole CA made by nobody (a complete, valid apxs-ts CA): not used, not trusted, not shown as ours.
  const theirs = path.join(work, 'theirs');
  await fs.mkdir(theirs);
  await fs.chown(theirs, 65534, 65534);
  execFileSync(
    'setpriv',
    [...NOBODY, process.execPath, path.resolve('bin/apxs-ts.js'), 'tls', 'ca', '--ca-dir', theirs],
    { stdio: 'ignore' },
  );
  for (const args of [
    ['tls', 'ca'],
    ['tls', 'ca', '--show'],
    ['tls', 'trust', '--no-system', '--no-nss'],
  ]) {
    const r = await cli([...args, '--ca-dir', theirs, '--json']);
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
    expect(r.json?.error?.code).toBe('UNSAFE_CONFIG');
    expect(r.json?.error?.message).toContain(theirs);
    refused.push(args.join(' '));
  }
  expect(await fs.readdir(theirs)).not.toContain('ca.lock');

  // 2. Our CA, its key made readable by others: no signing, mode left as the user set it.
  const loose = path.join(work, 'loose');
  const { ca } = await ensureCa(loose);
  await fs.chmod(ca.keyFile, 0o644);
  expect(await code(caSigningKey(ca))).toMatch(/^UNSAFE_CONFIG .*ca-key\.pem.*0644/);
  expect((await fs.stat(ca.keyFile)).mode & 0o777).toBe(0o644);
  refused.push('key 0644');

  // 3. The key replaced by a symlink to a key elsewhere (here: a valid key of another CA); and the certificate by one.
  const linked = path.join(work, 'linked');
  const other = path.join(work, 'other');
  const a = (await ensureCa(linked)).ca;
  const b = (await ensureCa(other)).ca;
  await fs.rm(a.keyFile);
  await fs.symlink(b.keyFile, a.keyFile);
  expect(await code(caSigningKey(a))).toMatch(/^UNSAFE_CONFIG .*ca-key\.pem: it is a symlink/);
  expect(await code(ensureCa(linked))).toMatch(/^UNSAFE_CONFIG .*symlink/);
  refused.push('key symlink');
  const certLinked = path.join(work, 'cert-linked');
  await fs.mkdir(certLinked, { mode: 0o700 });
  await fs.copyFile(b.keyFile, path.join(certLinked, 'ca-key.pem'));
  await fs.chmod(path.join(certLinked, 'ca-key.pem'), 0o600);
  await fs.symlink(b.certFile, path.join(certLinked, 'ca.pem'));
  expect(await code(loadCa(certLinked))).toMatch(/^UNSAFE_CONFIG .*ca\.pem: it is a symlink/);
  refused.push('cert symlink');

  // 4. The key swapped for another key of ours (0600, root's): it is not the certificate's.
  const swapped = path.join(work, 'swapped');
  const c = (await ensureCa(swapped)).ca;
  await fs.copyFile(b.keyFile, c.keyFile);
  expect(await code(caSigningKey(c))).toMatch(
    /^UNSAFE_CONFIG .*not the private key of the CA certificate/,
  );
  refused.push('foreign key');

  // 5. A symlink owned by nobody in a sticky world-writable dir in place of the CA dir: not followed, nothing written there.
  const sticky = path.join(work, 'sticky');
  await fs.mkdir(sticky);
  await fs.chmod(sticky, 0o1777);
  const target = path.join(work, 'target');
  await fs.mkdir(target, { mode: 0o700 });
  execFileSync('setpriv', [...NOBODY, 'ln', '-s', target, path.join(sticky, 'ca')]);
  expect(await code(ensureCa(path.join(sticky, 'ca')))).toMatch(
    /^UNSAFE_CONFIG .*symlink owned by nobody/,
  );
  expect(await fs.readdir(target)).toEqual([]);
  refused.push('dir symlink in sticky dir');

  // 6. A CA dir made by nobody in a sticky dir (a /tmp/ca another user made first): not used.
  const early = path.join(sticky, 'early');
  execFileSync('setpriv', [...NOBODY, 'mkdir', '-m', '0777', early]);
  expect(await code(ensureCa(early))).toMatch(/^UNSAFE_CONFIG .*owned by nobody/);
  expect(await fs.readdir(early)).toEqual([]);
  refused.push('dir planted in sticky dir');
  expect(refused).toHaveLength(9);
}, 120_000);

it('foreign CAs planted in the CA dir: no name constraints, non-critical ones, widened to .com or to every address: refused; nothing issued', async () => {
  const work = await tmpDir('apxs-ts-tlscaf-');
  const variants: [string, string[], RegExp][] = [
    ['none', [], /no name constraints/],
    ['not critical', ['nameConstraints=permitted;DNS:.test'], /no critical name constraints/],
    [
      '.com',
      ['nameConstraints=critical,permitted;DNS:.test,permitted;DNS:.com'],
      /"\.com", a public suffix/,
    ],
    [
      '.co.uk',
      ['nameConstraints=critical,permitted;DNS:.test,permitted;DNS:.co.uk'],
      /"\.co\.uk", a public suffix/,
    ],
    [
      'IP only',
      ['nameConstraints=critical,permitted;IP:127.0.0.0/255.0.0.0'],
      /permit no DNS subtree/,
    ],
    [
      'any address',
      ['nameConstraints=critical,permitted;DNS:.test,permitted;IP:0.0.0.0/0.0.0.0'],
      /outside loopback/,
    ],
  ];
  for (const [name, ext, why] of variants) {
    const dir = path.join(work, name.replace(/\W/g, '-'));
    await fs.mkdir(dir, { mode: 0o700 });
    opensslCa(dir, ext);
    await fs.chmod(path.join(dir, 'ca-key.pem'), 0o600);
    const r = await cli(['tls', 'ca', '--ca-dir', dir, '--json']);
    expect(r.code, `${name}: ${r.stderr}`).toBe(2);
    expect(r.json?.error?.code, name).toBe('UNSAFE_CONFIG');
    expect(r.json?.error?.message, name).toMatch(why);
    expect(r.json?.error?.message, name).toContain(path.join(dir, 'ca.pem'));
    expect(await code(loadCa(dir).then((ca) => issueLeaf(ca!, ['x.test'])))).toMatch(
      /^UNSAFE_CONFIG/,
    );
  }
}, 120_000);

it('--permit .com, com, .co.uk, .github.io, "", "." are refused before any CA is made; .dd and dev.example.com are fine', async () => {
  const work = await tmpDir('apxs-ts-tlscaf-');
  for (const bad of ['.com', 'com', '.co.uk', '.github.io', '', '.', '.COM']) {
    const dir = path.join(work, 'ca');
    const r = await cli(['tls', 'ca', '--ca-dir', dir, '--permit', bad, '--json']);
    expect(r.code, `${bad}: ${r.stderr}`).toBe(2);
    expect(r.json?.error?.code, bad).toBe('BAD_INPUT');
    expect(r.json?.error?.hint, bad).toMatch(/--permit /);
    expect(
      await fs.stat(dir).then(
        () => true,
        () => false,
      ),
      bad,
    ).toBe(false);
  }
  const r = await cli([
    'tls',
    'ca',
    '--ca-dir',
    path.join(work, 'ok'),
    '--permit',
    '.dd',
    '--permit',
    'dev.example.com',
    '--json',
  ]);
  expect(r.code, r.stderr).toBe(0);
  expect(r.json.ca.permitted.dns).toEqual([
    'localhost',
    '.localhost',
    '.test',
    '.dd',
    'dev.example.com',
  ]);
}, 60_000);

it('doctor says what is wrong with the CA and the fix: a key others can read, a CA dir owned by nobody; it changes neither', async () => {
  const work = await tmpDir('apxs-ts-tlscaf-');
  const loose = path.join(work, 'loose');
  const { ca } = await ensureCa(loose);
  await fs.chmod(ca.keyFile, 0o640);
  const d1 = await cli(['doctor', '--json'], { env: { APXS_TS_CA_DIR: loose } });
  const w1: string[] = (d1.json.ok ? d1.json : (d1.json.error?.data ?? d1.json)).warnings;
  expect(w1.find((w) => w.startsWith('local CA:'))).toMatch(
    /ca-key\.pem: the CA's private key has mode 0640.*fix: if nobody else could have read it: chmod 600 /,
  );
  expect((await fs.stat(ca.keyFile)).mode & 0o777).toBe(0o640);
  await fs.chmod(ca.keyFile, 0o600);
  await fs.chown(loose, 65534, 65534);
  const d2 = await cli(['doctor', '--json'], { env: { APXS_TS_CA_DIR: loose } });
  const w2: string[] = (d2.json.ok ? d2.json : (d2.json.error?.data ?? d2.json)).warnings;
  expect(w2.find((w) => w.startsWith('local CA:'))).toMatch(/owned by nobody.*fix: .*--trust /);
  expect((await fs.stat(loose)).uid).toBe(65534);
}, 60_000);

it('a certificate without its key is said with the fix (tls ca --new), which works; a CA dir below a world-writable dir is not even made', async () => {
  const work = await tmpDir('apxs-ts-tlscaf-');
  const dir = path.join(work, 'nokey');
  expect((await cli(['tls', 'ca', '--ca-dir', dir])).code).toBe(0);
  await fs.rm(path.join(dir, 'ca-key.pem'));
  const r = await cli(['tls', 'ca', '--ca-dir', dir, '--json']);
  expect(r.json?.error).toMatchObject({
    code: 'NOT_FOUND',
    message: expect.stringContaining('ca-key.pem is missing'),
    hint: expect.stringContaining('apxs-ts tls ca --new'),
  });
  const fixed = await cli(['tls', 'ca', '--new', '--ca-dir', dir, '--json']);
  expect(fixed.code, fixed.stderr).toBe(0);
  const { ca } = await ensureCa(dir);
  await expect(caSigningKey(ca)).resolves.toBeDefined();

  const ww = path.join(work, 'ww');
  await fs.mkdir(ww);
  await fs.chmod(ww, 0o777);
  const w = await cli(['tls', 'ca', '--ca-dir', path.join(ww, 'deep', 'ca'), '--json']);
  expect(w.json?.error?.code).toBe('UNSAFE_CONFIG');
  expect(await fs.readdir(ww)).toEqual([]);
}, 60_000);
