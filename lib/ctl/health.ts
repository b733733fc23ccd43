/**
 * Health checks: an HTTP GET with a per-try timeout, retried with a short
 * backoff, so a server that is up is seen within milliseconds and no fixed
 * sleep is ever paid. Built on node:http rather than undici: importing
 * undici costs ~70 ms on Node 20 here, most of ctl's whole 100 ms budget.
 */
import http from 'node:http';
import https from 'node:https';
import { sleep } from '../core/proc.js';

export interface Probe {
  url: string;
  status: number | undefined;
  latencyMs: number;
  error: string | undefined;
}

export function probe(url: string, timeoutMs = 2000, headers: Record<string, string> = {}): Promise<Probe> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    let done = false;
    const finish = (status: number | undefined, error: string | undefined) => {
      if (done) return;
      done = true;
      resolve({ url, status, latencyMs: performance.now() - t0, error });
    };
    const mod = url.startsWith('https:') ? https : http;
    // No keep-alive (the server may restart under us); local servers may use self-signed TLS.
    // httpd 1.3 pads chunk sizes with spaces ("12 \r\n"), which Node's strict
    // parser rejects (HPE_INVALID_CHUNK_SIZE): a health probe of one's own
    // server parses leniently.
    const req = mod.get(url, { headers: { connection: 'close', ...headers }, agent: false, rejectUnauthorized: false, timeout: timeoutMs, insecureHTTPParser: true }, (res) => {
      res.resume();
      res.on('end', () => finish(res.statusCode, undefined));
      res.on('error', (e: NodeJS.ErrnoException) => finish(res.statusCode, e.code ?? e.message));
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => finish(undefined, e.code ?? e.message));
  });
}

export interface WaitOptions {
  deadline: number;
  /** Stops waiting early when this says the server is gone. */
  stillAlive?: () => Promise<boolean>;
  perTryMs?: number;
}

/** Polls until the URL answers below 500; returns the last probe either way. */
export async function waitHealthy(url: string, opts: WaitOptions): Promise<{ healthy: boolean; last: Probe; died: boolean }> {
  let delay = 2;
  let last: Probe = { url, status: undefined, latencyMs: 0, error: 'not tried' };
  while (performance.now() < opts.deadline) {
    last = await probe(url, Math.min(opts.perTryMs ?? 1000, Math.max(50, opts.deadline - performance.now())));
    if (last.status !== undefined && last.status < 500) return { healthy: true, last, died: false };
    if (opts.stillAlive && !(await opts.stillAlive())) return { healthy: false, last, died: true };
    await sleep(delay);
    delay = Math.min(delay * 2, 100);
  }
  return { healthy: false, last, died: false };
}
