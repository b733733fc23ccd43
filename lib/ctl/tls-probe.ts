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
  /**
   * The TLS or connection error (CERT_HAS_EXPIRED, UNABLE_TO_VERIFY_LEAF_SIGNATURE, ECONNREFUSED,
   * ...).
   */
  error?: string;
  /** The served certificate's expiry and days left. */
  notAfter?: string;
  daysLeft?: number;
}

/**
 * One probe, bounded as a whole by `timeoutMs`: the socket's idle timeout
 * alone never fires for a peer that sends a byte now and then (a stalled
 * server, a slowloris in reverse), so a timer ends the request whatever the
 * peer does. Headers above Node's limit (16 KB) end it as HPE_HEADER_OVERFLOW.
 */
export function probeTlsVhost(
  vhost: string,
  port: number,
  ca: string,
  timeoutMs: number,
): Promise<TlsProbe> {
  const url = `https://${vhost}:${port}/`;
  return import('node:https').then(
    (https) =>
      new Promise<TlsProbe>((resolve) => {
        let done = false;
        const finish = (p: TlsProbe) => {
          if (done) return;
          done = true;
          clearTimeout(deadline);
          resolve(p);
        };
        const req = https.request(
          {
            host: '127.0.0.1',
            port,
            servername: vhost,
            path: '/',
            method: 'GET',
            headers: { host: `${vhost}:${port}` },
            ca,
            timeout: timeoutMs,
            agent: false,
          },
          (res) => {
            const cert = (res.socket as import('node:tls').TLSSocket).getPeerCertificate();
            const notAfter = cert?.valid_to ? new Date(cert.valid_to).toISOString() : undefined;
            res.resume();
            res.on('error', () => undefined);
            const status = res.statusCode ?? 0;
            finish({
              vhost,
              url,
              ok: status > 0 && status < 500,
              status,
              ...(notAfter
                ? {
                    notAfter,
                    daysLeft: Math.floor((new Date(notAfter).getTime() - Date.now()) / 86400_000),
                  }
                : {}),
            });
            req.destroy();
          },
        );
        const timedOut = () =>
          req.destroy(
            Object.assign(new Error(`no complete answer within ${timeoutMs} ms`), {
              code: 'ETIMEDOUT',
            }),
          );
        const deadline = setTimeout(timedOut, timeoutMs);
        req.on('timeout', timedOut);
        req.on('error', (e: NodeJS.ErrnoException) =>
          finish({ vhost, url, ok: false, error: e.code ?? e.message }),
        );
        req.end();
      }),
  );
}

/** What a probe's error code means, for the warning line. */
const MEANING: Record<string, string> = {
  ETIMEDOUT: 'no complete answer in time (a handshake or response that never finished)',
  ECONNREFUSED: 'nothing listens there',
  ECONNRESET: 'the connection was reset',
  CERT_HAS_EXPIRED: 'the certificate it served has expired: apxs-ts tls renew',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    'the certificate it served is not signed by the local CA: ' +
    'apxs-ts tls renew, or another server answers on that port',
  DEPTH_ZERO_SELF_SIGNED_CERT: "the certificate it served is self-signed, not the local CA's",
  ERR_TLS_CERT_ALTNAME_INVALID: 'the certificate it served is not for this name',
  HPE_HEADER_OVERFLOW: 'response headers larger than 16 KB',
  EPROTO: 'it does not speak TLS there',
};

/**
 * Probes every TLS vhost of the root, in parallel; [] when it has none (or no local CA to verify
 * against).
 */
export async function probeTlsVhosts(
  sr: ServerRoot,
  caFile: string,
  timeoutMs = 5000,
): Promise<TlsProbe[]> {
  const tls = Object.entries((await readLedger(sr)).tls);
  if (tls.length === 0) return [];
  const ca = await fs.readFile(caFile, 'utf8').catch(() => undefined);
  if (ca === undefined)
    return tls.map(([vhost, r]) => ({
      vhost,
      url: `https://${vhost}:${r.port}/`,
      ok: false,
      error: `no local CA at ${caFile} to verify against`,
    }));
  return Promise.all(tls.map(([vhost, r]) => probeTlsVhost(vhost, r.port, ca, timeoutMs)));
}

/**
 * The lines ctl prints for the probes: a failed one is a warning (the plain health check decides
 * the exit code).
 */
export function tlsProbeWarnings(probes: TlsProbe[]): string[] {
  return probes
    .filter((p) => !p.ok)
    .map((p) => {
      const meaning = p.error && MEANING[p.error] ? ` (${MEANING[p.error]})` : '';
      const why = p.error ? `${p.error}${meaning}` : `status ${p.status}`;
      return `TLS vhost ${p.url} failed: ${why} (verified against the local CA only)`;
    });
}
