/**
 * A full disk under the throwaway roots (#20 attacks): TMPDIR a small tmpfs
 * (16 KiB: the root's first files do not fit). The run ends with NO_SPACE
 * naming the path (not one "server did not start" failure per case, which
 * blamed the module's cases for the machine's disk), and nothing is left on
 * the tmpfs or running. Larger sizes (128 KiB .. 2 MiB) fit a root and pass.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, tmpDir } from '../helpers.js';

const isRoot = process.getuid?.() === 0;
let work: string;
let mnt: string;
let mounted = false;
let cacheEnv: Record<string, string>;

beforeAll(async () => {
  if (!isRoot) return;
  work = await tmpDir('apxs-ts-atk20full-');
  cacheEnv = { XDG_CACHE_HOME: path.join(work, 'cache') };
  const n = await cli(['new', 'fu', '--template', 'hello', '--dir', work], { env: cacheEnv });
  expect(n.code, n.stderr).toBe(0);
  // Built first: gcc's own temp files go to TMPDIR too (that full disk is the compiler's to report).
  const b = await cli(['build', path.join(work, 'mod_fu')], { env: cacheEnv });
  expect(b.code, b.stderr).toBe(0);
  mnt = path.join(work, 'full');
  await fs.mkdir(mnt, { mode: 0o755 });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=16k,mode=0755', 'tmpfs', mnt]);
    mounted = true;
  } catch {
    /* no mount in this container: the test says so by skipping */
  }
}, 60_000);
afterAll(async () => {
  if (mounted) execFileSync('umount', [mnt]);
  if (work) await fs.rm(work, { recursive: true, force: true });
});

describe.skipIf(!isRoot)('a full disk under the throwaway roots', () => {
  it('TMPDIR on a 16 KiB tmpfs: NO_SPACE naming the path, exit 1, nothing left on it, no httpd', async (ctx) => {
    if (!mounted) ctx.skip();
    const r = await cli(['test', path.join(work, 'mod_fu'), '--json'], {
      env: { ...cacheEnv, TMPDIR: mnt },
      timeoutMs: 120_000,
    });
    expect(r.code, r.stderr).toBe(1);
    expect(r.json?.error?.code, r.stdout.slice(0, 2000)).toBe('NO_SPACE');
    expect(r.json?.error?.message).toContain(`${mnt}/apxs-ts-testroot-`);
    expect(await fs.readdir(mnt)).toEqual([]);
    expect(
      execFileSync('ps', ['-eo', 'args='], { encoding: 'utf8' })
        .split('\n')
        .filter((l) => l.includes(mnt)),
    ).toEqual([]);
    expect(
      await fs.readdir(path.join(work, 'cache', 'apxs-ts', 'test-roots')).catch(() => []),
    ).toEqual([]);
  }, 180_000);
});
