/**
 * kill -9 at every step of `tls renew` (two vhosts renewed in one edit; the
 * mark file proves where): afterwards every certificate the config names is
 * on disk and verifies against the CA, configtest passes, and after the next
 * command the certificate files are exactly the ones the config names (the
 * old ones, deleted after the commit, are not left behind with their keys).
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { cli, freePort, tmpDir } from '../helpers.js';

async function state(sr: string, caFile: string): Promise<{ named: string[]; files: string[] }> {
  const conf = path.join(sr, 'conf');
  const named: string[] = [];
  for (const f of await fs.readdir(conf)) {
    const p = path.join(conf, f);
    if (!(await fs.stat(p)).isFile()) continue;
    for (const m of (await fs.readFile(p, 'utf8')).matchAll(/^\s*SSLCertificateFile\s+"([^"]+)"/gm))
      named.push(m[1]!);
  }
  for (const f of named)
    expect(
      execFileSync('openssl', ['verify', '-CAfile', caFile, f], { encoding: 'utf8' }),
      f,
    ).toContain(': OK');
  const dir = path.join(conf, 'apxs-ts-tls');
  return {
    named: [...new Set(named)].sort(),
    files: (await fs.readdir(dir)).map((f) => path.join(dir, f)).sort(),
  };
}

it('kill -9 at each step of tls renew --all: named certificates exist and verify, configtest passes, the next command leaves only named files', async () => {
  const work = await tmpDir('apxs-ts-tlsrk-');
  const port = await freePort();
  let tlsPort = await freePort();
  while (tlsPort === port) tlsPort = await freePort();
  const sr = path.join(work, 'srv');
  const env = { APXS_TS_CA_DIR: path.join(work, 'ca') };
  const caFile = path.join(work, 'ca', 'ca.pem');
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
  const hosts = path.join(work, 'hosts');
  await fs.writeFile(hosts, '127.0.0.1 localhost\n');
  for (const n of ['a.test', 'b.test'])
    expect(
      (await cli(['vhost', 'add', n, '--tls', '--server-root', sr, '--hosts-file', hosts], { env }))
        .code,
    ).toBe(0);
  const mark = path.join(work, 'mark');
  const points = [
    'tls:before-pair',
    'tls:after-pair',
    'tls:before-pair@2',
    'tls:after-pair@2',
    'edit:before-purge',
    ...Array.from({ length: 10 }, (_, i) => `edit:after-change@${i + 1}`),
  ];
  let kills = 0;
  for (const point of points) {
    await fs.rm(mark, { force: true });
    const r = await cli(['tls', 'renew', '--all', '--no-reload', '--server-root', sr, '--json'], {
      env: { ...env, APXS_TS_FAILPOINT: point, APXS_TS_FAILPOINT_MARK: mark },
      timeoutMs: 60_000,
    });
    const marked = await fs.readFile(mark, 'utf8').catch(() => undefined);
    if (marked === undefined) {
      expect(r.code, `${point}: ${r.stderr}`).toBe(0);
      continue;
    }
    expect(marked).toBe(`${point}\n`);
    expect(r.code).not.toBe(0);
    kills++;
    await state(sr, caFile);
    expect((await cli(['ctl', 'configtest', '--server-root', sr])).code, point).toBe(0);
    // The next command (a list: any command that takes the root's edit lock recovers) then a clean renew.
    const next = await cli(
      ['tls', 'renew', '--all', '--no-reload', '--server-root', sr, '--json'],
      { env, timeoutMs: 60_000 },
    );
    expect(next.code, `${point}: ${next.stderr}`).toBe(0);
    const { named, files } = await state(sr, caFile);
    expect(named, point).toHaveLength(2);
    expect(files, point).toEqual(named);
  }
  console.log(`tls renew kills: ${kills}`);
  expect(kills).toBeGreaterThanOrEqual(8);
}, 300_000);
