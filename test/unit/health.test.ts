/** The health probe on answers real httpds give. */
import net from 'node:net';
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
afterAll(() => closers.forEach((c) => c()));

describe('probe', () => {
  it('reads httpd 1.3\'s chunked answer, whose chunk sizes are padded with spaces', async () => {
    const s = await rawServer('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/html\r\n\r\n5  \r\nhello\r\n0\r\n\r\n');
    closers.push(s.close);
    const p = await probe(s.url);
    expect(p.error).toBeUndefined();
    expect(p.status).toBe(200);
  });
});
