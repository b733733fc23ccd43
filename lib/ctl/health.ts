/**
 * Health checks: an HTTP GET with a per-try timeout, retried with a short
 * backoff, so a server that is up is seen within milliseconds and no fixed
 * sleep is ever paid.
 *
 * A plain-HTTP probe is a request written on a node:net socket and the
 * answer's status line read back: loading node:http and making its first
 * request cost ~8 ms of the ~35 ms `ctl status` spent beyond Node's own
 * start (bench/startup.sh), for a status code. httpd is asked with
 * `Connection: close`, the status is taken once the header block has
 * arrived, and the body is left unread (so 1.3's space-padded chunk sizes,
 * which Node's strict parser rejects, do not matter). https URLs go through
 * node:https, loaded only for them. undici is not used: its import is ~70 ms.
 */
import net from 'node:net';
import { nowMs, sleep } from '../core/proc.js';

export interface Probe {
  url: string;
  status: number | undefined;
  latencyMs: number;
  error: string | undefined;
}

/** The largest header block read before the answer counts as not HTTP. */
const MAX_HEAD = 64 * 1024;

export function probe(url: string, timeoutMs = 2000, headers: Record<string, string> = {}): Promise<Probe> {
  const t0 = nowMs();
  return new Promise((resolve) => {
    let done = false;
    const finish = (status: number | undefined, error: string | undefined) => {
      if (done) return;
      done = true;
      resolve({ url, status, latencyMs: nowMs() - t0, error });
    };
    let u: URL;
    try {
      u = new URL(url);
    } catch {
      finish(undefined, 'ERR_INVALID_URL');
      return;
    }
    const extra = Object.entries(headers);
    // A header name is an HTTP token; a value holds no line break: nothing can split the request.
    if (extra.some(([k, v]) => !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(k) || /[\r\n\0]/.test(v))) {
      finish(undefined, 'ERR_INVALID_HEADER');
      return;
    }
    if (u.protocol === 'https:') {
      probeTls(u, timeoutMs, headers).then(({ status, error }) => finish(status, error), (e: NodeJS.ErrnoException) => finish(undefined, e.code ?? e.message));
      return;
    }
    if (u.protocol !== 'http:') {
      finish(undefined, `unsupported protocol ${u.protocol}`);
      return;
    }
    // No keep-alive: the server may restart under us.
    // Credentials in the URL (--url http://user:pass@host/) go as Basic auth, as node:http sent them.
    const auth = u.username ? [`Authorization: Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`] : [];
    const request = [
      `GET ${u.pathname}${u.search} HTTP/1.1`, `Host: ${u.host}`, 'Connection: close', ...auth,
      ...extra.map(([k, v]) => `${k}: ${v}`), '', '',
    ].join('\r\n');
    const socket = net.connect({ host: u.hostname.replace(/^\[(.*)\]$/, '$1'), port: Number(u.port || 80) });
    const timer = setTimeout(() => {
      socket.destroy();
      finish(undefined, 'ETIMEDOUT');
    }, timeoutMs);
    let head = '';
    const end = (status: number | undefined, error: string | undefined) => {
      clearTimeout(timer);
      finish(status, error);
      // The rest of the answer is drained, not read: the server closes after it.
      socket.resume();
      socket.unref();
    };
    socket.setNoDelay(true);
    // Queued until the connection is made: written in the same turn as the connect.
    socket.write(request, 'latin1');
    socket.on('data', (chunk: Buffer) => {
      if (done) return;
      head += chunk.toString('latin1');
      const blank = head.indexOf('\r\n\r\n');
      if (blank >= 0) end(...statusOf(head.slice(0, blank)));
      else if (head.length > MAX_HEAD) end(undefined, 'HPE_HEADER_OVERFLOW');
    });
    // Closed before a whole header block: what arrived decides.
    socket.on('end', () => {
      const [status, error] = head ? statusOf(head) : [undefined, 'ECONNRESET'];
      end(status, error);
    });
    socket.on('error', (e: NodeJS.ErrnoException) => end(undefined, e.code ?? e.message));
  });
}

/** The status of an answer's head ("HTTP/1.1 200 OK\r\n…"), or the error when it is not HTTP. */
function statusOf(head: string): [number | undefined, string | undefined] {
  const m = /^HTTP\/\d\.\d (\d{3})(?:[ \r]|$)/.exec(head);
  return m ? [Number(m[1]), undefined] : [undefined, 'HPE_INVALID_CONSTANT'];
}

/** https: node:https, loaded only here; local servers may use self-signed certificates. */
async function probeTls(u: URL, timeoutMs: number, headers: Record<string, string>): Promise<{ status: number | undefined; error: string | undefined }> {
  const https = await import('node:https');
  return new Promise((resolve) => {
    const req = https.get(u, { headers: { connection: 'close', ...headers }, agent: false, rejectUnauthorized: false, timeout: timeoutMs }, (res) => {
      resolve({ status: res.statusCode, error: undefined });
      res.resume();
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ status: undefined, error: e.code ?? e.message }));
  });
}

export interface WaitOptions {
  deadline: number;
  /** Stops waiting early when this says the server is gone. */
  stillAlive?: () => boolean;
  perTryMs?: number;
}

/** Polls until the URL answers below 500; returns the last probe either way. */
export async function waitHealthy(url: string, opts: WaitOptions): Promise<{ healthy: boolean; last: Probe; died: boolean }> {
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
