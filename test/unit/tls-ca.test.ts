import { X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ensureCa, loadCa } from '../../lib/tls/ca.js';
import { caDir } from '../../lib/tls/ca-dir.js';
import { checkPermitted, issueLeaf, pairPem } from '../../lib/tls/leaf.js';
import {
  decodeNameConstraints,
  dnsPermitted,
  encodeNameConstraints,
  ipPermitted,
} from '../../lib/tls/name-constraints.js';
import { ApxsError } from '../../lib/core/errors.js';

const dirs: string[] = [];
async function scratch(): Promise<string> {
  const d = await fs.mkdtemp(path.join(os.tmpdir(), 'apxs-ts-tlsca-'));
  dirs.push(d);
  return path.join(d, 'data', 'ca');
}
afterAll(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

describe('name constraints', () => {
  it('encodes and decodes the permitted DNS suffixes and loopback ranges', () => {
    const der = encodeNameConstraints(['localhost', '.localhost', '.test', '.dd']);
    expect(decodeNameConstraints(der)).toEqual({
      dns: ['localhost', '.localhost', '.test', '.dd'],
      ip: ['127.0.0.0/8', '::1/128'],
    });
  });
  it('matches names as OpenSSL does: .test only below test, localhost itself and below', () => {
    const s = ['localhost', '.localhost', '.test'];
    expect(
      ['one.test', 'a.b.test', 'localhost', 'x.localhost', '*.one.test'].filter((n) =>
        dnsPermitted(n, s),
      ),
    ).toHaveLength(5);
    expect(
      ['test', 'example.com', 'test.com', 'localhost.com', 'xtest'].filter((n) =>
        dnsPermitted(n, s),
      ),
    ).toEqual([]);
    expect(ipPermitted('127.0.0.1')).toBe(true);
    expect(ipPermitted('::1')).toBe(true);
    expect(ipPermitted('10.0.0.1')).toBe(false);
  });
});

describe('local CA', () => {
  it('defaults to the user data dir, $APXS_TS_CA_DIR or --ca-dir first', () => {
    expect(caDir(undefined, { HOME: '/h' })).toBe('/h/.local/share/apxs-ts/ca');
    expect(caDir(undefined, { HOME: '/h', XDG_DATA_HOME: '/x' })).toBe('/x/apxs-ts/ca');
    expect(caDir(undefined, { HOME: '/h', APXS_TS_CA_DIR: '/c' })).toBe('/c');
    expect(caDir('/o', { APXS_TS_CA_DIR: '/c' })).toBe('/o');
  });

  it('is made once: dir 0700, key 0600, ECDSA P-256, critical NameConstraints, CA:true', async () => {
    const dir = await scratch();
    const first = await ensureCa(dir, { permit: ['.dd'] });
    expect(first.created).toBe(true);
    expect((await fs.stat(dir)).mode & 0o777).toBe(0o700);
    expect((await fs.stat(first.ca.keyFile)).mode & 0o777).toBe(0o600);
    const cert = new X509Certificate(first.ca.certPem);
    expect(cert.ca).toBe(true);
    expect(cert.publicKey.asymmetricKeyDetails?.namedCurve).toBe('prime256v1');
    expect(first.ca.permitted.dns).toEqual(['localhost', '.localhost', '.test', '.dd']);
    const again = await ensureCa(dir);
    expect(again.created).toBe(false);
    expect(again.ca.fingerprint).toBe(first.ca.fingerprint);
  });

  it('8 concurrent creators make one CA', async () => {
    const dir = await scratch();
    const all = await Promise.all(Array.from({ length: 8 }, () => ensureCa(dir)));
    expect(all.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(all.map((r) => r.ca.fingerprint)).size).toBe(1);
  });

  it('a --permit the CA lacks is refused with the command that makes a new CA; --new makes one that has it', async () => {
    const dir = await scratch();
    const { ca } = await ensureCa(dir);
    const err = await ensureCa(dir, { permit: ['.dd'] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApxsError);
    expect((err as ApxsError).code).toBe('NAME_NOT_PERMITTED');
    expect((err as ApxsError).hint).toContain('apxs-ts tls ca --new --permit .dd');
    const fresh = await ensureCa(dir, { permit: ['.dd'], replace: true });
    expect(fresh.created).toBe(true);
    expect(fresh.ca.fingerprint).not.toBe(ca.fingerprint);
    expect(fresh.ca.permitted.dns).toContain('.dd');
    expect(await fs.readFile(fresh.replaced!, 'utf8')).toBe(ca.certPem);
  });
});

describe('leaf', () => {
  it('names typed, under 397 days, backdated an hour, signed by the CA, key in the pair file', async () => {
    const { ca } = await ensureCa(await scratch());
    const now = new Date('2026-06-01T12:00:00Z');
    const leaf = await issueLeaf(ca, ['one.test', 'www.one.test', '127.0.0.1', 'One.test'], now);
    const cert = new X509Certificate(leaf.certPem);
    expect(cert.subjectAltName).toBe('DNS:one.test, DNS:www.one.test, IP Address:127.0.0.1');
    expect(new Date(cert.validFrom).getTime()).toBe(now.getTime() - 3600_000);
    const days =
      (new Date(cert.validTo).getTime() - new Date(cert.validFrom).getTime()) / 86400_000;
    expect(days).toBeLessThanOrEqual(397);
    expect(days).toBeGreaterThan(390);
    expect(cert.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true);
    expect(cert.checkIssued(new X509Certificate(ca.certPem))).toBe(true);
    expect(cert.ca).toBe(false);
    expect(pairPem(leaf)).toMatch(
      /^-----BEGIN CERTIFICATE-----[\s\S]+-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----[\s\S]+-----END PRIVATE KEY-----\n$/,
    );
  });

  it('a name outside the constraints is refused, saying a new CA is needed', async () => {
    const { ca } = await ensureCa(await scratch());
    const err = await issueLeaf(ca, ['one.test', 'example.com']).catch((e: unknown) => e);
    expect((err as ApxsError).code).toBe('NAME_NOT_PERMITTED');
    expect((err as ApxsError).message).toContain('example.com');
    // The name itself, never .com (a public suffix: tls ca --permit refuses it, and it would let the CA sign for every .com site).
    expect((err as ApxsError).hint).toContain('apxs-ts tls ca --new --permit example.com,');
    expect(() => checkPermitted(ca, ['10.1.2.3'])).toThrow(/outside/);
    expect(() => checkPermitted(ca, ['a.test', '::1', 'localhost'])).not.toThrow();
  });
});

it('loadCa: none yet is undefined', async () => {
  expect(await loadCa(await scratch())).toBeUndefined();
});
