/**
 * One request of a case over loopback, with node:http (no connection reuse:
 * each case is its own connection, as a curl is). A connection httpd's
 * child dropped (it crashed) is an answer too: `error` says what happened.
 * What a module sends is bounded: the body is read up to `maxBodyBytes`
 * (then the connection is closed), and the whole exchange up to
 * `timeoutMs` (a body dripping a byte at a time never trips an idle
 * timeout); node's own header limit (16 KiB) bounds the headers.
 */
import http from 'node:http';
import type { CaseRequest } from './case-file.js';

export interface HttpResult {
  status: number | undefined;
  /** Lower-cased names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: string;
  /**
   * Set when no complete response came: ECONNRESET, socket hang up, a timeout, a body past the cap.
   */
  error: string | undefined;
  ms: number;
}

export const DEFAULT_TIMEOUT_MS = 30_000;
export const MAX_BODY_BYTES = 8 * 1024 * 1024;

const mib = (n: number) => (n % (1024 * 1024) === 0 ? `${n / 1024 / 1024} MiB` : `${n} bytes`);

export function sendRequest(
  port: number,
  req: CaseRequest,
  opts: { timeoutMs?: number; maxBodyBytes?: number; signal?: AbortSignal } = {},
): Promise<HttpResult> {
  const t0 = Date.now();
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const maxBody = opts.maxBodyBytes ?? MAX_BODY_BYTES;
  return new Promise((resolve) => {
    let done = false;
    let deadline: NodeJS.Timeout | undefined;
    const finish = (r: Omit<HttpResult, 'ms'>) => {
      if (!done) resolve({ ...r, ms: Date.now() - t0 });
      done = true;
      clearTimeout(deadline);
    };
    const headers: Record<string, string> = { ...req.headers };
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'host'))
      headers.Host = req.host ?? `localhost:${port}`;
    if (req.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(req.body));
    let r: http.ClientRequest;
    /** What was read so far, for an answer cut short by the cap or the deadline. */
    let partial: () => Omit<HttpResult, 'ms' | 'error'> = () => ({
      status: undefined,
      headers: {},
      body: '',
    });
    try {
      r = http.request(
        {
          host: '127.0.0.1',
          port,
          method: req.method,
          path: req.path,
          headers,
          agent: false,
          signal: opts.signal,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          const out = () => {
            const h: Record<string, string> = {};
            for (const [k, v] of Object.entries(res.headers))
              if (v !== undefined) h[k] = Array.isArray(v) ? v.join(', ') : v;
            return {
              status: res.statusCode,
              headers: h,
              body: Buffer.concat(chunks).toString('utf8'),
            };
          };
          partial = out;
          res.on('data', (c: Buffer) => {
            if (done) return;
            if (size + c.length > maxBody) {
              chunks.push(c.subarray(0, maxBody - size));
              finish({
                ...out(),
                error:
                  `the body passed ${mib(maxBody)}: read no ` +
                  `further (the first ${mib(maxBody)} kept)`,
              });
              r.destroy();
              return;
            }
            size += c.length;
            chunks.push(c);
          });
          res.on('end', () => finish({ ...out(), error: undefined }));
          res.on('error', (e) =>
            finish({ ...out(), error: `the response broke off: ${e.message}` }),
          );
          res.on('aborted', () =>
            finish({ ...out(), error: 'the response broke off (connection closed)' }),
          );
        },
      );
    } catch (e) {
      // node refuses what it cannot send (a character no header may hold): an answer with an error,
      // not a throw out of the run.
      finish({
        status: undefined,
        headers: {},
        body: '',
        error: `no request sent: ${(e as Error).message}`,
      });
      return;
    }
    const secs = `${Math.round(timeoutMs / 100) / 10} s`;
    // The whole exchange, not only silence: a module dripping a byte a second never goes idle.
    deadline = setTimeout(() => {
      const p = partial();
      finish({
        ...p,
        error:
          p.status === undefined
            ? `no answer within ${secs}`
            : `the response did not end within ${secs} ` +
              `(${Buffer.byteLength(p.body)} body bytes read)`,
      });
      r.destroy();
    }, timeoutMs);
    r.on('error', (e: NodeJS.ErrnoException) =>
      finish({
        status: undefined,
        headers: {},
        body: '',
        error: `no response: ${e.code ? `${e.code} ` : ''}${e.message}`.trim(),
      }),
    );
    r.end(req.body);
  });
}
