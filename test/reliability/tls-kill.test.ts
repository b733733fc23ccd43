/**
 * kill -9 during `vhost add --tls`, at every step (failpoints, the mark
 * file proves where): afterwards no key is on disk without its certificate,
 * no config names a certificate file that is missing, and httpd accepts the
 * config as the killed run left it; the next edit recovers, and the
 * certificate files are exactly the ones the config names.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { cli, freePort, tmpDir } from '../helpers.js';

async function invariants(sr: string): Promise<{ named: string[]; files: string[] }> {
  const confDir = path.join(sr, 'conf');
  const named: string[] = [];
  for (const f of await fs.readdir(confDir)) {
    const p = path.join(confDir, f);
    if (!(await fs.stat(p)).isFile()) continue;
    for (const m of (await fs.readFile(p, 'utf8')).matchAll(/^\s*SSLCertificateFile\s+"([^"]+)"/gm))
      named.push(m[1]!);
  }
  for (const f of named) {
    const text = await fs.readFile(f, 'utf8').catch(() => 'MISSING');
    expect(text, `${f} named by the config`).toContain('-----BEGIN CERTIFICATE-----');
    expect(text, f).toContain('-----END PRIVATE KEY-----');
  }
  const dir = path.join(confDir, 'apxs-ts-tls');
  const files = (await fs.readdir(dir).catch(() => [] as string[])).map((f) => path.join(dir, f));
  for (const f of files) {
    const text = await fs.readFile(f, 'utf8');
    // A key only ever with its certificate (one file, one rename).
    if (text.includes('PRIVATE KEY'))
      expect(text, f).toMatch(
        /-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----[\s\S]+-----END PRIVATE KEY-----\n$/,
      );
    expect((await fs.stat(f)).mode & 0o077, `${f} mode`).toBe(0);
  }
  return { named, files };
}

it('kill -9 at each step of vhost add --tls: no key without its certificate, no config naming a missing file, configtest passes; then recovered', async () => {
  const work = await tmpDir('apxs-ts-tlsk-');
  const sr = path.join(work, 'srv');
  const port = await freePort();
  const env = { APXS_TS_CA_DIR: path.join(work, 'ca') };
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
          String(port + 1 === 65536 ? port - 1 : port + 1),
          '--no-project',
        ],
        { env },
      )
    ).code,
  ).toBe(0);
  const hosts = path.join(work, 'hosts');
  await fs.writeFile(hosts, '127.0.0.1 localhost\n');
  const mark = path.join(work, 'mark');
  const points = [
    'tls:before-pair',
    'tls:after-pair',
    ...Array.from({ length: 16 }, (_, i) => `edit:after-change@${i + 1}`),
  ];
  let kills = 0;
  let i = 0;
  for (const point of points) {
    await fs.rm(mark, { force: true });
    const name = `k${i++}.test`;
    const r = await cli(
      ['vhost', 'add', name, '--tls', '--server-root', sr, '--hosts-file', hosts],
      {
        env: { ...env, APXS_TS_FAILPOINT: point, APXS_TS_FAILPOINT_MARK: mark },
        timeoutMs: 60_000,
      },
    );
    const marked = await fs.readFile(mark, 'utf8').catch(() => undefined);
    if (marked === undefined) {
      // Past the last step of an add: it finished.
      expect(r.code, r.stderr).toBe(0);
      if (point.startsWith('edit:')) break;
      continue;
    }
    expect(marked).toBe(`${point}\n`);
    expect(r.code).not.toBe(0);
    kills++;
    await invariants(sr);
    const ct = await cli(['ctl', 'configtest', '--server-root', sr]);
    expect(ct.code, `${point}: ${ct.stderr}`).toBe(0);
  }
  expect(kills).toBeGreaterThanOrEqual(8);
  // The next edit recovers what the last kill left; then the files are exactly the ones named.
  const last = await cli(
    ['vhost', 'add', 'final.test', '--tls', '--server-root', sr, '--hosts-file', hosts],
    { env },
  );
  expect(last.code, last.stderr).toBe(0);
  const { named, files } = await invariants(sr);
  expect(files.sort()).toEqual([...new Set(named)].sort());
  expect((await cli(['ctl', 'configtest', '--server-root', sr])).code).toBe(0);
}, 300_000);
