/**
 * `import { serverFor } from 'apxs-ts/testing'`, resolved as a user's code
 * resolves it (the package's "exports", here by self-reference) to the
 * built dist/apxs-ts-testing.cjs: a started throwaway server with the
 * module installed, requests, the error log, and close() leaving nothing.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, tmpDir } from '../helpers.js';

const req = createRequire(import.meta.url);
let work: string;
let tmp: string;
let hello: string;

const httpdsUnder = (dir: string) =>
  execFileSync('ps', ['-eo', 'args='], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes(dir) && /httpd|apache2/.test(l));

beforeAll(async () => {
  work = await tmpDir('apxs-ts-t20lib-');
  tmp = path.join(work, 'tmp');
  await fs.mkdir(tmp, { mode: 0o755 });
  // This process builds and installs: a cache dir of its own (other checkouts write the shared one in their formats).
  process.env.XDG_CACHE_HOME = path.join(work, 'cache');
  const r = await cli(['new', 'libhello', '--template', 'handler', '--dir', work], {
    env: { XDG_CACHE_HOME: process.env.XDG_CACHE_HOME },
  });
  expect(r.code, r.stderr).toBe(0);
  hello = path.join(work, 'mod_libhello');
});

describe('apxs-ts/testing', () => {
  it('resolves to the bundle through package.json "exports"', () => {
    expect(req.resolve('apxs-ts/testing')).toMatch(/dist\/apxs-ts-testing\.cjs$/);
  });

  it('serverFor: a started server with the module, its requests and error log; close() stops it and deletes the root', async () => {
    const { serverFor } = req('apxs-ts/testing');
    const srv = await serverFor({ module: hello, config: 'LogLevel debug', tmpDir: tmp });
    try {
      expect(httpdsUnder(tmp).length).toBeGreaterThan(0);
      const r = await srv.request({ path: '/libhello' });
      expect(r.status).toBe(200);
      expect(r.body).toContain('<dt>handler</dt><dd>libhello</dd>');
      await srv.request({ path: '/' });
      const lines: string[] = await srv.errorLog.collect([{ contains: 'handling declined' }], 2000);
      expect(lines.some((l) => l.includes('handling declined'))).toBe(true);
    } finally {
      await srv.close();
    }
    expect(httpdsUnder(tmp)).toEqual([]);
    expect(await fs.readdir(tmp)).toEqual([]);
  }, 120_000);

  it("a config httpd rejects is CONFIG_BROKEN with httpd's words, and leaves no root", async () => {
    const { serverFor } = req('apxs-ts/testing');
    await expect(
      serverFor({ module: hello, config: 'NoSuchDirectiveHere on', tmpDir: tmp }),
    ).rejects.toMatchObject({
      code: 'CONFIG_BROKEN',
      details: expect.arrayContaining([expect.stringMatching(/NoSuchDirectiveHere/)]),
    });
    expect(await fs.readdir(tmp)).toEqual([]);
  }, 120_000);
});
