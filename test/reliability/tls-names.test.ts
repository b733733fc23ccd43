/**
 * Hostile names against the local CA's constraints. apxs-ts's own matcher
 * (dnsPermitted) is checked against OpenSSL's on leaves signed with the CA's
 * key directly (bypassing the check): every name apxs-ts would issue must
 * verify, every name outside the constraints must fail there and be refused
 * by issueLeaf. The NAME_NOT_PERMITTED hint is followed as a user would:
 * it must be a command `tls ca` takes (never `--permit .com`) and it must
 * make the name issuable. Wildcards and non-ASCII names get their own hints.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { caSigningKey, ensureCa, type LocalCa } from '../../lib/tls/ca.js';
import { issueLeaf } from '../../lib/tls/leaf.js';
import { dnsPermitted } from '../../lib/tls/name-constraints.js';
import { cli, freePort, tmpDir } from '../helpers.js';

/** A leaf for `names` signed with the CA's key, no constraint check (what a leaked key could make). */
async function rawLeaf(ca: LocalCa, names: string[]): Promise<string> {
  const { EC_SIGN, newKeyPair, serialHex, x509 } = await import('../../lib/tls/crypto.js');
  const keys = await newKeyPair();
  const caCert = new x509.X509Certificate(ca.certPem);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialHex(),
    subject: 'CN=raw',
    issuer: caCert.subject,
    notBefore: new Date(Date.now() - 3600_000),
    notAfter: new Date(Date.now() + 86400_000),
    publicKey: keys.publicKey,
    signingKey: await caSigningKey(ca),
    signingAlgorithm: EC_SIGN,
    extensions: [
      new x509.BasicConstraintsExtension(false),
      new x509.SubjectAlternativeNameExtension(
        names.map((value) => ({ type: 'dns' as const, value })),
      ),
    ],
  });
  return cert.toString('pem');
}

async function opensslOk(caFile: string, leafPem: string, file: string): Promise<boolean> {
  await fs.writeFile(file, leafPem);
  try {
    return execFileSync('openssl', ['verify', '-CAfile', caFile, file], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    }).includes(': OK');
  } catch {
    return false;
  }
}

const HOSTILE = [
  'one.test',
  'a.b.test',
  'localhost',
  'x.localhost',
  'one.dd',
  'x.one.dd',
  'eviltest',
  'xtest',
  'test',
  'x.test.evil.com',
  'localhost.evil.com',
  'evil.com',
  'localhostx',
  'x.localhost.com',
  'test.com',
  'dd',
  'xdd',
  'one.dd.evil.com',
  'testtest',
  'x-test',
  'ONE.TEST',
  '*.test',
  '*.one.test',
  '*.dd',
  'a.*.test',
];

it(`${HOSTILE.length} hostile names: apxs-ts's matcher agrees with openssl verify wherever it would issue, and refuses the rest`, async () => {
  const work = await tmpDir('apxs-ts-tlsnames-');
  const { ca } = await ensureCa(path.join(work, 'ca'), { permit: ['.dd'] });
  let issued = 0;
  let refused = 0;
  for (const name of HOSTILE) {
    const ours = dnsPermitted(name, ca.permitted.dns);
    const openssl = await opensslOk(
      ca.certFile,
      await rawLeaf(ca, [name]),
      path.join(work, 'leaf.pem'),
    );
    // apxs-ts issuing what OpenSSL (and so clients) would reject is the bug; refusing more is only strict.
    if (ours)
      expect(openssl, `${name}: apxs-ts permits it, openssl verify must accept it`).toBe(true);
    if (!openssl) {
      await expect(issueLeaf(ca, [name]), name).rejects.toMatchObject({
        code: 'NAME_NOT_PERMITTED',
      });
      refused++;
    } else if (ours) {
      issued++;
    }
  }
  expect(issued).toBeGreaterThanOrEqual(8);
  expect(refused).toBeGreaterThanOrEqual(12);
}, 120_000);

it('NAME_NOT_PERMITTED hints are commands tls ca takes and that make the name issuable; wildcard and non-ASCII names are told the fix', async () => {
  const work = await tmpDir('apxs-ts-tlsnames-');
  const port = await freePort();
  let tlsPort = await freePort();
  while (tlsPort === port) tlsPort = await freePort();
  const sr = path.join(work, 'srv');
  const hosts = path.join(work, 'hosts');
  await fs.writeFile(hosts, '127.0.0.1 localhost\n');
  const want: Record<string, string> = {
    'x.test.evil.com': '--permit x.test.evil.com',
    'localhost.evil.com': '--permit localhost.evil.com',
    eviltest: '--permit eviltest',
    test: '--permit test',
    'one.dd': '--permit .dd',
    'a.example.co.uk': '--permit a.example.co.uk',
  };
  let i = 0;
  for (const [name, permit] of Object.entries(want)) {
    const env = { APXS_TS_CA_DIR: path.join(work, `ca${i++}`) };
    if (i === 1)
      expect(
        (
          await cli(
            [
              'sandbox',
              'create',
              sr,
              '--port',
              String(port),
              '--tls-port',
              String(tlsPort),
              '--no-project',
            ],
            { env },
          )
        ).code,
      ).toBe(0);
    const r = await cli(
      ['vhost', 'add', name, '--tls', '--server-root', sr, '--hosts-file', hosts, '--json'],
      { env },
    );
    expect(r.json?.error?.code, name).toBe('NAME_NOT_PERMITTED');
    const hint: string = r.json.error.hint;
    expect(hint, name).toContain(permit);
    expect(hint, name).not.toMatch(/--permit \.(com|uk|co\.uk)\b/);
    // Follow it: the command in the hint, then the same add.
    const cmd = /apxs-ts (tls ca --new(?: --permit \S+)+)/
      .exec(hint)![1]!
      .replace(/,$/, '')
      .split(' ');
    const made = await cli([...cmd, '--json'], { env });
    expect(made.code, `${name}: ${cmd.join(' ')}: ${made.stderr}`).toBe(0);
    const again = await cli(
      ['vhost', 'add', name, '--tls', '--server-root', sr, '--hosts-file', hosts, '--json'],
      { env },
    );
    expect(again.code, `${name}: ${again.stderr}`).toBe(0);
    expect(
      execFileSync(
        'openssl',
        ['verify', '-CAfile', path.join(env.APXS_TS_CA_DIR, 'ca.pem'), again.json.tls.certificate],
        { encoding: 'utf8' },
      ),
    ).toContain(': OK');
  }
  const env = { APXS_TS_CA_DIR: path.join(work, 'ca0') };
  const wild = await cli(
    [
      'vhost',
      'add',
      'one.test',
      '--alias',
      '*.one.test',
      '--tls',
      '--server-root',
      sr,
      '--hosts-file',
      hosts,
      '--json',
    ],
    { env },
  );
  expect(wild.json.error).toMatchObject({
    code: 'BAD_HOSTNAME',
    message: expect.stringContaining('wildcard'),
    hint: expect.stringContaining('--alias www.one.test'),
  });
  const idn = await cli(
    ['vhost', 'add', 'bücher.test', '--tls', '--server-root', sr, '--hosts-file', hosts, '--json'],
    { env },
  );
  expect(idn.json.error).toMatchObject({
    code: 'BAD_HOSTNAME',
    hint: expect.stringContaining('xn--bcher-kva.test'),
  });
}, 180_000);
