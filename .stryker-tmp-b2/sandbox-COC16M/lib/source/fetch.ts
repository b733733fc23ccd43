/**
 * Downloads over http(s) and file URLs: into NAME.part, renamed when
 * complete; a .part left by an interrupted run is resumed with a Range
 * request from what reached the disk; network errors and 5xx are retried
 * with backoff, and a connection cut mid-body is resumed with Range, by
 * undici's retry handler; http_proxy, https_proxy and no_proxy are honoured
 * (undici's EnvHttpProxyAgent); the hashes are computed while the bytes
 * stream in.
 */
// @ts-nocheck

import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApxsError, isErrno } from '../core/errors.js';
import { sleep } from '../core/proc.js';
import { cacheFsError } from './cache.js';
import { BODY_BUFFER, dispatcher, net, notFound, wrap } from './http-client.js';
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
  /** Requests sent for the file (retries and resumes included). */
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
  const n = await net();
  let requests = 0;
  try {
    const res = await n.undici.request(url, { dispatcher: dispatcher(n, opts, opts.retries ?? 4, () => requests++), headers: { 'user-agent': 'apxs-ts' }, highWaterMark: BODY_BUFFER });
    if (res.statusCode === 404 || res.statusCode === 410) {
      await res.body.dump();
      throw notFound(url, `HTTP ${res.statusCode}`);
    }
    if (res.statusCode >= 300) {
      await res.body.dump();
      throw new ApxsError('DOWNLOAD_FAILED', `${url} answered HTTP ${res.statusCode}`);
    }
    return await res.body.text();
  } catch (err) {
    throw wrap(err, url, requests);
  }
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

/**
 * undici's answer when the file changed under a resume, or the server
 * ignored Range on it, and a body shorter than announced: the bytes so far
 * cannot be continued by undici, so the download starts again from what is
 * on the disk (from 0 if the server ignores Range altogether).
 */
function startAgain(err: unknown): boolean {
  const e = err as { code?: string; statusCode?: number };
  if (e.code === 'UND_ERR_REQ_RETRY') return !(e.statusCode !== undefined && e.statusCode >= 500);
  return e.code === 'SHORT_BODY' || e.code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH';
}

async function httpDownload(url: string, dest: string, part: string, started: number, opts: FetchOptions): Promise<FetchResult> {
  const n = await net();
  const retries = opts.retries ?? 5;
  let resumedFrom = -1;
  let requests = 0;
  for (let pass = 1; ; pass++) {
    const hs = hashers(opts.algorithms);
    // The resume point is what reached the disk, not what the last run received.
    let have = await fs.stat(part).then((st) => st.size, () => 0);
    if (resumedFrom < 0) resumedFrom = have;
    let out: fs.FileHandle | undefined;
    try {
      const res = await n.undici.request(url, {
        dispatcher: dispatcher(n, opts, retries, () => requests++),
        headers: { 'user-agent': 'apxs-ts', ...(have > 0 ? { range: `bytes=${have}-` } : {}) },
        highWaterMark: BODY_BUFFER,
      });
      if (res.statusCode === 404 || res.statusCode === 410) {
        await res.body.dump();
        throw notFound(url, `HTTP ${res.statusCode}`);
      }
      if (res.statusCode === 416 && pass <= retries) {
        // Our .part is already complete (or larger than the file): start over.
        await res.body.dump();
        await fs.rm(part, { force: true });
        continue;
      }
      if (res.statusCode !== 200 && res.statusCode !== 206) {
        await res.body.dump();
        throw new ApxsError('DOWNLOAD_FAILED', `${url} answered HTTP ${res.statusCode}`);
      }
      if (res.statusCode === 200 && have > 0) have = 0; // the server ignored Range: whole file again
      const length = Number(res.headers['content-length'] ?? NaN);
      const total = Number.isFinite(length) ? have + length : undefined;
      if (have > 0) await hashFileInto(part, hs);
      out = await fs.open(part, have > 0 ? 'a' : 'w');
      let bytes = have;
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        for (const h of Object.values(hs)) h.update(chunk);
        await out.write(chunk);
        bytes += chunk.length;
        opts.onProgress?.({ bytes, total, bytesPerSec: (bytes - resumedFrom) / Math.max(0.001, (Date.now() - started) / 1000) });
      }
      await out.sync();
      await out.close();
      out = undefined;
      if (total !== undefined && bytes !== total) throw Object.assign(new Error(`short body: ${bytes} of ${total} bytes`), { code: 'SHORT_BODY' });
      await fs.rename(part, dest);
      return { file: dest, bytes, hashes: digests(hs), resumedFrom: Math.max(0, resumedFrom), attempts: requests };
    } catch (err) {
      await out?.close().catch(() => undefined);
      const local = localError(err, [part, dest]);
      if (local) throw local;
      if (!(err instanceof ApxsError) && startAgain(err) && pass <= retries) {
        await sleep((opts.backoffMs ?? 200) * 2 ** (pass - 1));
        continue;
      }
      throw wrap(err, url, requests);
    }
  }
}
