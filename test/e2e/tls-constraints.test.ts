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
afterAll(async () => { for (const d of dirs) await fs.rm(d, { recursive: true, force: true }); });

async function verify(caFile: string, certPem: string, dir: string): Promise<{ code: number; out: string }> {
  const f = path.join(dir, `leaf-${Math.random().toString(36).slice(2)}.pem`);
  await fs.writeFile(f, certPem);
  return run('openssl', ['verify', '-CAfile', caFile, f]).then(
    (r) => ({ code: 0, out: r.stdout + r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, out: e.stdout + e.stderr }),
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
