/**
 * Health checks: an HTTP GET with a per-try timeout, retried with a short
 * backoff, so a server that is up is seen within milliseconds and no fixed
 * sleep is ever paid.
 */
import { Agent, request } from 'undici';
import { sleep } from './proc.js';

export interface Probe {
  url: string;
  status: number | undefined;
  latencyMs: number;
  error: string | undefined;
}

// Local servers only: no keep-alive (the server may restart under us), self-signed TLS allowed.
const agent = new Agent({ keepAliveTimeout: 1, pipelining: 0, connect: { rejectUnauthorized: false } });

export async function probe(url: string, timeoutMs = 2000, headers: Record<string, string> = {}): Promise<Probe> {
  const t0 = performance.now();
  try {
    const res = await request(url, {
      method: 'GET', dispatcher: agent, headers,
      headersTimeout: timeoutMs, bodyTimeout: timeoutMs, signal: AbortSignal.timeout(timeoutMs),
    });
    await res.body.dump();
    return { url, status: res.statusCode, latencyMs: performance.now() - t0, error: undefined };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { url, status: undefined, latencyMs: performance.now() - t0, error: e.code ?? e.message };
  }
}

export interface WaitOptions {
  deadline: number;
  /** Stops waiting early when this says the server is gone. */
  stillAlive?: () => Promise<boolean>;
  perTryMs?: number;
}

/** Polls until the URL answers below 500; returns the last probe either way. */
export async function waitHealthy(url: string, opts: WaitOptions): Promise<{ healthy: boolean; last: Probe; died: boolean }> {
  let delay = 5;
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

export async function closeHealthAgent(): Promise<void> {
  await agent.close();
}
