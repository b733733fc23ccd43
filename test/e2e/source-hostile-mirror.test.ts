/**
 * A hostile mirror (#16, defect 8), served over loopback: an endless body,
 * a body that stalls, a 1-byte drip, a Content-Length past the cap, a 206
 * that does not start where the .part ends, and a .part of someone else's
 * bytes. Each ends within the limits the test sets (--max-size,
 * --stall-timeout, --deadline) with TOO_LARGE or STALLED naming the URL and
 * the limit, or with a clean restart from byte 0; the .part is watched
 * while it runs and never passes the cap; every retry is a line on stderr.
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

interface Mirror {
  url: string;
  /** Range header of each request for the tarball. */
  ranges: (string | undefined)[];
  /** Bytes of the tarball written to sockets. */
  sent: { bytes: number };
  close: () => Promise<void>;
}

type Tarball = (
  req: http.IncomingMessage,
  res: http.ServerResponse,
  sent: { bytes: number },
) => void;

/** The release's real checksum and signature; the tarball from `tarball`. */
async function mirror(tarball: Tarball, opts: { failChecksum?: number } = {}): Promise<Mirror> {
  let checksumFailures = 0;
  const ranges: Mirror['ranges'] = [];
  const sent = { bytes: 0 };
  const sockets = new Set<import('node:net').Socket>();
  const server = http.createServer((req, res) => {
    const p = new URL(req.url!, 'http://x').pathname.replace(/^\/dist\/httpd\//, '');
    if (p === '') return void res.end(`<a href="${NAME}">${NAME}</a>\n`);
    if (p === NAME) {
      ranges.push(req.headers.range);
      return tarball(req, res, sent);
    }
    if (p === `${NAME}.sha512` && checksumFailures < (opts.failChecksum ?? 0)) {
      checksumFailures++;
      return void res.writeHead(503).end('busy');
    }
    if (p === `${NAME}.sha512`)
      return void res.end(`${createHash('sha512').update(tgz).digest('hex')} *${NAME}\n`);
    if (p === `${NAME}.asc`)
      return void fs.readFile(path.join(REL, `${NAME}.asc`)).then((b) => res.end(b));
    res.writeHead(404).end();
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/dist/httpd/`,
    ranges,
    sent,
    close: () =>
      new Promise((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

const mirrors: Mirror[] = [];
beforeAll(async () => {
  tgz = await fs.readFile(path.join(REL, NAME));
});
afterAll(async () => {
  for (const m of mirrors) await m.close();
});

/** Runs `source download` against `m`, watching the .part's size every few ms. */
async function download(m: Mirror, limits: string[], cache?: string) {
  cache ??= await tmpDir('apxs-ts-hostile-');
  const part = path.join(cache, `${NAME}.part`);
  let maxPart = 0;
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      const st = await fs.stat(part).catch(() => undefined);
      if (st && st.size > maxPart) maxPart = st.size;
      await new Promise((r) => setTimeout(r, 3));
    }
  })();
  const r = await cli(
    [
      'source',
      'download',
      '2.4.68',
      '--mirror',
      m.url,
      '--keys',
      KEYS,
      '--cache-dir',
      cache,
      '--json',
      ...limits,
    ],
    { timeoutMs: 90_000 },
  );
  watching = false;
  await watcher;
  return {
    ...r,
    cache,
    part,
    maxPart,
    partAfter: await fs.stat(part).then(
      (s) => s.size,
      () => undefined,
    ),
  };
}

const serve = async (t: Tarball, opts: { failChecksum?: number } = {}) => {
  const m = await mirror(t, opts);
  mirrors.push(m);
  return m;
};

/** Writes chunks as fast as the socket takes them, forever (until the client goes). */
function endless(res: http.ServerResponse, sent: { bytes: number }): void {
  const chunk = Buffer.alloc(64 * 1024, 0x41);
  const pump = () => {
    while (!res.destroyed && res.write(chunk)) sent.bytes += chunk.length;
    if (!res.destroyed) sent.bytes += chunk.length;
  };
  res.on('drain', pump);
  pump();
}

const CAP = 1 << 20;

describe('a hostile mirror', () => {
  it('an endless body with no length: TOO_LARGE at the cap, the .part never past it and removed', async () => {
    const m = await serve((_req, res, sent) => {
      res.writeHead(200); // chunked, no Content-Length
      endless(res, sent);
    });
    const r = await download(m, ['--max-size', '1M', '--stall-timeout', '5', '--deadline', '30']);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.json.error.code).toBe('TOO_LARGE');
    expect(r.json.error.message).toContain(`${m.url}${NAME}`);
    expect(r.json.error.message).toContain('1 MiB');
    expect(r.json.error.hint).toContain('--max-size');
    expect(m.sent.bytes).toBeGreaterThan(CAP); // the cap is what stopped it
    expect(r.maxPart).toBeLessThanOrEqual(CAP);
    expect(r.partAfter).toBeUndefined();
    expect(m.ranges).toHaveLength(1); // too large is not retried
  });

  it('a Content-Length past the cap: TOO_LARGE before a byte is written', async () => {
    const m = await serve((_req, res, sent) => {
      res.writeHead(200, { 'content-length': String(10 * 1024 ** 3) });
      endless(res, sent);
    });
    const r = await download(m, ['--max-size', '1M', '--stall-timeout', '5', '--deadline', '30']);
    expect(r.json.error.code, r.stdout).toBe('TOO_LARGE');
    expect(r.json.error.message).toContain('announces 10737418240 bytes');
    expect(r.maxPart).toBe(0);
    expect(r.partAfter).toBeUndefined();
  });

  it('a body that stops after 1000 bytes: every retry said on stderr, resumed, then STALLED naming the URL and the timeout', async () => {
    const m = await serve((req, res, sent) => {
      // 1000 bytes from wherever it is asked to start, then silence with the connection open.
      const start = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
      res.writeHead(start ? 206 : 200, {
        'content-length': String(tgz.length - start),
        ...(start ? { 'content-range': `bytes ${start}-${tgz.length - 1}/${tgz.length}` } : {}),
      });
      res.write(tgz.subarray(start, start + 1000));
      sent.bytes += 1000;
    });
    const r = await download(m, ['--stall-timeout', '0.5', '--deadline', '60']);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.json.error.code).toBe('STALLED');
    expect(r.json.error.message).toContain(`${m.url}${NAME} sent no byte for 0.5 s (6 attempts`);
    expect(r.json.error.hint).toContain('--stall-timeout');
    // 5 retries, each announced, each resuming from what reached the disk.
    const retries = r.stderr
      .split('\n')
      .filter((l) => /^download: retry \d of 5 .* no byte for 0\.5 s/.test(l));
    expect(retries, r.stderr).toHaveLength(5);
    expect(m.ranges).toEqual([
      undefined,
      'bytes=1000-',
      'bytes=2000-',
      'bytes=3000-',
      'bytes=4000-',
      'bytes=5000-',
    ]);
    expect(r.partAfter).toBe(6000);
    expect(r.ms).toBeLessThan(60_000);
  });

  it('a 1 byte per 0.2 s drip: STALLED at the deadline, not never', async () => {
    const m = await serve((_req, res, sent) => {
      res.writeHead(200, { 'content-length': String(tgz.length) });
      let i = 0;
      const t = setInterval(() => {
        if (res.destroyed) return clearInterval(t);
        res.write(tgz.subarray(i, i + 1));
        i++;
        sent.bytes++;
      }, 200);
      res.on('close', () => clearInterval(t));
    });
    const r = await download(m, ['--stall-timeout', '2', '--deadline', '3']);
    expect(r.code, r.stdout + r.stderr).toBe(1);
    expect(r.json.error.code).toBe('STALLED');
    expect(r.json.error.message).toContain(
      `${m.url}${NAME} did not finish within the 3 s deadline`,
    );
    expect(r.json.error.hint).toContain('--deadline');
    expect(m.ranges).toHaveLength(1);
    expect(r.partAfter).toBeGreaterThan(0);
    expect(r.partAfter).toBeLessThan(100);
    // Not a timed performance assertion: the deadline is the feature under test.
    expect(r.ms).toBeLessThan(30_000);
  });

  it('a 206 that starts at byte 0 for a resume from byte 1000: the .part is discarded, said on stderr, and the download starts again and verifies', async () => {
    const m = await serve((req, res, sent) => {
      // Range "supported", but always from the start.
      res.writeHead(req.headers.range ? 206 : 200, {
        'content-length': String(tgz.length),
        ...(req.headers.range
          ? { 'content-range': `bytes 0-${tgz.length - 1}/${tgz.length}` }
          : {}),
      });
      res.end(tgz);
      sent.bytes += tgz.length;
    });
    const cache = await tmpDir('apxs-ts-hostile-');
    await fs.writeFile(path.join(cache, `${NAME}.part`), tgz.subarray(0, 1000));
    const r = await download(m, [], cache);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toMatch(
      /download: .* answered a resume from byte 1000 with Content-Range "bytes 0-\d+\/\d+": the \.part is discarded, starting again from 0/,
    );
    expect(m.ranges).toEqual(['bytes=1000-', undefined]);
    expect((await fs.readFile(path.join(cache, NAME))).equals(tgz)).toBe(true);
  });

  it('a .part of other bytes, resumed from an honest server: one restart from byte 0, said on stderr, and it verifies', async () => {
    const m = await serve((req, res, sent) => {
      const start = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0);
      res.writeHead(start ? 206 : 200, {
        'content-length': String(tgz.length - start),
        ...(start ? { 'content-range': `bytes ${start}-${tgz.length - 1}/${tgz.length}` } : {}),
      });
      res.end(tgz.subarray(start));
      sent.bytes += tgz.length - start;
    });
    const cache = await tmpDir('apxs-ts-hostile-');
    await fs.writeFile(path.join(cache, `${NAME}.part`), Buffer.alloc(5000, 0x5a));
    const r = await download(m, [], cache);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toContain(
      'failed its checksum after resuming a .part from byte 5000: downloading the whole file again from byte 0',
    );
    expect(m.ranges).toEqual(['bytes=5000-', undefined]);
    expect((await fs.readFile(path.join(cache, NAME))).equals(tgz)).toBe(true);
  });

  it('a retried checksum file is said on stderr too', async () => {
    const m = await serve((_req, res) => void res.end(tgz), { failChecksum: 1 });
    const r = await download(m, []);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stderr).toContain(
      `download: retry 1 of 2: ${m.url}${NAME}.sha512 (the request before failed)`,
    );
  });

  it('bad limits are usage errors (exit 2) before any request', async () => {
    const m = await serve((_req, res) => void res.end());
    for (const bad of [
      ['--max-size', 'lots'],
      ['--max-size', '0'],
      ['--stall-timeout', '-1'],
      ['--deadline', 'abc'],
    ]) {
      const r = await download(m, bad);
      expect(r.code, `${bad.join(' ')}: ${r.stdout}`).toBe(2);
    }
    expect(m.ranges).toHaveLength(0);
  });
});
