/**
 * The request at the end of a dev cycle: the module's URL, with its status,
 * latency and the first lines of the body, which is what a developer looks
 * at after a save.
 */
import http from 'node:http';
import https from 'node:https';
import { nowMs } from '../core/proc.js';

export interface PageResult {
  url: string;
  status: number | undefined;
  latencyMs: number;
  /** The first lines of the body, as sent. */
  body: string[];
  error: string | undefined;
}

const MAX_BODY = 64 * 1024;

export function fetchPage(
  url: string,
  opts: { timeoutMs?: number; lines?: number } = {},
): Promise<PageResult> {
  const t0 = nowMs();
  const keep = opts.lines ?? 5;
  return new Promise((resolve) => {
    let done = false;
    const finish = (status: number | undefined, text: string, error: string | undefined) => {
      if (done) return;
      done = true;
      resolve({
        url,
        status,
        latencyMs: nowMs() - t0,
        body: text
          .split('\n')
          .slice(0, keep)
          .map((l) => l.replace(/\r$/, ''))
          .filter((l, i, a) => l || i < a.length - 1),
        error,
      });
    };
    const mod = url.startsWith('https:') ? https : http;
    // No keep-alive: the next cycle restarts the server under this connection. Lenient parsing: 1.3
    // pads chunk sizes.
    const req = mod.get(
      url,
      {
        headers: { connection: 'close' },
        agent: false,
        rejectUnauthorized: false,
        timeout: opts.timeoutMs ?? 5000,
        insecureHTTPParser: true,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          if (size < MAX_BODY) chunks.push(c);
          size += c.length;
        });
        res.on('end', () =>
          finish(res.statusCode, Buffer.concat(chunks).toString('utf8'), undefined),
        );
        res.on('error', (e: NodeJS.ErrnoException) =>
          finish(res.statusCode, Buffer.concat(chunks).toString('utf8'), e.code ?? e.message),
        );
      },
    );
    req.on('timeout', () =>
      req.destroy(Object.assign(new Error('timeout'), { code: 'ETIMEDOUT' })),
    );
    req.on('error', (e: NodeJS.ErrnoException) => finish(undefined, '', e.code ?? e.message));
  });
}

/**
 * Readable text of the first lines: tags dropped, entities of the templates decoded, blank lines
 * skipped.
 */
export function pageText(body: string[], n = 3): string[] {
  return body
    .map((l) =>
      l
        .replace(/<[^>]*>/g, ' ')
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&quot;/g, '"')
        .replace(/&amp;/g, '&')
        .replace(/\s+/g, ' ')
        .trim(),
    )
    .filter(Boolean)
    .slice(0, n);
}
