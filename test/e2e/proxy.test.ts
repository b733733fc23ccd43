/**
 * Downloads honour http_proxy / no_proxy: a loopback mirror, and a loopback
 * proxy that forwards each request and records it. Through the proxy every
 * request of `source download` (listing, checksums, signature, tarball)
 * reaches it as an absolute-form GET; with the mirror in no_proxy, none does.
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

const servers: http.Server[] = [];
const listen = async (server: http.Server) => {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return (server.address() as AddressInfo).port;
};
afterAll(async () => {
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

let mirror: string;
const mirrorGets: string[] = [];
let proxy: string;
const proxied: { method: string; url: string }[] = [];

beforeAll(async () => {
  const tgz = await fs.readFile(path.join(REL, NAME));
  const files: Record<string, Buffer | string> = {
    [NAME]: tgz,
    [`${NAME}.sha512`]: `${createHash('sha512').update(tgz).digest('hex')} *${NAME}\n`,
    [`${NAME}.asc`]: await fs.readFile(path.join(REL, `${NAME}.asc`)),
  };
  const mirrorPort = await listen(
    http.createServer((req, res) => {
      const p = new URL(req.url!, 'http://x').pathname.replace(/^\/dist\/httpd\//, '');
      mirrorGets.push(p);
      if (p === '')
        return void res.writeHead(200, { 'content-type': 'text/html' }).end(
          Object.keys(files)
            .map((f) => `<a href="${f}">${f}</a>`)
            .join('\n'),
        );
      const body = files[p];
      if (body === undefined) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-length': Buffer.byteLength(body) }).end(body);
    }),
  );
  mirror = `http://127.0.0.1:${mirrorPort}/dist/httpd/`;
  // The proxy: an absolute-form request is forwarded as it is; a CONNECT is recorded and refused (nothing here is https).
  const px = http.createServer((req, res) => {
    proxied.push({ method: req.method!, url: req.url! });
    const target = new URL(req.url!);
    const up = http.request(
      {
        host: target.hostname,
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method: req.method,
        headers: req.headers,
        agent: false,
      },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on('error', () => res.writeHead(502).end());
    req.pipe(up);
  });
  px.on('connect', (req, socket) => {
    proxied.push({ method: 'CONNECT', url: req.url! });
    socket.end('HTTP/1.1 403 Forbidden\r\n\r\n');
  });
  proxy = `http://127.0.0.1:${await listen(px)}`;
});

// The machine's own proxy settings must not decide the test (an empty value would still shadow the upper-case one).
for (const k of ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'no_proxy', 'NO_PROXY'])
  delete process.env[k];

async function download(env: Record<string, string>) {
  const cache = await tmpDir();
  const r = await cli(
    [
      'source',
      'download',
      '2.4.68',
      '--mirror',
      mirror,
      '--keys',
      KEYS,
      '--cache-dir',
      cache,
      '--json',
    ],
    { env },
  );
  return { ...r, cache };
}

describe('downloads and proxies', () => {
  it('with http_proxy set, every request goes through the proxy, and the tarball verifies', async () => {
    proxied.length = 0;
    mirrorGets.length = 0;
    const r = await download({ http_proxy: proxy });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.json.signer.userId).toContain('covener');
    expect((await fs.stat(path.join(r.cache, NAME))).size).toBe(
      (await fs.stat(path.join(REL, NAME))).size,
    );
    const urls = proxied.map((p) => `${p.method} ${p.url}`);
    expect(urls).toContain(`GET ${mirror}`);
    expect(urls).toContain(`GET ${mirror}${NAME}.sha512`);
    expect(urls).toContain(`GET ${mirror}${NAME}.asc`);
    expect(urls).toContain(`GET ${mirror}${NAME}`);
    // Whatever reached the mirror came through the proxy.
    expect(proxied.length).toBe(mirrorGets.length);
  });

  it('HTTP_PROXY (upper case) is honoured too', async () => {
    proxied.length = 0;
    const r = await download({ HTTP_PROXY: proxy });
    expect(r.code, r.stdout).toBe(0);
    expect(proxied.map((p) => p.url)).toContain(`${mirror}${NAME}`);
  });

  it('with the mirror in no_proxy (or only https_proxy set) the proxy sees nothing', async () => {
    for (const env of [
      { http_proxy: proxy, no_proxy: '127.0.0.1' },
      { HTTP_PROXY: proxy, NO_PROXY: 'localhost,127.0.0.1' },
      { https_proxy: proxy },
    ]) {
      proxied.length = 0;
      mirrorGets.length = 0;
      const r = await download(env);
      expect(r.code, `${JSON.stringify(env)}: ${r.stdout}`).toBe(0);
      expect(proxied, JSON.stringify(env)).toEqual([]);
      expect(mirrorGets).toContain(NAME);
    }
  });

  it('a proxy that does not answer is a DOWNLOAD_FAILED naming the URL, not a hang', async () => {
    const dead = http.createServer();
    const port = await listen(dead);
    dead.close();
    const r = await download({ http_proxy: `http://127.0.0.1:${port}` });
    expect([r.code, r.json?.error?.code]).toEqual([1, 'DOWNLOAD_FAILED']);
    expect(r.json.error.message).toContain(mirror);
    expect(r.json.error.hint).toContain(`http_proxy is set (http://127.0.0.1:${port})`);
  }, 60_000);
});
