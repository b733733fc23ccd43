/**
 * A diff lands in logs (Ansible prints it, CI keeps it): a private key
 * apxs-ts writes (a vhost's key+certificate file, the CA's key) never goes
 * into a --diff, in JSON or human form; the certificate beside it (public)
 * still shows, so the diff says what changed (#23 attack).
 */
import { describe, expect, it } from 'vitest';
import { fileDiff, unifiedDiff } from '../../lib/core/change-report.js';

const CERT = '-----BEGIN CERTIFICATE-----\nMIIBcert\n-----END CERTIFICATE-----\n';
const KEY = (kind: string) =>
  `-----BEGIN ${kind}PRIVATE KEY-----\nMIGHAgEAsecret\nc2VjcmV0\n-----END ${kind}PRIVATE KEY-----\n`;

describe('private keys in a diff', () => {
  it('PKCS#8, EC, RSA and encrypted keys are replaced by a note, as Buffer or string, before or after; the certificate as its type', () => {
    let cases = 0;
    for (const kind of ['', 'EC ', 'RSA ', 'ENCRYPTED ']) {
      const pem = CERT + KEY(kind);
      for (const d of [
        fileDiff('/srv/conf/site.pem', undefined, Buffer.from(pem)),
        fileDiff('/srv/conf/site.pem', pem, undefined),
      ]) {
        const all = JSON.stringify(d) + unifiedDiff(d);
        expect(all).not.toContain('secret');
        expect(all).not.toContain('c2VjcmV0');
        expect(all).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY/);
        expect(all).toContain('(PEM CERTIFICATE)');
        expect(all).toContain('PRIVATE KEY: never shown');
        cases++;
      }
    }
    expect(cases).toBe(8);
  });
});
