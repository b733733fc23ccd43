/** The health probe on answers real httpds give. */
import { readFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { probe } from '../../lib/ctl/health.js';

/** A loopback server that writes `raw` as its whole answer. */
function rawServer(raw: string): Promise<{ url: string; close: () => void }> {
  return new Promise((resolve) => {
    const server = net.createServer((s) => s.once('data', () => s.end(raw)));
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      resolve({ url: `http://127.0.0.1:${port}/`, close: () => server.close() });
    });
  });
}

const closers: (() => void)[] = [];
afterAll(() => {
  for (const c of closers) c();
});

describe('probe', () => {
  it("reads httpd 1.3's chunked answer, whose chunk sizes are padded with spaces", async () => {
    const s = await rawServer(
      'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/html\r\n\r\n5  \r\nhello\r\n0\r\n\r\n',
    );
    closers.push(s.close);
    const p = await probe(s.url);
    expect(p.error).toBeUndefined();
    expect(p.status).toBe(200);
  });

  // The probe reads the status line off a socket of its own: each kind of answer, and what it says.
  it.each([
    [
      'a 404 with a body',
      'HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found',
      404,
      undefined,
    ],
    ['a 503', 'HTTP/1.0 503 Service Unavailable\r\n\r\n', 503, undefined],
    // An answer cut off inside its header block is no answer (node:http's parser; the hand-written probe before #19 took its status).
    ['a status line, then the server closes', 'HTTP/1.1 200 OK\r\n', undefined, 'ECONNRESET'],
    [
      'something that is not HTTP',
      'SSH-2.0-OpenSSH_9.6\r\n\r\n',
      undefined,
      'HPE_INVALID_CONSTANT',
    ],
    ['nothing at all', '', undefined, 'ECONNRESET'],
  ])('%s', async (_name, raw, status, error) => {
    const s = await rawServer(raw);
    closers.push(s.close);
    const p = await probe(s.url);
    expect({ status: p.status, error: p.error }).toEqual({ status, error });
  });

  it('sends the path, the Host and extra headers, and asks the server to close', async () => {
    const seen = await new Promise<string>((resolve) => {
      const server = net.createServer((sock) =>
        sock.once('data', (d) => {
          resolve(d.toString('latin1'));
          sock.end('HTTP/1.1 204 No Content\r\n\r\n');
        }),
      );
      server.listen(0, '127.0.0.1', () => {
        closers.push(() => server.close());
        void probe(
          `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/server-status?auto`,
          2000,
          { 'X-Probe': 'yes' },
        );
      });
    });
    expect(seen).toMatch(/^GET \/server-status\?auto HTTP\/1\.1\r\n/);
    expect(seen).toMatch(/\r\nHost: 127\.0\.0\.1:\d+\r\n/);
    expect(seen).toMatch(/\r\nConnection: close\r\n/);
    expect(seen).toMatch(/\r\nX-Probe: yes\r\n\r\n$/);
  });

  it('sends credentials given in the URL as Basic auth, as node:http did', async () => {
    const seen = await new Promise<string>((resolve) => {
      const server = net.createServer((sock) =>
        sock.once('data', (d) => {
          resolve(d.toString('latin1'));
          sock.end('HTTP/1.1 200 OK\r\n\r\n');
        }),
      );
      server.listen(0, '127.0.0.1', () => {
        closers.push(() => server.close());
        void probe(
          `http://admin:s%40cret@127.0.0.1:${(server.address() as net.AddressInfo).port}/`,
        );
      });
    });
    expect(seen).toContain(
      `\r\nAuthorization: Basic ${Buffer.from('admin:s@cret').toString('base64')}\r\n`,
    );
  });

  it('refuses a header that would split the request, and times out on a server that never answers', async () => {
    expect((await probe('http://127.0.0.1:9/', 2000, { 'X-A': 'b\r\nX-Injected: 1' })).error).toBe(
      'ERR_INVALID_HEADER',
    );
    expect((await probe('https://127.0.0.1:9/', 2000, { 'X A': 'b' })).error).toBe(
      'ERR_INVALID_HEADER',
    );
    const silent = net.createServer(() => {});
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    closers.push(() => silent.close());
    const p = await probe(`http://127.0.0.1:${(silent.address() as net.AddressInfo).port}/`, 200);
    expect(p).toMatchObject({ status: undefined, error: 'ETIMEDOUT' });
  });

  it('reads no more than the header block: a header block over 64 KiB is refused, a body that never ends is not read', async () => {
    const big = await rawServer(`HTTP/1.1 200 OK\r\nX-Big: ${'x'.repeat(70 * 1024)}\r\n\r\n`);
    closers.push(big.close);
    expect((await probe(big.url)).error).toBe('HPE_HEADER_OVERFLOW');
    let writes = 0;
    const closed = new Promise<number>((resolve) => {
      const server = net.createServer((sock) =>
        sock.once('data', () => {
          sock.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n');
          const more = setInterval(() => {
            writes++;
            sock.write('x'.repeat(1024));
          }, 5);
          sock.on('error', () => undefined);
          sock.on('close', () => {
            clearInterval(more);
            resolve(writes);
          });
        }),
      );
      server.listen(0, '127.0.0.1', () => {
        closers.push(() => server.close());
        void probe(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}/`).then((p) =>
          expect(p.status).toBe(200),
        );
      });
    });
    // The probe hung up once the header block was in, long before the 2 s deadline of the try.
    expect(await closed).toBeLessThan(100);
  });

  it('the timeout is a deadline for the whole try: a server dripping its header block byte by byte still times out', async () => {
    const server = net.createServer((sock) =>
      sock.once('data', () => {
        // A header line that never ends, a byte every 20 ms: never idle, never done.
        const head = 'HTTP/1.1 200 OK\r\nX-Slow: ';
        let i = 0;
        const drip = setInterval(() => sock.write(i < head.length ? head[i++]! : 'y'), 20);
        sock.on('error', () => undefined);
        sock.on('close', () => clearInterval(drip));
      }),
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(() => server.close());
    const p = await probe(`http://127.0.0.1:${(server.address() as net.AddressInfo).port}/`, 300);
    expect({ status: p.status, error: p.error }).toEqual({ status: undefined, error: 'ETIMEDOUT' });
  });

  it("https (node:https, loaded only then): a local server's self-signed certificate is accepted", async () => {
    const dir = path.join(
      path.dirname(fileURLToPath(import.meta.url)),
      '..',
      '..',
      'fixtures',
      'tls',
    );
    const server = https.createServer(
      {
        key: readFileSync(path.join(dir, 'key.pem')),
        cert: readFileSync(path.join(dir, 'cert.pem')),
      },
      (_req, res) => {
        res.statusCode = 418;
        res.end('teapot');
      },
    );
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(() => server.close());
    const p = await probe(`https://127.0.0.1:${(server.address() as net.AddressInfo).port}/`);
    expect({ status: p.status, error: p.error }).toEqual({ status: 418, error: undefined });
  });

  it('says ECONNREFUSED when nothing listens', async () => {
    const free = net.createServer();
    await new Promise<void>((r) => free.listen(0, '127.0.0.1', r));
    const port = (free.address() as net.AddressInfo).port;
    await new Promise<void>((r) => free.close(() => r()));
    expect((await probe(`http://127.0.0.1:${port}/`)).error).toBe('ECONNREFUSED');
  });
});
