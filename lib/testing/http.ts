/**
 * One request of a case over loopback, with node:http (no connection reuse:
 * each case is its own connection, as a curl is). A connection httpd's
 * child dropped (it crashed) is an answer too: `error` says what happened.
 */
import http from 'node:http';
import type { CaseRequest } from './case-file.js';

export interface HttpResult {
  status: number | undefined;
  /** Lower-cased names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: string;
  /** Set when no complete response came: ECONNRESET, socket hang up, a timeout. */
  error: string | undefined;
  ms: number;
}

export function sendRequest(port: number, req: CaseRequest, opts: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<HttpResult> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    let done = false;
    const finish = (r: Omit<HttpResult, 'ms'>) => {
      if (!done) resolve({ ...r, ms: Date.now() - t0 });
      done = true;
    };
    const headers: Record<string, string> = { ...req.headers };
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'host')) headers.Host = req.host ?? `localhost:${port}`;
    if (req.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(req.body));
    let r: http.ClientRequest;
    try {
      r = http.request({ host: '127.0.0.1', port, method: req.method, path: req.path, headers, agent: false, signal: opts.signal }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      const out = () => {
        const h: Record<string, string> = {};
        for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h[k] = Array.isArray(v) ? v.join(', ') : v;
        return { status: res.statusCode, headers: h, body: Buffer.concat(chunks).toString('utf8') };
      };
      res.on('end', () => finish({ ...out(), error: undefined }));
      res.on('error', (e) => finish({ ...out(), error: `the response broke off: ${e.message}` }));
      res.on('aborted', () => finish({ ...out(), error: 'the response broke off (connection closed)' }));
    });
    } catch (e) {
      // node refuses what it cannot send (a character no header may hold): an answer with an error, not a throw out of the run.
      finish({ status: undefined, headers: {}, body: '', error: `no request sent: ${(e as Error).message}` });
      return;
    }
    r.setTimeout(opts.timeoutMs ?? 30_000, () => r.destroy(new Error(`no answer within ${Math.round((opts.timeoutMs ?? 30_000) / 1000)} s`)));
    r.on('error', (e: NodeJS.ErrnoException) => finish({ status: undefined, headers: {}, body: '', error: `no response: ${e.code ? `${e.code} ` : ''}${e.message}`.trim() }));
    r.end(req.body);
  });
}
