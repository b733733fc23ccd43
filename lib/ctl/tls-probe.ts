/**
 * The TLS side of `ctl start` / `ctl status`: a GET over node:https to each
 * TLS vhost apxs-ts made (on 127.0.0.1, SNI and Host its name), verifying
 * the chain against the local CA only (not the system store: a probe that
 * passes because the machine trusts something else proves nothing), and the
 * expiry of the certificate the server actually sent. A separate file from
 * health.ts (the plain probe): nothing here runs for a root without TLS vhosts.
 */
import { promises as fs } from 'node:fs';
import { readLedger } from '../httpd/ledger.js';
import type { ServerRoot } from '../httpd/server-root.js';

export interface TlsProbe {
  vhost: string;
  url: string;
  /** Handshake verified against the local CA and a status below 500. */
  ok: boolean;
  status?: number;
  /** The TLS or connection error (CERT_HAS_EXPIRED, UNABLE_TO_VERIFY_LEAF_SIGNATURE, ECONNREFUSED, ...). */
  error?: string;
  /** The served certificate's expiry and days left. */
  notAfter?: string;
  daysLeft?: number;
}

function probeOne(vhost: string, port: number, ca: string, timeoutMs: number): Promise<TlsProbe> {
  const url = `https://${vhost}:${port}/`;
  return import('node:https').then((https) => new Promise<TlsProbe>((resolve) => {
    const req = https.request({ host: '127.0.0.1', port, servername: vhost, path: '/', method: 'GET', headers: { host: `${vhost}:${port}` }, ca, timeout: timeoutMs, agent: false }, (res) => {
      const cert = (res.socket as import('node:tls').TLSSocket).getPeerCertificate();
      const notAfter = cert?.valid_to ? new Date(cert.valid_to).toISOString() : undefined;
      res.resume();
      res.on('end', () => undefined);
      const status = res.statusCode ?? 0;
      resolve({ vhost, url, ok: status > 0 && status < 500, status, ...(notAfter ? { notAfter, daysLeft: Math.floor((new Date(notAfter).getTime() - Date.now()) / 86400_000) } : {}) });
      req.destroy();
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })));
    req.on('error', (e: NodeJS.ErrnoException) => resolve({ vhost, url, ok: false, error: e.code ?? e.message }));
    req.end();
  }));
}

/** Probes every TLS vhost of the root, in parallel; [] when it has none (or no local CA to verify against). */
export async function probeTlsVhosts(sr: ServerRoot, caFile: string, timeoutMs = 5000): Promise<TlsProbe[]> {
  const tls = Object.entries((await readLedger(sr)).tls);
  if (tls.length === 0) return [];
  const ca = await fs.readFile(caFile, 'utf8').catch(() => undefined);
  if (ca === undefined) return tls.map(([vhost, r]) => ({ vhost, url: `https://${vhost}:${r.port}/`, ok: false, error: `no local CA at ${caFile} to verify against` }));
  return Promise.all(tls.map(([vhost, r]) => probeOne(vhost, r.port, ca, timeoutMs)));
}

/** The lines ctl prints for the probes: a failed one is a warning (the plain health check decides the exit code). */
export function tlsProbeWarnings(probes: TlsProbe[]): string[] {
  return probes.filter((p) => !p.ok).map((p) => `TLS vhost ${p.url} failed: ${p.error ?? `status ${p.status}`} (verified against the local CA only)`);
}
