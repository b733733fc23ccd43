/**
 * A full disk (a tmpfs, filled to leave a few KB) under the CA dir, under
 * the local certs dir of a scratch system store, and under a server root
 * getting a TLS vhost: NO_SPACE naming the
 * path, nothing half-written (no key without its certificate, no temp file),
 * and the next run, with space again, works. Needs root (mount); when the
 * mount is refused, the test says why and fails instead of skipping.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { cli, scratchStore, tlsSandbox, tmpDir } from '../helpers.js';

const mounts: string[] = [];
afterAll(() => {
  for (const m of mounts.reverse()) {
    try {
      execFileSync('umount', [m]);
    } catch {
      /* already gone */
    }
  }
});

function tmpfs(dir: string, freeKb: number): void {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0755', 'tmpfs', dir], {
      stdio: 'pipe',
    });
  } catch (err) {
    throw new Error(
      `cannot mount a 64 KB tmpfs at ${dir} (needs root and CAP_SYS_ADMIN): ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`,
    );
  }
  mounts.push(dir);
  execFileSync('sh', [
    '-c',
    `head -c ${(64 - freeKb) * 1024} /dev/zero > ${dir}/fill 2>/dev/null || true`,
  ]);
}

it('tls ca on a full disk, 0..16 KB free: NO_SPACE with the path or a whole CA, never a key alone or a temp file', async () => {
  const work = await tmpDir('apxs-ts-tlsfull-');
  const outcomes: string[] = [];
  for (const free of [0, 4, 8, 12, 16]) {
    const m = path.join(work, `m${free}`);
    await fs.mkdir(m);
    tmpfs(m, free);
    const dir = path.join(m, 'ca');
    const r = await cli(['tls', 'ca', '--ca-dir', dir, '--json']);
    const files = (await fs.readdir(dir).catch(() => [] as string[]))
      .filter((f) => f !== 'ca.lock')
      .sort();
    if (r.code === 0) {
      expect(files, `${free} KB`).toEqual(['ca-key.pem', 'ca.pem']);
      outcomes.push(`${free}:ok`);
    } else {
      expect(r.json?.error?.code, `${free} KB: ${r.stderr}`).toBe('NO_SPACE');
      expect(r.json.error.message).toContain(dir);
      expect(files, `${free} KB`).toEqual([]);
      outcomes.push(`${free}:NO_SPACE`);
    }
    // Space again: the next run makes (or finds) a whole CA.
    await fs.rm(path.join(m, 'fill'));
    const again = await cli(['tls', 'ca', '--ca-dir', dir, '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect((await fs.readdir(dir)).filter((f) => f.endsWith('.pem')).sort()).toEqual([
      'ca-key.pem',
      'ca.pem',
    ]);
  }
  // The sizes must reach both failures (the key's write and the certificate's) and a success.
  expect(outcomes.filter((o) => o.endsWith('NO_SPACE')).length).toBeGreaterThanOrEqual(2);
  expect(outcomes.some((o) => o.endsWith(':ok'))).toBe(true);
}, 120_000);

it('tls trust with the local certs dir on a full disk: NO_SPACE, no temp file, the bundle untouched; with space it trusts', async () => {
  const work = await tmpDir('apxs-ts-tlsfull-');
  const env = { APXS_TS_CA_DIR: path.join(work, 'ca') };
  expect((await cli(['tls', 'ca'], { env })).code).toBe(0);
  const { conf, share, local, etc, hooks } = await scratchStore(work, 1);
  tmpfs(local, 0);
  const bundle = await fs.readFile(path.join(etc, 'ca-certificates.crt'));
  const args = [
    'tls',
    'trust',
    '--certs-conf',
    conf,
    '--certs-dir',
    share,
    '--local-certs-dir',
    local,
    '--etc-certs-dir',
    etc,
    '--hooks-dir',
    hooks,
    '--no-nss',
    '--json',
  ];
  const r = await cli(args, { env });
  expect(r.code, r.stderr).toBe(1);
  expect(r.json.error.code).toBe('NO_SPACE');
  expect(r.json.error.message).toContain(local);
  expect(await fs.readdir(local)).toEqual(['fill']);
  expect(await fs.readFile(path.join(etc, 'ca-certificates.crt'))).toEqual(bundle);
  await fs.rm(path.join(local, 'fill'));
  const ok = await cli(args, { env });
  expect(ok.code, ok.stderr).toBe(0);
  expect(ok.json.changed).toBe(true);
}, 120_000);

it('vhost add --tls with the server root on a full disk (0..40 KB free): NO_SPACE or done; never a key file the config does not name, configtest passes', async () => {
  const work = await tmpDir('apxs-ts-tlsfull-');
  const env = { APXS_TS_CA_DIR: path.join(work, 'ca') };
  const hosts = path.join(work, 'hosts');
  await fs.writeFile(hosts, '127.0.0.1 localhost\n');
  const outcomes: string[] = [];
  for (const free of [0, 8, 16, 24, 32, 40]) {
    const m = path.join(work, `m${free}`);
    await fs.mkdir(m);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=512k,mode=0755', 'tmpfs', m]);
    mounts.push(m);
    const sr = path.join(m, 'srv');
    await tlsSandbox(sr, env);
    const used = Number(
      execFileSync('df', ['-k', '--output=used', m], { encoding: 'utf8' }).split('\n')[1],
    );
    execFileSync('sh', [
      '-c',
      `head -c ${(512 - used - free) * 1024} /dev/zero > ${m}/fill 2>/dev/null || true`,
    ]);
    const r = await cli(
      ['vhost', 'add', 'full.test', '--tls', '--server-root', sr, '--hosts-file', hosts, '--json'],
      { env },
    );
    if (r.code !== 0) expect(r.json?.error?.code, `${free} KB: ${r.stderr}`).toBe('NO_SPACE');
    outcomes.push(`${free}:${r.code === 0 ? 'ok' : 'NO_SPACE'}`);
    const conf = await fs
      .readFile(path.join(sr, 'conf', 'apxs-ts-vhosts.conf'), 'utf8')
      .catch(() => '');
    const named = [...conf.matchAll(/SSLCertificateFile\s+"([^"]+)"/g)].map((x) => x[1]!);
    const dir = path.join(sr, 'conf', 'apxs-ts-tls');
    const files = (await fs.readdir(dir).catch(() => [] as string[]))
      .filter((f) => !f.startsWith('.'))
      .map((f) => path.join(dir, f));
    const temps = (await fs.readdir(dir).catch(() => [] as string[])).filter((f) =>
      f.startsWith('.'),
    );
    expect(temps, `${free} KB`).toEqual([]);
    expect(files.sort(), `${free} KB`).toEqual([...new Set(named)].sort());
    await fs.rm(path.join(m, 'fill'));
    expect((await cli(['ctl', 'configtest', '--server-root', sr])).code, `${free} KB`).toBe(0);
  }
  console.log(`vhost add --tls on a full disk: ${outcomes.join(' ')}`);
  expect(outcomes.some((o) => o.endsWith('NO_SPACE'))).toBe(true);
}, 180_000);
