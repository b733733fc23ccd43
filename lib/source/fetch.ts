/**
 * Downloads over http(s) and file URLs: into NAME.part, renamed when
 * complete; a .part left by an interrupted run is resumed with a Range
 * request; network errors and 5xx are retried with backoff; the hashes are
 * computed while the bytes stream in.
 */
import { createReadStream, promises as fs } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApxsError, isErrno } from '../core/errors.js';
import { sleep } from '../core/proc.js';
import { cacheFsError } from './cache.js';
import { hashFileInto, hashers, type Algorithm } from './checksum.js';

export interface DownloadProgress {
  bytes: number;
  total: number | undefined;
  bytesPerSec: number;
}

export interface FetchOptions {
  onProgress?: (p: DownloadProgress) => void;
  retries?: number;
  /** First retry delay; doubles each time. */
  backoffMs?: number;
  /** Hashes to compute while streaming (default: all). */
  algorithms?: Algorithm[];
}

export interface FetchResult {
  file: string;
  bytes: number;
  hashes: Partial<Record<Algorithm, string>>;
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
  const tries = (opts.retries ?? 4) + 1;
  for (let attempt = 1; ; attempt++) {
    try {
      const res = await httpGet(url, {});
      if (res.status === 404 || res.status === 410) {
        res.body.resume();
        throw notFound(url, `HTTP ${res.status}`);
      }
      if (res.status >= 500 && attempt < tries) {
        res.body.resume();
        await sleep((opts.backoffMs ?? 200) * 2 ** (attempt - 1));
        continue;
      }
      if (res.status >= 300) {
        res.body.resume();
        throw new ApxsError('DOWNLOAD_FAILED', `${url} answered HTTP ${res.status}`);
      }
      const chunks: Buffer[] = [];
      for await (const c of res.body) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString('utf8');
    } catch (err) {
      if (err instanceof ApxsError || attempt >= tries) throw wrap(err, url);
      await sleep((opts.backoffMs ?? 200) * 2 ** (attempt - 1));
    }
  }
}

/**
 * A GET over node:http(s), following redirects. Plain node:http rather than
 * fetch or undici: both cost 35-70 ms to load on Node 20, a third of what
 * curl needs for the whole 10 MB download over loopback.
 */
export function httpGet(url: string, headers: Record<string, string>, redirects = 5): Promise<{ status: number; body: http.IncomingMessage }> {
  return new Promise((resolve, reject) => {
    const mod = url.startsWith('https:') ? https : http;
    const req = mod.get(url, { headers: { 'user-agent': 'apxs-ts', ...headers }, timeout: 60_000 }, (res) => {
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (status >= 300 && status < 400 && location && redirects > 0) {
        res.resume();
        httpGet(new URL(location, url).href, headers, redirects - 1).then(resolve, reject);
        return;
      }
      resolve({ status, body: res });
    });
    req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
  });
}

function notFound(url: string, why: string): ApxsError {
  return new ApxsError('DOWNLOAD_FAILED', `not found (${why}): ${url}`, { hint: 'check the version and the mirror (--mirror or APXS_TS_MIRROR)' });
}

function wrap(err: unknown, url: string): ApxsError {
  if (err instanceof ApxsError) return err;
  const e = err as NodeJS.ErrnoException;
  return new ApxsError('DOWNLOAD_FAILED', `download of ${url} failed: ${e.code ?? ''} ${e.message}`.replace(/\s+/g, ' ').trim(), { cause: err });
}

/**
 * An error writing our own .part or tarball: the disk is the problem and no
 * retry can fix it, so it is reported at once, naming the path. Errors on
 * anything else (the network, a file: mirror's source) are not ours to map.
 */
function localError(err: unknown, ours: string[]): ApxsError | undefined {
  if (!isErrno(err)) return undefined;
  const e = err as NodeJS.ErrnoException & { dest?: string };
  const p = [e.dest, e.path].find((x) => x !== undefined && ours.includes(x));
  return p === undefined ? undefined : cacheFsError(p, err);
}

function digests(hs: ReturnType<typeof hashers>): Partial<Record<Algorithm, string>> {
  return Object.fromEntries(Object.entries(hs).map(([k, h]) => [k, h.digest('hex')]));
}

/** Downloads `url` to `dest` (via dest.part), resuming and retrying; returns the hashes of the whole file. */
export async function download(url: string, dest: string, opts: FetchOptions = {}): Promise<FetchResult> {
  try {
    await fs.mkdir(path.dirname(dest), { recursive: true });
  } catch (err) {
    throw cacheFsError(path.dirname(dest), err) ?? err;
  }
  const part = `${dest}.part`;
  const started = Date.now();
  if (url.startsWith('file:')) return copyFile(url, dest, part, started, opts);
  return httpDownload(url, dest, part, started, opts);
}

async function copyFile(url: string, dest: string, part: string, started: number, opts: FetchOptions): Promise<FetchResult> {
  try {
    const hs = hashers(opts.algorithms);
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
  } catch (err) {
    throw localError(err, [part, dest]) ?? err;
  }
}

async function httpDownload(url: string, dest: string, part: string, started: number, opts: FetchOptions): Promise<FetchResult> {
  const tries = (opts.retries ?? 5) + 1;
  let resumedFrom = -1;
  for (let attempt = 1; ; attempt++) {
    const hs = hashers(opts.algorithms);
    let have = await fs.stat(part).then((st) => st.size, () => 0);
    if (resumedFrom < 0) resumedFrom = have;
    try {
      const res = await httpGet(url, have > 0 ? { range: `bytes=${have}-` } : {});
      if (res.status === 404 || res.status === 410) {
        res.body.resume();
        throw notFound(url, `HTTP ${res.status}`);
      }
      if (res.status === 416) {
        // Our .part is already complete (or larger than the file): start over.
        res.body.resume();
        await fs.rm(part, { force: true });
        continue;
      }
      if (res.status >= 500) {
        res.body.resume();
        throw Object.assign(new Error(`HTTP ${res.status}`), { code: `HTTP_${res.status}` });
      }
      if (res.status !== 200 && res.status !== 206) {
        res.body.resume();
        throw new ApxsError('DOWNLOAD_FAILED', `${url} answered HTTP ${res.status}`);
      }
      if (res.status === 200 && have > 0) have = 0; // the server ignored Range: whole file again
      const length = Number(res.body.headers['content-length'] ?? NaN);
      const total = Number.isFinite(length) ? have + length : undefined;
      if (have > 0) await hashFileInto(part, hs);
      const out = await fs.open(part, have > 0 ? 'a' : 'w');
      let bytes = have;
      try {
        for await (const chunk of res.body as AsyncIterable<Buffer>) {
          for (const h of Object.values(hs)) h.update(chunk);
          await out.write(chunk);
          bytes += chunk.length;
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
      const local = localError(err, [part, dest]);
      if (local) throw local;
      if (err instanceof ApxsError || attempt >= tries) throw wrap(err, url);
      await sleep((opts.backoffMs ?? 200) * 2 ** (attempt - 1));
    }
  }
}

