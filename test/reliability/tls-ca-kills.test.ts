/**
 * The local CA made under kills and races: kill -9 at every step of its
 * creation (by `vhost add --tls` on a fresh data dir, and by `tls ca --new`),
 * the mark file proving where; concurrent first-time `tls ca` and `vhost add
 * --tls` on one fresh CA dir. Never a certificate without its key (or with
 * another key), the next command recovers, exactly one CA, every leaf chains
 * to it.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { cli, opensslVerifies, tlsSandbox, tmpDir } from '../helpers.js';

async function sandbox(work: string, name: string, env: Record<string, string>) {
  const sr = path.join(work, name);
  await tlsSandbox(sr, env);
  return sr;
}

/** The CA dir holds no certificate without its own key; returns whether it holds a CA. */
async function caConsistent(dir: string): Promise<boolean> {
  const cert = await fs.readFile(path.join(dir, 'ca.pem'), 'utf8').catch(() => undefined);
  if (cert === undefined) return false;
  const key = await fs.readFile(path.join(dir, 'ca-key.pem'), 'utf8');
  const pub = (k: Parameters<typeof createPublicKey>[0]) =>
    createPublicKey(k).export({ type: 'spki', format: 'der' });
  expect(
    pub(createPrivateKey(key)).equals(
      new X509Certificate(cert).publicKey.export({ type: 'spki', format: 'der' }),
    ),
    `${dir}: key is the certificate's`,
  ).toBe(true);
  expect((await fs.stat(path.join(dir, 'ca-key.pem'))).mode & 0o077).toBe(0);
  return true;
}

it('kill -9 at every step of making the CA (first vhost add --tls, tls ca --new): no certificate without its key, the next command recovers', async () => {
  const work = await tmpDir('apxs-ts-tlscak-');
  const mark = path.join(work, 'mark');
  const hosts = path.join(work, 'hosts');
  await fs.writeFile(hosts, '127.0.0.1 localhost\n');
  const sr = await sandbox(work, 'srv', {});
  const create = ['tls-ca:before-key', 'tls-ca:after-key', 'tls-ca:after-cert'];
  const replace = [
    'tls-ca:replace-after-cert',
    'tls-ca:before-key',
    'tls-ca:after-key',
    'tls-ca:after-cert',
  ];
  let kills = 0;
  let n = 0;
  for (const [how, points] of [
    ['first vhost add --tls', create],
    ['tls ca --new', replace],
  ] as const) {
    for (const point of points) {
      const dir = path.join(work, `ca${n++}`);
      const env = { APXS_TS_CA_DIR: dir };
      if (how === 'tls ca --new') expect((await cli(['tls', 'ca'], { env })).code).toBe(0);
      await fs.rm(mark, { force: true });
      const args =
        how === 'tls ca --new'
          ? ['tls', 'ca', '--new']
          : ['vhost', 'add', `k${n}.test`, '--tls', '--server-root', sr, '--hosts-file', hosts];
      const r = await cli(args, {
        env: { ...env, APXS_TS_FAILPOINT: point, APXS_TS_FAILPOINT_MARK: mark },
        timeoutMs: 60_000,
      });
      expect(await fs.readFile(mark, 'utf8'), `${how} ${point}`).toBe(`${point}\n`);
      expect(r.code).not.toBe(0);
      kills++;
      await caConsistent(dir);
      // The next command recovers: a CA, and a leaf that chains to it.
      const next = await cli(
        [
          'vhost',
          'add',
          `after${n}.test`,
          '--tls',
          '--server-root',
          sr,
          '--hosts-file',
          hosts,
          '--json',
        ],
        { env, timeoutMs: 60_000 },
      );
      expect(next.code, `${how} ${point}: ${next.stderr}`).toBe(0);
      expect(await caConsistent(dir)).toBe(true);
      expect(
        opensslVerifies(path.join(dir, 'ca.pem'), next.json.tls.certificate),
        `${how} ${point}`,
      ).toBe(true);
    }
  }
  expect(kills).toBe(7);
}, 300_000);

it('2 tls ca + 2 vhost add --tls at once on a fresh CA dir, 5 rounds: exactly one CA, every leaf chains to it', async () => {
  const work = await tmpDir('apxs-ts-tlscak-');
  const hosts = path.join(work, 'hosts');
  await fs.writeFile(hosts, '127.0.0.1 localhost\n');
  const roots = [await sandbox(work, 'one', {}), await sandbox(work, 'two', {})];
  const rounds = 5;
  let leaves = 0;
  for (let i = 0; i < rounds; i++) {
    const dir = path.join(work, `ca${i}`, 'nested');
    const env = { APXS_TS_CA_DIR: dir };
    const rs = await Promise.all([
      cli(['tls', 'ca', '--json'], { env, timeoutMs: 90_000 }),
      ...roots.map((sr, j) =>
        cli(
          [
            'vhost',
            'add',
            `c${i}-${j}.test`,
            '--tls',
            '--server-root',
            sr,
            '--hosts-file',
            hosts,
            '--json',
          ],
          { env, timeoutMs: 90_000 },
        ),
      ),
      cli(['tls', 'ca', '--json'], { env, timeoutMs: 90_000 }),
    ]);
    for (const r of rs) expect(r.code, r.stderr).toBe(0);
    expect((await fs.readdir(dir)).filter((f) => f.endsWith('.pem')).sort()).toEqual([
      'ca-key.pem',
      'ca.pem',
    ]);
    expect(await caConsistent(dir)).toBe(true);
    const fp = new X509Certificate(await fs.readFile(path.join(dir, 'ca.pem'))).fingerprint256;
    expect(rs[0]!.json.ca.fingerprint).toBe(fp);
    expect(rs[3]!.json.ca.fingerprint).toBe(fp);
    expect(rs[0]!.json.created !== rs[3]!.json.created || !rs[0]!.json.created).toBe(true);
    for (const r of rs.slice(1, 3)) {
      expect(opensslVerifies(path.join(dir, 'ca.pem'), r.json.tls.certificate)).toBe(true);
      leaves++;
    }
  }
  expect(leaves).toBe(2 * rounds);
}, 300_000);

it('tls ca --new racing 2 vhost add --tls, 4 rounds: every leaf made chains to a CA in the dir (the new or a replaced one), or the add says to run again', async () => {
  const work = await tmpDir('apxs-ts-tlscak-');
  const hosts = path.join(work, 'hosts');
  await fs.writeFile(hosts, '127.0.0.1 localhost\n');
  const dir = path.join(work, 'ca');
  const env = { APXS_TS_CA_DIR: dir };
  const roots = [await sandbox(work, 'one', env), await sandbox(work, 'two', env)];
  expect((await cli(['tls', 'ca'], { env })).code).toBe(0);
  let leaves = 0;
  let again = 0;
  for (let i = 0; i < 4; i++) {
    const rs = await Promise.all([
      cli(['tls', 'ca', '--new', '--json'], { env, timeoutMs: 90_000 }),
      ...roots.map((sr, j) =>
        cli(
          [
            'vhost',
            'add',
            `n${i}-${j}.test`,
            '--tls',
            '--server-root',
            sr,
            '--hosts-file',
            hosts,
            '--json',
          ],
          { env, timeoutMs: 90_000 },
        ),
      ),
    ]);
    expect(rs[0]!.code, rs[0]!.stderr).toBe(0);
    const cas = (await fs.readdir(dir))
      .filter((f) => f === 'ca.pem' || /^ca\.pem\.replaced-/.test(f))
      .map((f) => path.join(dir, f));
    for (const r of rs.slice(1)) {
      if (r.code === 0) {
        expect(
          cas.some((ca) => opensslVerifies(ca, r.json.tls.certificate)),
          r.json.tls.certificate,
        ).toBe(true);
        leaves++;
      } else {
        expect(r.json?.error, r.stderr).toMatchObject({
          code: 'LOCKED',
          hint: expect.stringContaining('run it again'),
        });
        again++;
      }
    }
    expect(await caConsistent(dir)).toBe(true);
  }
  console.log(`tls ca --new races: ${leaves} leaves chained, ${again} told to run again`);
  expect(leaves + again).toBe(8);
}, 300_000);

it('the interleaving the race can hit, made exact: a CA loaded, then tls ca --new, then the signing key read: refused (LOCKED, run again), no leaf that chains to nothing', async () => {
  const { ensureCa, loadCa, caSigningKey } = await import('../../lib/tls/ca.js');
  const { issueLeaf } = await import('../../lib/tls/leaf.js');
  const work = await tmpDir('apxs-ts-tlscak-');
  const dir = path.join(work, 'ca');
  await ensureCa(dir);
  const before = (await loadCa(dir))!;
  await ensureCa(dir, { replace: true });
  await expect(caSigningKey(before)).rejects.toMatchObject({
    code: 'LOCKED',
    message: expect.stringContaining('was replaced'),
  });
  await expect(issueLeaf(before, ['one.test'])).rejects.toMatchObject({ code: 'LOCKED' });
  // The CA as it is now signs, and its leaf chains to it.
  const after = (await loadCa(dir))!;
  const leaf = await issueLeaf(after, ['one.test']);
  await fs.writeFile(path.join(work, 'leaf.pem'), leaf.certPem);
  expect(opensslVerifies(after.certFile, path.join(work, 'leaf.pem'))).toBe(true);
}, 60_000);
