/**
 * A mirror that closes the connection after each file, as python3 -m
 * http.server (HTTP/1.0) does: the download must finish, not crash on
 * undici 7's paused-parser assertion (nodejs/undici#5360) when the close
 * arrives while the body is still being written to disk. The server here
 * writes each file whole and closes at once; a consumer slowed down (a
 * slow disk) makes the close come before the body is read, every time
 * (bench/source.sh hit it by chance).
 */
import { promises as fs } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { download } from '../../lib/source/fetch.js';
import { SHARED_MIRROR, cli, tmpDir } from '../helpers.js';

const REL = path.join(SHARED_MIRROR, 'httpd');
const servers: net.Server[] = [];
afterAll(async () => {
  for (const s of servers) await new Promise((r) => s.close(r));
});

async function closingMirror(): Promise<string> {
  const names = await fs.readdir(REL);
  const server = net.createServer((sock) => {
    sock.once('data', async (b: Buffer) => {
      const p = decodeURIComponent(/^GET (\S+)/.exec(b.toString('latin1'))?.[1] ?? '/').replace(
        /^\//,
        '',
      );
      const body =
        p === ''
          ? Buffer.from(names.map((n) => `<a href="${n}">${n}</a>`).join('\n'))
          : await fs.readFile(path.join(REL, path.basename(p))).catch(() => undefined);
      if (!body) return void sock.end('HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n');
      sock.write(`HTTP/1.0 200 OK\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`);
      sock.end(body);
    });
    sock.on('error', () => undefined);
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
}

it('a body read slower than it arrives (a slow disk) is downloaded whole from a mirror that closes after it', async () => {
  const url = await closingMirror();
  const dir = await tmpDir();
  const r = await download(`${url}httpd-2.4.68.tar.gz`, path.join(dir, 'httpd-2.4.68.tar.gz'), {
    algorithms: ['sha512'],
    onProgress: () => {
      const until = performance.now() + 1;
      while (performance.now() < until); // 1 ms per chunk: the network is faster than this "disk"
    },
  });
  const want = await fs.readFile(path.join(REL, 'httpd-2.4.68.tar.gz'));
  expect(r.bytes).toBe(want.length);
  expect(r.hashes.sha512).toBe(
    (await fs.readFile(path.join(REL, 'httpd-2.4.68.tar.gz.sha512'), 'utf8')).split(/\s/)[0],
  );
}, 60_000);

it('source download from an HTTP/1.0 mirror that closes after each file verifies, several times over', async () => {
  const url = await closingMirror();
  for (let i = 0; i < 3; i++) {
    const cache = await tmpDir();
    const r = await cli([
      'source',
      'download',
      '2.4.68',
      '--mirror',
      url,
      '--keys',
      path.join(REL, 'KEYS'),
      '--cache-dir',
      cache,
      '--json',
    ]);
    expect(r.code, `run ${i}: ${r.stdout}${r.stderr.slice(-2000)}`).toBe(0);
    expect(r.json.checksum.algorithm).toBe('sha512');
    expect((await fs.stat(path.join(cache, 'httpd-2.4.68.tar.gz'))).size).toBe(
      (await fs.stat(path.join(REL, 'httpd-2.4.68.tar.gz'))).size,
    );
  }
}, 120_000);
