/**
 * The health probe (lib/ctl/health.ts, node:http since #19) on real servers:
 * httpd 1.3.42 built from the shared archive (test/series-builds.ts) and the
 * system 2.4 in a sandbox. 1.3 writes its chunk-size lines padded with
 * spaces, which Node's parser refuses: shown here on a keep-alive request
 * for a page 1.3 makes as it sends it (a small directory listing; with
 * `Connection: close` too), and why the probe is not hurt by it: it takes
 * the status from the header block and never reads the body.
 */
import http from 'node:http';
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { probe } from '../../lib/ctl/health.js';
import { cli, newSandbox } from '../helpers.js';
import { withBuiltHttpd } from '../series-builds.js';

/** The raw answer to one request written on a socket of our own, read until `enough` says it is complete (or the server closes). */
function rawAnswer(
  port: number,
  request: string,
  enough: (text: string) => boolean,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port }, () => sock.write(request));
    let text = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`no whole answer: ${JSON.stringify(text.slice(0, 300))}`));
    }, 10_000);
    const finish = () => {
      clearTimeout(timer);
      sock.destroy();
      resolve(text);
    };
    sock.on('data', (d) => {
      text += d.toString('latin1');
      if (enough(text)) finish();
    });
    sock.on('end', finish);
    sock.on('error', reject);
  });
}

/** node:http reading a whole answer, body included, on a keep-alive request: its status, or its parser's error. */
function nodeReadsWhole(url: string): Promise<{ status?: number; error?: string }> {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: new http.Agent({ keepAlive: true }) }, (res) => {
      res.on('data', () => undefined);
      res.on('end', () => {
        resolve({ status: res.statusCode });
        req.destroy();
      });
      res.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
    });
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ error: e.code ?? e.message }));
  });
}

/** The chunk-size lines of a chunked answer, as written. */
function sizeLines(answer: string): string[] {
  const lines: string[] = [];
  let at = answer.indexOf('\r\n\r\n') + 4;
  for (;;) {
    const eol = answer.indexOf('\r\n', at);
    if (eol < 0) return lines;
    const line = answer.slice(at, eol);
    lines.push(line);
    const size = parseInt(line.trim(), 16);
    if (!(size > 0)) return lines;
    at = eol + 2 + size + 2;
  }
}

const roots: string[] = [];
afterAll(async () => {
  for (const sr of roots) await cli(['ctl', 'stop', '--server-root', sr]);
});

describe('the health probe on real servers', () => {
  it('httpd 1.3.42: its padded chunk sizes break a whole read by node:http, not the probe (2 URLs, 3 probes each)', async () => {
    await withBuiltHttpd('1.3.42', async ({ prefix, port }) => {
      const start = await cli(['ctl', 'start', '--server-root', prefix, '--json'], {
        timeoutMs: 90_000,
      });
      expect(start.code, start.stderr).toBe(0);
      try {
        // What 1.3 sends on keep-alive for a page it makes as it goes: chunked, a short chunk's size line
        // padded to three characters ("f  ": buff.c's end_chunk).
        const listing = '/icons/small/';
        const keepAlive = `GET ${listing} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\n\r\n`;
        const chunked = await rawAnswer(port, keepAlive, (t) => /\r\n0\s*\r\n\r\n$/.test(t));
        expect(chunked).toMatch(/^HTTP\/1\.1 200 /);
        expect(chunked).toMatch(/\r\nTransfer-Encoding: chunked\r\n/i);
        expect(
          sizeLines(chunked).filter((l) => /^[0-9a-f]+ +$/i.test(l)).length,
          JSON.stringify(sizeLines(chunked)),
        ).toBeGreaterThan(0);
        // Node's parser refuses that line when it reads the body.
        expect(await nodeReadsWhole(`http://127.0.0.1:${port}${listing}`)).toEqual({
          error: 'HPE_INVALID_CHUNK_SIZE',
        });
        // Asked to close (as the probe asks), 1.3 chunks all the same.
        const closing = await rawAnswer(
          port,
          `GET ${listing} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`,
          () => false,
        );
        expect(closing).toMatch(/^HTTP\/1\.1 200 /);
        expect(sizeLines(closing).filter((l) => /^[0-9a-f]+ +$/i.test(l)).length).toBeGreaterThan(
          0,
        );
        // The probe: the status, every time, on the listing and on a missing page.
        const answers: [number | undefined, string | undefined][] = [];
        for (const [pathname, want] of [
          [listing, 200],
          ['/no-such-page', 404],
        ] as const) {
          for (let i = 0; i < 3; i++) {
            const p = await probe(`http://127.0.0.1:${port}${pathname}`);
            answers.push([p.status, p.error]);
            expect([p.status, p.error], pathname).toEqual([want, undefined]);
          }
        }
        expect(answers).toHaveLength(6);
        const status = await cli(['ctl', 'status', '--server-root', prefix, '--json']);
        expect(
          [status.code, status.json?.healthy, status.json?.health?.status],
          status.stderr,
        ).toEqual([0, true, 200]);
      } finally {
        const stop = await cli(['ctl', 'stop', '--server-root', prefix, '--json'], {
          timeoutMs: 60_000,
        });
        expect(stop.code, stop.stderr).toBe(0);
      }
    });
  }, 600_000);

  it('the system 2.4 in a sandbox: 200, 404, and ctl status healthy through the probe', async () => {
    const { sr, port } = await newSandbox(roots);
    const start = await cli(['ctl', 'start', '--server-root', sr, '--json']);
    expect(start.code, start.stderr).toBe(0);
    expect(await probe(`http://127.0.0.1:${port}/`)).toMatchObject({
      status: 200,
      error: undefined,
    });
    expect(await probe(`http://127.0.0.1:${port}/no-such-page`)).toMatchObject({
      status: 404,
      error: undefined,
    });
    expect(await probe(`http://localhost:${port}/`, 2000, { 'X-Probe': 'yes' })).toMatchObject({
      status: 200,
      error: undefined,
    });
    const status = await cli(['ctl', 'status', '--server-root', sr, '--json']);
    expect([status.code, status.json?.healthy, status.json?.health?.status], status.stderr).toEqual(
      [0, true, 200],
    );
  }, 120_000);
});
