import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { diffText, fileDiff, unifiedDiff } from '../../lib/core/change-report.js';

const key = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();
const cert = '-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n';

describe('diff text (#23)', () => {
  it('never shows a private key: its PEM block stands as one line, in the entry and the unified diff', () => {
    const body = key.split('\n')[1] ?? '';
    const d = fileDiff('/srv/tls/one.pem', undefined, `${cert}${key}`);
    expect(d.after).toBe('(PEM CERTIFICATE)\n(PEM PRIVATE KEY: never shown)\n');
    expect(body.length).toBeGreaterThan(20);
    expect(JSON.stringify(d)).not.toContain(body);
    expect(unifiedDiff(d)).not.toContain(body);
    expect(unifiedDiff(d)).toContain('+(PEM PRIVATE KEY: never shown)');
  });

  it('two issuances of the same kinds of blocks read the same (so --check shows what the run writes)', () => {
    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    expect(diffText(Buffer.from(`x\n${key}y\n`))).toBe(diffText(`x\n${other}y\n`));
    // A PEM file written without its last newline reads as one written with it.
    expect(diffText(cert.trimEnd())).toBe(diffText(cert));
  });

  it('text around PEM blocks, binary and absent content', () => {
    expect(diffText('SSLCertificateFile a.pem\n')).toBe('SSLCertificateFile a.pem\n');
    expect(diffText(Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0]))).toBe('(binary content, 5 bytes)\n');
    expect(diffText(undefined)).toBe('');
    const d = fileDiff('/x', 'a\n', undefined);
    expect([d.before_header, d.after_header]).toEqual(['/x', '/dev/null']);
  });
});
