/**
 * Attacks on the download path the #16 tests did not name. Served over
 * loopback from the shared release (its real checksum and signature).
 *
 * Three `source download`s of one release into one cache dir at once (two
 * `source build`s of one version do the same first): they shared the .part,
 * so one run's rename took the file from under the others (ENOENT, exit 1)
 * and the renamed file could hold bytes of two streams. They now take turns
 * on a lock beside the file; the ones that waited find it cached.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHARED_MIRROR, cli, tmpDir } from '../helpers.js';

const REL = path.join(SHARED_MIRROR, 'httpd');
const NAME = 'httpd-2.4.68.tar.gz';
const KEYS = path.join(REL, 'KEYS');
let tgz: Buffer;
let server: http.Server;
let url: string;
let tarballRequests = 0;
const made: string[] = [];

beforeAll(async () => {
  tgz = await fs.readFile(path.join(REL, NAME));
  const sha = createHash('sha512').update(tgz).digest('hex');
  server = http.createServer((req, res) => {
    const p = new URL(req.url!, 'http://x').pathname.replace(/^\/dist\/httpd\//, '');
    if (p === '') return void res.end(`<a href="${NAME}">${NAME}</a>\n`);
    if (p === `${NAME}.sha512`) return void res.end(`${sha} *${NAME}\n`);
    if (p === `${NAME}.asc`)
      return void fs.readFile(path.join(REL, `${NAME}.asc`)).then((b) => res.end(b));
    if (p !== NAME) return void res.writeHead(404).end();
    tarballRequests++;
    // 64 KiB every 10 ms (~1.5 s for the tarball): runs started 150 ms apart overlap.
    res.writeHead(200, { 'content-length': tgz.length });
    let i = 0;
    const t = setInterval(() => {
      if (res.destroyed || i >= tgz.length) {
        clearInterval(t);
        return void res.end();
      }
      res.write(tgz.subarray(i, i + 65536));
      i += 65536;
    }, 10);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dist/httpd/`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  for (const d of made) await fs.rm(d, { recursive: true, force: true });
});

describe('downloads: attacks the #16 tests did not name', () => {
  it('3 concurrent source downloads of one release into one cache dir x 2 rounds: 6 of 6 exit 0, one tarball request per round, the cached file is the release byte for byte, no .part or lock left', async () => {
    const outcomes: string[] = [];
    let ok = 0;
    let good = 0;
    for (let round = 0; round < 2; round++) {
      const cache = await tmpDir('apxs-ts-attack-dl-');
      made.push(cache);
      const before = tarballRequests;
      const runs = await Promise.all(
        [0, 150, 300].map(async (delay) => {
          await new Promise((r) => setTimeout(r, delay));
          return cli(
            [
              'source',
              'download',
              '2.4.68',
              '--mirror',
              url,
              '--keys',
              KEYS,
              '--cache-dir',
              cache,
              '--json',
            ],
            { timeoutMs: 90_000 },
          );
        }),
      );
      for (const r of runs) {
        outcomes.push(
          `round ${round}: exit ${r.code} ${r.json?.error?.code ?? 'ok'} ${r.json?.error?.message ?? ''} fromCache=${r.json?.fromCache}`,
        );
        if (r.code === 0) ok++;
      }
      const file = await fs.readFile(path.join(cache, NAME)).catch(() => Buffer.alloc(0));
      if (file.equals(tgz)) good++;
      outcomes.push(
        `round ${round}: tarball requests ${tarballRequests - before}, cache ${(await fs.readdir(cache)).join(' ')}`,
      );
      expect(
        (await fs.readdir(cache)).filter((f) => f.endsWith('.part') || f.endsWith('.lock')),
        outcomes.join('\n'),
      ).toEqual([]);
      expect(tarballRequests - before, outcomes.join('\n')).toBe(1);
    }
    expect(ok, outcomes.join('\n')).toBe(6);
    expect(good, outcomes.join('\n')).toBe(2);
  }, 240_000);
});
