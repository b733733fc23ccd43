/**
 * The HTTP client of downloads: undici, loaded at the first request, one
 * proxy-aware agent (http_proxy, https_proxy, no_proxy), the retry, resume
 * and redirect interceptors of one fetch, and its errors in one line naming
 * the URL (and the proxy, when one is set).
 */
import type { Dispatcher } from 'undici';
import { ApxsError } from '../core/errors.js';

export type Undici = typeof import('undici');
let network: Promise<{ undici: Undici; agent: Dispatcher }> | undefined;

/**
 * undici and one proxy-aware agent, loaded at the first request and only
 * then: importing undici takes longer than a whole `ctl status`, which a
 * download of seconds does not notice and a command that downloads nothing
 * must not pay.
 */
export function net(): Promise<{ undici: Undici; agent: Dispatcher }> {
  network ??= import('undici').then((undici) => ({
    undici,
    // proxyTunnel false: an http:// URL goes to an http proxy as a plain
    // absolute-form GET, as curl sends it; https:// still tunnels (CONNECT).
    agent: new undici.EnvHttpProxyAgent({
      proxyTunnel: false,
      headersTimeout: 60_000,
      bodyTimeout: 60_000,
    }),
  }));
  return network;
}

/**
 * How much of a body undici may hold before it pauses its HTTP/1 parser.
 * undici 7 (7.30.2, the last release for Node 20) crashes the process with
 * an uncatchable `assert(!this.paused)` when a server closes the connection
 * while the parser is paused (nodejs/undici#5360, fixed in 8.x only):
 * python3 -m http.server and any HTTP/1.0 mirror close after each file, and
 * writing to disk is slower than loopback, so bench/source.sh crashed at
 * 0.1 MB. With room for the whole file the parser is never paused: httpd's
 * largest tarball is ~10 MB, and only a disk slower than the network
 * fills any of it.
 */
export const BODY_BUFFER = 256 << 20;

/** Network errors worth another request (undici's list, plus timeouts). */
export const RETRY_ERRORS = [
  'ECONNRESET',
  'ECONNREFUSED',
  'ENOTFOUND',
  'ENETDOWN',
  'ENETUNREACH',
  'EHOSTDOWN',
  'EHOSTUNREACH',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
];

/**
 * The dispatcher of one fetch: redirects followed (mirrors redirect), 5xx
 * and network errors retried with backoff, a body cut short resumed from
 * the byte undici got to; `onRequest` sees each request sent.
 *
 * undici resumes with a closed range (bytes=N-END); it is sent open-ended
 * (bytes=N-), the form `curl -C -` and `wget -c` send and every server with
 * Range support answers, some only that one. undici still checks the
 * answer's Content-Range against the file it started.
 */
export function dispatcher(
  n: { undici: Undici; agent: Dispatcher },
  opts: { backoffMs?: number },
  retries: number,
  onRequest: (range: string | undefined) => void,
): Dispatcher {
  // retries 0: the caller retries (downloads do, so that each retry is announced and checked).
  const openEnded: Dispatcher.DispatcherComposeInterceptor = (dispatch) => (o, handler) => {
    let headers = o.headers;
    if (
      headers &&
      !Array.isArray(headers) &&
      typeof (headers as Record<string, unknown>).range === 'string'
    ) {
      headers = {
        ...(headers as Record<string, string>),
        range: (headers as Record<string, string>).range!.replace(/^bytes=(\d+)-\d+$/, 'bytes=$1-'),
      };
    }
    onRequest(
      headers && !Array.isArray(headers)
        ? (headers as Record<string, string | undefined>).range
        : undefined,
    );
    return dispatch({ ...o, headers }, handler);
  };
  const redirect = n.undici.interceptors.redirect({ maxRedirections: 5 });
  if (retries <= 0) return n.agent.compose(openEnded, redirect);
  return n.agent.compose(
    openEnded,
    n.undici.interceptors.retry({
      maxRetries: retries,
      minTimeout: opts.backoffMs ?? 200,
      timeoutFactor: 2,
      maxTimeout: 30_000,
      errorCodes: RETRY_ERRORS,
    }),
    redirect,
  );
}

export function notFound(url: string, why: string): ApxsError {
  return new ApxsError('DOWNLOAD_FAILED', `not found (${why}): ${url}`, {
    hint: 'check the version and the mirror (--mirror or APXS_TS_MIRROR)',
  });
}

/**
 * undici's errors as one line naming the URL: a status that stayed 5xx through the retries, or the
 * network error.
 */
export function wrap(err: unknown, url: string, requests: number): ApxsError {
  if (err instanceof ApxsError) return err;
  const e = err as NodeJS.ErrnoException & { statusCode?: number };
  const after = requests > 1 ? ` (after ${requests} requests)` : '';
  if (e.code === 'UND_ERR_REQ_RETRY' && e.statusCode) {
    return new ApxsError('DOWNLOAD_FAILED', `${url} answered HTTP ${e.statusCode}${after}`, {
      hint: 'the mirror is failing: try again later, or another one (--mirror)',
      cause: err,
    });
  }
  return new ApxsError(
    'DOWNLOAD_FAILED',
    `download of ${url} failed${after}: ${e.code ?? ''} ${e.message}`.replace(/\s+/g, ' ').trim(),
    { cause: err, hint: proxyHint(url) },
  );
}

/**
 * A network error with a proxy configured: the proxy is the first suspect, and the user may not
 * know it is set.
 */
function proxyHint(url: string, env = process.env): string | undefined {
  const https = url.startsWith('https:');
  const [name, value] =
    (
      [
        ['https_proxy', env.https_proxy],
        ['HTTPS_PROXY', env.HTTPS_PROXY],
        ['http_proxy', env.http_proxy],
        ['HTTP_PROXY', env.HTTP_PROXY],
      ] as const
    )
      .filter(([k]) => https || !/https/i.test(k))
      .find(([, v]) => v) ?? [];
  if (!name) return undefined;
  const noProxy = env.no_proxy ?? env.NO_PROXY;
  return (
    `${name} is set (${value}): check that proxy, or add the ` +
    `host to no_proxy${noProxy ? ` (now: ${noProxy})` : ''}`
  );
}
