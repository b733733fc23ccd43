/**
 * One configtest per dev cycle (lib/httpd/config-proof.ts): a restart
 * reuses the configtest an edit just passed only when every file httpd -t
 * read is the same; a config changed between the two is tested again, and a
 * broken one is refused with the running server left as it was. On a real
 * sandbox run by the system httpd, in-process on the built lib (dist/lib,
 * `npm run build`): restart requires some of its code lazily, as the CLI does.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConfigProof } from '../../lib/httpd/config-proof.js';
import type { ServerRoot } from '../../lib/httpd/server-root.js';
import { get, newSandbox, ROOT } from '../helpers.js';

const built = <T>(m: string): T => require(path.join(ROOT, 'dist', 'lib', m)) as T;
const { restart, start, stop } =
  built<typeof import('../../lib/ctl/lifecycle.js')>('ctl/lifecycle.js');
const { withConfigEdit } =
  built<typeof import('../../lib/httpd/config-edit.js')>('httpd/config-edit.js');
const { configFingerprint, proofHolds } =
  built<typeof import('../../lib/httpd/config-proof.js')>('httpd/config-proof.js');
const { detectServerRoot } =
  built<typeof import('../../lib/httpd/server-root.js')>('httpd/server-root.js');
const { childrenOf, isAlive } = built<typeof import('../../lib/core/proc.js')>('core/proc.js');

let sr: ServerRoot;
let port: number;
beforeAll(async () => {
  const s = await newSandbox();
  port = s.port;
  sr = await detectServerRoot(s.sr);
  await start(sr, { timeoutSec: 30 });
}, 60_000);
afterAll(async () => {
  await stop(sr, { timeoutSec: 30 }).catch(() => undefined);
}, 60_000);

const conf = () => fs.readFile(sr.configFile, 'utf8');

/** A proof from an accepted edit: a comment appended to httpd.conf. */
async function provedEdit(note: string): Promise<ConfigProof> {
  const text = await conf();
  const r = await withConfigEdit(
    sr,
    `adding ${note}`,
    async (tx) => {
      await tx.write(sr.configFile, `${text}# ${note}\n`);
    },
    { prove: true },
  );
  expect(r.configtest?.ok).toBe(true);
  expect(r.proof).toBeDefined();
  return r.proof!;
}

const pidOf = async () =>
  Number((await fs.readFile(path.join(sr.root, 'logs', 'httpd.pid'), 'utf8')).trim());

describe('a configtest carried from install to restart', () => {
  it('a restart right after a proved edit reuses its verdict, and the new generation serves', async () => {
    const proof = await provedEdit('reuse me');
    const pid = await pidOf();
    const before = new Set(childrenOf(pid));
    const r = await restart(sr, { timeoutSec: 30, provenConfig: proof });
    expect(r.configtestReused).toBe(true);
    expect(r.configtest.ok).toBe(true);
    expect(r.pid).toBe(pid);
    expect(childrenOf(pid).some((c) => !before.has(c))).toBe(true);
    expect((await get(`http://127.0.0.1:${port}/`)).status).toBeLessThan(500);
  }, 60_000);

  it('a config broken between the proof and the restart is tested again: CONFIG_BROKEN, the server not signalled and still serving', async () => {
    const proof = await provedEdit('then broken');
    const good = await conf();
    const pid = await pidOf();
    const children = childrenOf(pid).sort();
    // Written behind apxs-ts's back, as an editor would, between install and restart.
    await fs.writeFile(sr.configFile, `${good}NoSuchDirective here\n`);
    try {
      const err = await restart(sr, { timeoutSec: 30, provenConfig: proof }).then(
        () => undefined,
        (e: unknown) => e as { code: string },
      );
      expect(err?.code).toBe('CONFIG_BROKEN');
      expect(isAlive(pid)).toBe(true);
      expect(childrenOf(pid).sort()).toEqual(children); // no restart: the same children
      expect((await get(`http://127.0.0.1:${port}/`)).status).toBeLessThan(500);
    } finally {
      await fs.writeFile(sr.configFile, good);
    }
  }, 60_000);

  it('a change of the same size with the mtime put back is still seen (bytes and ctime, not mtime and size)', async () => {
    const proof = await provedEdit('same size A');
    const st = await fs.stat(sr.configFile, { bigint: true });
    const text = await conf();
    // touch -r: the times to the nanosecond, which a JS Date cannot carry.
    const ref = `${sr.configFile}.times`;
    execFileSync('touch', ['-r', sr.configFile, ref]);
    await fs.writeFile(sr.configFile, text.replace('# same size A\n', '# same size B\n'));
    execFileSync('touch', ['-r', ref, sr.configFile]);
    await fs.rm(ref);
    const now = await fs.stat(sr.configFile, { bigint: true });
    expect([now.size, now.mtimeNs]).toEqual([st.size, st.mtimeNs]);
    expect(await proofHolds(sr, proof)).toBe(false);
    await fs.writeFile(sr.configFile, text);
  }, 60_000);

  it('a file new in an Include glob, a LoadModule .so replaced, another root, a failed verdict: no reuse', async () => {
    const extra = path.join(sr.root, 'conf', 'extra');
    await fs.mkdir(extra, { recursive: true });
    await withConfigEdit(sr, 'an include', async (tx) => {
      await tx.write(sr.configFile, `${await conf()}IncludeOptional conf/extra/*.conf\n`);
    });
    const proof = await provedEdit('with include');
    expect(await proofHolds(sr, proof)).toBe(true); // nothing changed yet: it holds
    await fs.writeFile(path.join(extra, 'new.conf'), 'ServerTokens Prod\n');
    expect(await proofHolds(sr, proof)).toBe(false);
    await fs.rm(path.join(extra, 'new.conf'));
    expect(await proofHolds(sr, proof)).toBe(true);

    // A module's .so copied over (a new inode, as install does) after the proof.
    const so = path.join(sr.root, 'modules', 'mod_fake.so');
    await fs.mkdir(path.dirname(so), { recursive: true });
    await fs.copyFile('/usr/lib/apache2/modules/mod_status.so', so);
    await withConfigEdit(sr, 'a module', async (tx) => {
      await tx.write(
        sr.configFile,
        `${await conf()}LoadModule status_module modules/mod_fake.so\n`,
      );
    });
    const withSo = await provedEdit('with a module');
    await fs.copyFile('/usr/lib/apache2/modules/mod_status.so', `${so}.tmp`);
    await fs.rename(`${so}.tmp`, so);
    expect(await proofHolds(sr, withSo)).toBe(false);

    const fresh = { ...withSo, fingerprint: await configFingerprint(sr) };
    expect(await proofHolds(sr, fresh)).toBe(true);
    expect(await proofHolds(sr, { ...fresh, root: '/elsewhere' })).toBe(false);
    expect(await proofHolds(sr, { ...fresh, verdict: { ...fresh.verdict, ok: false } })).toBe(
      false,
    );
    expect(await proofHolds(sr, undefined)).toBe(false);
  }, 60_000);

  it('an edit httpd rejects carries no proof (it is rolled back)', async () => {
    const err = await withConfigEdit(
      sr,
      'nonsense',
      async (tx) => {
        await tx.write(sr.configFile, `${await conf()}NoSuchDirective here\n`);
      },
      { prove: true },
    ).then(
      () => undefined,
      (e: unknown) => e as { code: string },
    );
    expect(err?.code).toBe('CONFIG_BROKEN');
  }, 60_000);
});
