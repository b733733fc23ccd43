/**
 * Health checks: an HTTP GET (node:http, or node:https for an https URL)
 * with a deadline per try, retried with a short backoff, so a server that is
 * up is seen as soon as it answers and no fixed sleep is ever paid.
 *
 * The status code is all a probe needs: it is taken when the header block
 * has arrived and the request is then destroyed, the body never read. That
 * caps what a probe reads at the header block (MAX_HEAD), and it is why
 * httpd 1.3's chunk-size lines padded with spaces ("f  \r\n" for a short
 * chunk, even when asked to close), which Node's parser rejects
 * (HPE_INVALID_CHUNK_SIZE), never reach it (test/e2e/health-probe.test.ts).
 */
import http from 'node:http';
import { nowMs, sleep } from '../core/proc.js';

export interface Probe {
  url: string;
  status: number | undefined;
  latencyMs: number;
  error: string | undefined;
}

/** The largest header block read before the answer counts as not HTTP. */
const MAX_HEAD = 64 * 1024;

/** The most 1xx answers taken before the final one (httpd sends one 100 Continue at most). */
const MAX_1XX = 8;

/** An HTTP token (a header name), and a header value: nothing that could split the request. */
const validHeader = ([k, v]: [string, string]) =>
  /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k) && !/[\r\n\0]/.test(v);

/**
 * Every probe says what it is: httpd logs it (access_log), and a user who wants it out of the log
 * can match it (README's ctl section: SetEnvIf User-Agent and CustomLog env=!).
 */
export const PROBE_AGENT = 'apxs-ts-health-probe';

export async function probe(
  url: string,
  timeoutMs = 2000,
  headers: Record<string, string> = {},
): Promise<Probe> {
  const t0 = nowMs();
  const done = (status: number | undefined, error: string | undefined): Probe => ({
    url,
    status,
    latencyMs: nowMs() - t0,
    error,
  });
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return done(undefined, 'ERR_INVALID_URL');
  }
  if (!Object.entries(headers).every(validHeader)) return done(undefined, 'ERR_INVALID_HEADER');
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    return done(undefined, `unsupported protocol ${u.protocol}`);
  // node:https (and TLS with it) is loaded only for an https URL.
  const client = u.protocol === 'https:' ? await import('node:https') : http;
  // Credentials in the URL (--url http://user:pass@host/) go as Basic auth; a bad %-escape in them
  // is a bad URL.
  let auth = {};
  try {
    if (u.username) {
      const userPass = `${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`;
      auth = { Authorization: `Basic ${Buffer.from(userPass).toString('base64')}` };
    }
  } catch {
    return done(undefined, 'ERR_INVALID_URL');
  }
  return new Promise((resolve) => {
    const req = client.get(
      {
        host: u.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: u.port || undefined,
        path: `${u.pathname}${u.search}`,
        // No keep-alive and no agent: the server may restart under us.
        headers: {
          Host: u.host,
          Connection: 'close',
          'User-Agent': PROBE_AGENT,
          ...auth,
          ...headers,
        },
        agent: false,
        maxHeaderSize: MAX_HEAD,
        // Local servers may use self-signed certificates (an option only node:https reads).
        rejectUnauthorized: false,
      } as http.RequestOptions,
      (res) => {
        clearTimeout(timer);
        // node:http takes any three digits; 000 or 099 is no HTTP server's answer, and no health.
        const status = res.statusCode ?? 0;
        resolve(
          status >= 100 && status <= 599
            ? done(status, undefined)
            : done(undefined, 'HPE_INVALID_STATUS'),
        );
        req.destroy(); // the body is not read
      },
    );
    // Each 1xx is a header block of its own that maxHeaderSize does not sum: a peer
    // sending them without end would be read until the deadline. httpd sends one at most.
    let informational = 0;
    req.on('information', () => {
      if (++informational > MAX_1XX)
        req.destroy(Object.assign(new Error('1xx without end'), { code: 'TOO_MANY_1XX' }));
    });
    // A deadline for the whole try (connect, request, header block), not an idle timeout.
    const timer = setTimeout(
      () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })),
      timeoutMs,
    );
    req.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      // after an answer: ignored (a promise settles once)
      resolve(done(undefined, e.code ?? e.message));
    });
  });
}

/**
 * What a probe got, in words for a message: the status, or what went wrong (its code in
 * parentheses).
 */
export function probeWords(p: Probe): string {
  if (p.status !== undefined) return String(p.status);
  const code = p.error ?? 'nothing';
  if (code === 'ERR_INVALID_URL') return `an invalid URL (${code})`;
  if (code === 'ETIMEDOUT') return `no answer in time (${code})`;
  if (code === 'HPE_HEADER_OVERFLOW') return `a header block over 64 KiB (${code})`;
  if (code.startsWith('HPE_')) return `something that is not HTTP (${code})`;
  if (code === 'TOO_MANY_1XX') return `1xx answers without a final one (${code})`;
  if (code === 'ECONNRESET') return `a reset connection (${code})`;
  if (code === 'ECONNREFUSED') return `a refused connection (${code})`;
  return code;
}

export interface WaitOptions {
  deadline: number;
  /** Stops waiting early when this says the server is gone. */
  stillAlive?: () => boolean;
  perTryMs?: number;
}

/** Polls until the URL answers below 500; returns the last probe either way. */
export async function waitHealthy(
  url: string,
  opts: WaitOptions,
): Promise<{ healthy: boolean; last: Probe; died: boolean }> {
  let delay = 2;
  let last: Probe = { url, status: undefined, latencyMs: 0, error: 'not tried' };
  while (nowMs() < opts.deadline) {
    last = await probe(url, Math.min(opts.perTryMs ?? 1000, Math.max(50, opts.deadline - nowMs())));
    if (last.status !== undefined && last.status < 500) return { healthy: true, last, died: false };
    if (opts.stillAlive && !opts.stillAlive()) return { healthy: false, last, died: true };
    await sleep(delay);
    delay = Math.min(delay * 2, 100);
  }
  return { healthy: false, last, died: false };
}
