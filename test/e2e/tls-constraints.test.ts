/**
 * The CA's name constraints as OpenSSL enforces them: a leaf for a name
 * outside them, signed with the CA's own key (checkPermitted bypassed, as a
 * thief of the key would), fails `openssl verify` with "permitted subtree
 * violation"; a leaf inside them verifies.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { ensureCa } from '../../lib/tls/ca.js';
import { issueLeaf } from '../../lib/tls/leaf.js';

const run = promisify(execFile);
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await fs.rm(d, { recursive: true, force: true });
});

async function verify(
  caFile: string,
  certPem: string,
  dir: string,
): Promise<{ code: number; out: string }> {
  const f = path.join(dir, `leaf-${Math.random().toString(36).slice(2)}.pem`);
  await fs.writeFile(f, certPem);
  return run('openssl', ['verify', '-CAfile', caFile, f]).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({
      code: e.code,
      out: e.stdout + e.stderr,
    }),
  );
}

it('openssl verify: inside the constraints OK; example.com and 10.0.0.1 signed with the CA key fail with permitted subtree violation', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'apxs-ts-tlsnc-'));
  dirs.push(dir);
  const { ca } = await ensureCa(path.join(dir, 'ca'));
  const good = await issueLeaf(ca, ['one.test', 'localhost', '127.0.0.1']);
  const ok = await verify(ca.certFile, good.certPem, dir);
  expect(ok.out).toContain(': OK');
  expect(ok.code).toBe(0);
  // A CA record that claims to permit everything: the signed certificate still says otherwise.
  const liar = { ...ca, permitted: { dns: ['com', 'test'], ip: ['0.0.0.0/0'] } };
  for (const names of [['www.example.com'], ['one.test', '10.0.0.1']]) {
    const bad = await issueLeaf(liar, names);
    const r = await verify(ca.certFile, bad.certPem, dir);
    expect(r.code, names.join(',')).not.toBe(0);
    expect(r.out, names.join(',')).toContain('permitted subtree violation');
  }
});

it('tls ca --show: none yet is NOT_FOUND; then the fingerprint openssl computes, the constraints, ten years', async () => {
  const { cli, tmpDir } = await import('../helpers.js');
  const dir = await tmpDir('apxs-ts-tlsshow-');
  dirs.push(dir);
  const env = { APXS_TS_CA_DIR: path.join(dir, 'ca') };
  const none = await cli(['tls', 'ca', '--show', '--json'], { env });
  expect(none.code).toBe(1);
  expect(none.json.error.code).toBe('NOT_FOUND');
  expect(none.json.error.hint).toContain('apxs-ts tls ca');
  const made = await cli(['tls', 'ca', '--permit', '.dd', '--json'], { env });
  expect(made.json.created).toBe(true);
  const again = await cli(['tls', 'ca', '--json'], { env });
  expect(again.json.created).toBe(false);
  const show = await cli(['tls', 'ca', '--show', '--json'], { env });
  const fp = (
    await run('openssl', [
      'x509',
      '-in',
      path.join(dir, 'ca', 'ca.pem'),
      '-noout',
      '-fingerprint',
      '-sha256',
    ])
  ).stdout
    .trim()
    .split('=')[1];
  expect(show.json.ca.fingerprint).toBe(fp);
  expect(show.json.ca.permitted).toEqual({
    dns: ['localhost', '.localhost', '.test', '.dd'],
    ip: ['127.0.0.0/8', '::1/128'],
  });
  const years = (new Date(show.json.ca.notAfter).getTime() - Date.now()) / (365.25 * 86400_000);
  expect(years).toBeGreaterThan(9.9);
  expect(years).toBeLessThan(10.1);
  const human = await cli(['tls', 'ca', '--show'], { env });
  expect(human.stdout).toContain(`sha256   ${fp}`);
});
