/**
 * The TLS probe of ctl start/status against hostile or broken peers on
 * loopback: one that never finishes the handshake, one that answers a byte
 * at a time forever (the socket never idles, so an idle timeout alone never
 * fires), a certificate from another CA, an expired certificate of the local
 * CA, 10 MB of response headers. Each ends within the probe's bound (a hang
 * would be caught by the test's own timeout), with a message that says what
 * is wrong, and the process stays up.
 */
import { promises as fs } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { afterAll, expect, it } from 'vitest';
import { ensureCa } from '../../lib/tls/ca.js';
import { issueLeaf } from '../../lib/tls/leaf.js';
import { probeTlsVhost, tlsProbeWarnings } from '../../lib/ctl/tls-probe.js';

const servers: net.Server[] = [];
const sockets: net.Socket[] = [];
afterAll(() => {
  for (const s of sockets) s.destroy();
  for (const s of servers) s.close();
});

async function listen(server: net.Server): Promise<number> {
  servers.push(server);
  server.on('connection', (s: net.Socket) => sockets.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as net.AddressInfo).port;
}

it('a stalled handshake, a byte every 200 ms forever, another CA, an expired certificate, 10 MB of headers: each bounded, each said', async () => {
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'apxs-ts-tlsprobe-'));
  const { ca } = await ensureCa(path.join(work, 'ca'));
  const { ca: other } = await ensureCa(path.join(work, 'other'));
  const good = await issueLeaf(ca, ['p.test']);
  const foreign = await issueLeaf(other, ['p.test']);
  const expired = await issueLeaf(ca, ['p.test'], new Date(Date.now() - 800 * 86400_000));
  const tlsServer = (leaf: typeof good, onSecure: (s: tls.TLSSocket) => void) =>
    tls.createServer({ cert: leaf.certPem, key: leaf.keyPem }, onSecure);
  const bound = 1500;

  const cases: [string, net.Server, RegExp][] = [
    // Accepts, reads the ClientHello, never answers.
    ['stalled handshake', net.createServer(() => undefined), /ETIMEDOUT/],
    // A valid handshake, then a status line a byte every 200 ms, forever.
    [
      'trickle',
      tlsServer(good, (s) => {
        const text = `HTTP/1.1 200 OK\r\n${'X-Slow: y\r\n'.repeat(1000)}`;
        let i = 0;
        const t = setInterval(
          () => (s.destroyed ? clearInterval(t) : s.write(text[i++ % text.length]!)),
          200,
        );
        s.on('close', () => clearInterval(t));
      }),
      /ETIMEDOUT/,
    ],
    [
      'another CA',
      tlsServer(foreign, (s) => s.end('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n')),
      /UNABLE_TO_VERIFY_LEAF_SIGNATURE/,
    ],
    [
      'expired',
      tlsServer(expired, (s) => s.end('HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n')),
      /CERT_HAS_EXPIRED/,
    ],
    [
      '10 MB of headers',
      tlsServer(good, (s) => {
        s.write('HTTP/1.1 200 OK\r\n');
        const line = `X-Big: ${'a'.repeat(1000)}\r\n`;
        for (let n = 0; n < 10_000 && !s.destroyed; n++) s.write(line);
        s.on('error', () => undefined);
      }),
      /HPE_HEADER_OVERFLOW/,
    ],
  ];
  const results: string[] = [];
  for (const [name, server, want] of cases) {
    const port = await listen(server);
    const t0 = Date.now();
    const p = await probeTlsVhost('p.test', port, ca.certPem, bound);
    const took = Date.now() - t0;
    expect(p.ok, name).toBe(false);
    expect(p.error, name).toMatch(want);
    // The bound holds for the whole probe, not per idle gap: a generous margin, no timing claim beyond it.
    expect(took, `${name} took ${took} ms`).toBeLessThan(bound + 3000);
    const [line] = tlsProbeWarnings([p]);
    expect(line, name).toMatch(new RegExp(`^TLS vhost https://p\\.test:${port}/ failed: .+ \\(`));
    results.push(name);
  }
  expect(results).toHaveLength(5);
  await fs.rm(work, { recursive: true, force: true });
}, 60_000);
