/**
 * Downloads over http(s) and file URLs: into NAME.part, renamed when
 * complete; a .part left by an interrupted run is resumed with a Range
 * request; network errors and 5xx are retried with backoff; the hashes are
 * computed while the bytes stream in. undici is loaded only here: its
 * import cost does not matter next to a 10 MB download.
 */
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApxsError, isErrno } from '../errors.js';
import { sleep } from '../proc.js';
import { hashers, type Algorithm } from './checksum.js';

export interface Progress {
  bytes: number;
  total: number | undefined;
  bytesPerSec: number;
}

export interface FetchOptions {
  onProgress?: (p: Progress) => void;
  retries?: number;
  /** First retry delay; doubles each time. */
  backoffMs?: number;
}

export interface FetchResult {
  file: string;
  bytes: number;
  hashes: Record<Algorithm, string>;
  resumedFrom: number;
  attempts: number;
}

/** Fetches a small text resource (listing, checksum, signature, KEYS). */
export async function fetchText(url: string, opts: FetchOptions = {}): Promise<string> {
  if (url.startsWith('file:')) {
    try {
      return await fs.readFile(fileURLToPath(url), 'utf8');
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw notFound(url, 'no such file');
      throw err;
    }
  }
  const { request } = await import('undici');
  const tries = (opts.retries ?? 4) + 1;
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await request(url, { method: 'GET', headersTimeout: 30_000, bodyTimeout: 30_000, dispatcher: await dispatcher() });
      if (res.statusCode === 404 || res.statusCode === 410) {
        await res.body.dump();
        throw notFound(url, `HTTP ${res.statusCode}`);
      }
      if (res.statusCode >= 500 && attempt < tries) {
        await res.body.dump();
        await sleep((opts.backoffMs ?? 200) * 2 ** (attempt - 1));
        continue;
      }
      if (res.statusCode >= 300) {
        await res.body.dump();
        throw new ApxsError('DOWNLOAD_FAILED', `${url} answered HTTP ${res.statusCode}`);
      }
      return await res.body.text();
    } catch (err) {
      if (err instanceof ApxsError || attempt >= tries) throw wrap(err, url);
      await sleep((opts.backoffMs ?? 200) * 2 ** (attempt - 1));
    }
  }
}

let shared: import('undici').Dispatcher | undefined;
/** An agent that follows redirects (mirrors redirect to their nearest host). */
async function dispatcher(): Promise<import('undici').Dispatcher> {
  if (!shared) {
    const { Agent, interceptors } = await import('undici');
    shared = new Agent().compose(interceptors.redirect({ maxRedirections: 5 }));
  }
  return shared;
}

function notFound(url: string, why: string): ApxsError {
  return new ApxsError('DOWNLOAD_FAILED', `not found (${why}): ${url}`, { hint: 'check the version and the mirror (--mirror or APXS_TS_MIRROR)' });
}

function wrap(err: unknown, url: string): ApxsError {
  if (err instanceof ApxsError) return err;
  const e = err as NodeJS.ErrnoException;
  return new ApxsError('DOWNLOAD_FAILED', `download of ${url} failed: ${e.code ?? ''} ${e.message}`.replace(/\s+/g, ' ').trim(), { cause: err });
}

async function hashPrefix(file: string, hs: ReturnType<typeof hashers>): Promise<number> {
  let n = 0;
  for await (const chunk of createReadStream(file)) {
    for (const h of Object.values(hs)) h.update(chunk as Buffer);
    n += (chunk as Buffer).length;
  }
  return n;
}

function digests(hs: ReturnType<typeof hashers>): Record<Algorithm, string> {
  return Object.fromEntries(Object.entries(hs).map(([k, h]) => [k, h.digest('hex')])) as Record<Algorithm, string>;
}

/** Downloads `url` to `dest` (via dest.part), resuming and retrying; returns the hashes of the whole file. */
export async function download(url: string, dest: string, opts: FetchOptions = {}): Promise<FetchResult> {
  await fs.mkdir(path.dirname(dest), { recursive: true });
  const part = `${dest}.part`;
  const started = Date.now();
  if (url.startsWith('file:')) {
    const hs = hashers();
    const src = fileURLToPath(url);
    const size = await fs.stat(src).then((s) => s.size, (err: unknown) => {
      throw isErrno(err, 'ENOENT') ? notFound(url, 'no such file') : err;
    });
    const out = await fs.open(part, 'w');
    let bytes = 0;
    try {
      for await (const chunk of createReadStream(src, { highWaterMark: 1 << 20 })) {
        const b = chunk as Buffer;
        for (const h of Object.values(hs)) h.update(b);
        await out.write(b);
        bytes += b.length;
        opts.onProgress?.({ bytes, total: size, bytesPerSec: bytes / Math.max(0.001, (Date.now() - started) / 1000) });
      }
    } finally {
      await out.close();
    }
    await fs.rename(part, dest);
    return { file: dest, bytes, hashes: digests(hs), resumedFrom: 0, attempts: 1 };
  }

  const { request } = await import('undici');
  const tries = (opts.retries ?? 5) + 1;
  let resumedFrom = -1;
  for (let attempt = 1; ; attempt++) {
    const hs = hashers();
    let have = await fs.stat(part).then((s) => s.size, () => 0);
    if (resumedFrom < 0) resumedFrom = have;
    try {
      const res = await request(url, {
        method: 'GET', headers: have > 0 ? { range: `bytes=${have}-` } : {},
        headersTimeout: 30_000, bodyTimeout: 30_000, dispatcher: await dispatcher(),
      });
      if (res.statusCode === 404 || res.statusCode === 410) {
        await res.body.dump();
        throw notFound(url, `HTTP ${res.statusCode}`);
      }
      if (res.statusCode === 416) {
        // Our .part is already complete (or larger than the file): start over.
        await res.body.dump();
        await fs.rm(part, { force: true });
        continue;
      }
      if (res.statusCode >= 500) {
        await res.body.dump();
        throw Object.assign(new Error(`HTTP ${res.statusCode}`), { code: `HTTP_${res.statusCode}` });
      }
      if (res.statusCode !== 200 && res.statusCode !== 206) {
        await res.body.dump();
        throw new ApxsError('DOWNLOAD_FAILED', `${url} answered HTTP ${res.statusCode}`);
      }
      if (res.statusCode === 200 && have > 0) have = 0; // the server ignored Range: whole file again
      const length = Number(res.headers['content-length'] ?? NaN);
      const total = Number.isFinite(length) ? have + length : undefined;
      if (have > 0) await hashPrefix(part, hs);
      const out = await fs.open(part, have > 0 ? 'a' : 'w');
      let bytes = have;
      try {
        for await (const chunk of res.body) {
          const b = chunk as Buffer;
          for (const h of Object.values(hs)) h.update(b);
          await out.write(b);
          bytes += b.length;
          opts.onProgress?.({ bytes, total, bytesPerSec: (bytes - resumedFrom) / Math.max(0.001, (Date.now() - started) / 1000) });
        }
        await out.sync();
      } finally {
        await out.close();
      }
      if (total !== undefined && bytes !== total) throw Object.assign(new Error(`short body: ${bytes} of ${total} bytes`), { code: 'SHORT_BODY' });
      await fs.rename(part, dest);
      return { file: dest, bytes, hashes: digests(hs), resumedFrom: Math.max(0, resumedFrom), attempts: attempt };
    } catch (err) {
      if (err instanceof ApxsError || attempt >= tries) throw wrap(err, url);
      await sleep((opts.backoffMs ?? 200) * 2 ** (attempt - 1));
    }
  }
}

/** Closes kept-alive connections so the process can exit as soon as its work is done. */
export async function closeConnections(): Promise<void> {
  const d = shared;
  shared = undefined;
  await d?.close();
}
