/**
 * Attacks on the health probe (lib/ctl/health.ts on node:http, #19): loopback
 * peers that stall, flood, lie or reset. Every probe ends by its deadline
 * (the test's own timeout catches a hang) with an error and no status, reads
 * at most the header block (a peer streaming a body or headers forever is cut
 * off: the bytes it got out are counted), and a status that is not HTTP's
 * (000) is no answer. `ctl status --url` on each peer, against a running
 * sandbox, exits 1 within its --timeout with a message in words.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe, probeWords } from '../../lib/ctl/health.js';
import { cli, newSandbox } from '../helpers.js';

type Peer = (s: net.Socket, sent: { bytes: number }) => void;

/** Writes `chunk` for as long as the socket takes it, counting what went out. */
const flood = (
  s: net.Socket,
  sent: { bytes: number },
  chunk: string,
  max = Number.POSITIVE_INFINITY,
): void => {
  const pump = (): void => {
    while (!s.destroyed && sent.bytes < max) {
      sent.bytes += chunk.length;
      if (!s.write(chunk)) {
        s.once('drain', pump);
        return;
      }
    }
  };
  pump();
};

const PEERS: [string, Peer][] = [
  ['never sends a header', () => {}],
  ['a status line, then stalls', (s) => s.write('HTTP/1.1 200 OK\r\n')],
  [
    '10 MB of headers',
    (s, sent) => {
      s.write('HTTP/1.1 200 OK\r\n');
      flood(s, sent, `X-A: ${'a'.repeat(1000)}\r\n`, 10_000_000);
    },
  ],
  ['garbage', (s) => s.write('\x00\x01garbage\xff\r\n\r\n')],
  ['a 100 Continue, then never a final status', (s) => s.write('HTTP/1.1 100 Continue\r\n\r\n')],
  [
    '103 Early Hints forever',
    (s, sent) => flood(s, sent, 'HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n'),
  ],
  [
    'a reset mid-headers',
    (s) => {
      s.write('HTTP/1.1 200 OK\r\nX-A: b');
      setTimeout(() => s.resetAndDestroy(), 20);
    },
  ],
  ['status 000', (s) => s.write('HTTP/1.1 000 Zero\r\nContent-Length: 0\r\n\r\n')],
];

const BODIES: [string, Peer][] = [
  [
    'HTTP/1.0 with no length, body forever',
    (s, sent) => {
      s.write('HTTP/1.0 200 OK\r\n\r\n');
      flood(s, sent, 'x'.repeat(65536));
    },
  ],
  [
    'a chunked body forever',
    (s, sent) => {
      s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
      flood(s, sent, `10000\r\n${'x'.repeat(65536)}\r\n`);
    },
  ],
];

const servers: net.Server[] = [];
afterAll(() => {
  for (const s of servers) s.close();
});

async function serve(peer: Peer): Promise<{ url: string; port: number; sent: { bytes: number } }> {
  const sent = { bytes: 0 };
  const server = net.createServer((s) => {
    s.on('error', () => {});
    s.once('data', () => peer(s, sent));
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as net.AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, port, sent };
}

describe('probe against hostile peers', () => {
  it.each(PEERS)(
    '%s: an error, no status, by the deadline',
    async (_name, peer) => {
      const { url, sent } = await serve(peer);
      const p = await probe(url, 1500);
      expect(p.status).toBeUndefined();
      expect(p.error).toBeTruthy();
      expect(sent.bytes).toBeLessThan(10_000_000); // the 10 MB flood was cut off at the header cap
    },
    10_000,
  );

  it.each(BODIES)(
    '%s: the status, the body not read (peer cut off)',
    async (_name, peer) => {
      const { url, sent } = await serve(peer);
      const p = await probe(url, 1500);
      expect(p).toMatchObject({ status: 200, error: undefined });
      await new Promise((r) => setTimeout(r, 300));
      const after = sent.bytes;
      await new Promise((r) => setTimeout(r, 300));
      expect(sent.bytes).toBe(after); // the socket is gone: nothing more goes out
      expect(after).toBeLessThan(64 * 1024 * 1024);
    },
    10_000,
  );

  it('credentials in the URL with a bad %-escape: ERR_INVALID_URL, not a thrown URIError (was INTERNAL "URI malformed")', async () => {
    const p = await probe('http://a:%zz@127.0.0.1:1/', 1000);
    expect({ status: p.status, error: p.error }).toEqual({
      status: undefined,
      error: 'ERR_INVALID_URL',
    });
    expect(probeWords(p)).toBe('an invalid URL (ERR_INVALID_URL)');
  });

  it('the words for what a probe got', () => {
    expect(probeWords({ url: 'u', status: 503, latencyMs: 1, error: undefined })).toBe('503');
    expect(probeWords({ url: 'u', status: undefined, latencyMs: 1, error: 'ETIMEDOUT' })).toMatch(
      /^no answer in time \(ETIMEDOUT\)$/,
    );
    expect(
      probeWords({ url: 'u', status: undefined, latencyMs: 1, error: 'HPE_INVALID_CONSTANT' }),
    ).toMatch(/^something that is not HTTP/);
    expect(
      probeWords({ url: 'u', status: undefined, latencyMs: 1, error: 'HPE_HEADER_OVERFLOW' }),
    ).toMatch(/header block over 64 KiB/);
    expect(
      probeWords({ url: 'u', status: undefined, latencyMs: 1, error: 'TOO_MANY_1XX' }),
    ).toMatch(/^1xx answers without a final one/);
  });
});

describe('ctl status --url on hostile peers, a sandbox running', () => {
  const roots: string[] = [];
  let sr: string;
  beforeAll(async () => {
    ({ sr } = await newSandbox(roots));
    const r = await cli(['ctl', 'start', '--server-root', sr]);
    expect(r.code, r.stderr).toBe(0);
  }, 60_000);
  afterAll(async () => {
    for (const root of roots) await cli(['ctl', 'stop', '--server-root', root]);
  });

  it.each(PEERS)(
    '%s: exit 1 within --timeout 2, one error line in words',
    async (_name, peer) => {
      const { url } = await serve(peer);
      const r = await cli(['ctl', 'status', '--server-root', sr, '--url', url, '--timeout', '2'], {
        timeoutMs: 10_000,
      });
      expect(r.code, r.stderr).toBe(1);
      const line = r.stderr.split('\n').find((l) => l.startsWith('apxs-ts: error:')) ?? '';
      expect(line).toMatch(
        /is running but .* answers (no answer in time|something that is not HTTP|a header block over 64 KiB|a reset connection|1xx answers without a final one)/,
      );
    },
    15_000,
  );
});
