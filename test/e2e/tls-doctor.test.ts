/**
 * doctor's TLS report: the local CA and whether the system store holds it
 * (read only: the machine's bundle is never written), this root's
 * certificates with their days left, and a warning with the renew command
 * for one near expiry.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { cli, freePort, tmpDir } from '../helpers.js';

it('doctor: CA not in the system store, certificates and their expiry, near expiry -> warning with the fix', async () => {
  const work = await tmpDir('apxs-ts-tlsd-');
  const env = { APXS_TS_CA_DIR: path.join(work, 'ca') };
  const sr = path.join(work, 'srv');
  const port = await freePort();
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
          String(port === 65535 ? port - 1 : port + 1),
          '--no-project',
        ],
        { env },
      )
    ).code,
  ).toBe(0);
  const hosts = path.join(work, 'hosts');
  await fs.writeFile(hosts, '127.0.0.1 localhost\n');
  expect(
    (
      await cli(['vhost', 'add', 'one.test', '--tls', '--server-root', sr, '--hosts-file', hosts], {
        env,
      })
    ).code,
  ).toBe(0);
  const report = async () => {
    const r = await cli(['doctor', '--server-root', sr, '--hosts-file', hosts, '--json'], { env });
    return (r.json.ok ? r.json : (r.json.error.data ?? r.json)) as {
      tls: {
        ca: { systemTrusted: boolean; file: string };
        certificates: { vhost: string; daysLeft: number }[];
      };
      warnings: string[];
    };
  };
  const d = await report();
  expect(d.tls.ca.file).toBe(path.join(work, 'ca', 'ca.pem'));
  expect(d.tls.ca.systemTrusted).toBe(false);
  expect(
    d.warnings.some((w) => w.includes('not in the system store') && w.includes('tls trust')),
  ).toBe(true);
  expect(d.tls.certificates).toEqual([expect.objectContaining({ vhost: 'one.test' })]);
  expect(d.tls.certificates[0]!.daysLeft).toBeGreaterThan(390);
  expect(d.warnings.some((w) => w.includes('expires in'))).toBe(false);
  // Five days from now, as apxs-ts's record would say of an old certificate.
  const ledgerFile = path.join(sr, '.apxs-ts', 'created.json');
  const ledger = JSON.parse(await fs.readFile(ledgerFile, 'utf8'));
  ledger.tls['one.test'].notAfter = new Date(Date.now() + 5 * 86400_000 + 3600_000).toISOString();
  await fs.writeFile(ledgerFile, JSON.stringify(ledger));
  const soon = await report();
  expect(soon.tls.certificates[0]!.daysLeft).toBe(5);
  expect(soon.warnings.find((w) => w.includes('one.test expires in 5 days'))).toMatch(
    /fix: apxs-ts tls renew --expiring 30/,
  );
  await fs.rm(work, { recursive: true, force: true });
}, 60_000);
