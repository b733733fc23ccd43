/**
 * Downloads over http(s) and file URLs: into NAME.part, renamed when
 * complete; a .part left by an interrupted run is resumed with a Range
 * request from what reached the disk (checked: a 206 must start where the
 * .part ends); network errors, 5xx, stalls and short bodies are retried with
 * backoff here (each retry announced through onNotice), within a size cap, a
 * stall timeout and an overall deadline (limits.ts); http_proxy, https_proxy and no_proxy are
 * honoured (undici's EnvHttpProxyAgent); the hashes are computed while the bytes stream in.
 */
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApxsError, isErrno } from '../core/errors.js';
import { sleep } from '../core/proc.js';
import { cacheFsError } from './cache.js';
import { BODY_BUFFER, RETRY_ERRORS, dispatcher, net, notFound, wrap } from './http-client.js';
import {
  limitsOf,
  pastDeadline,
  stalled,
  TEXT_MAX,
  tooLarge,
  Watchdog,
  type DownloadLimits,
} from './limits.js';
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
  /** Size cap, stall timeout, deadline (defaults in limits.ts). */
  limits?: Partial<DownloadLimits>;
  /** Each retry and each restart from byte 0, as it is decided (commands print them on stderr). */
  onNotice?: (n: FetchNotice) => void;
}

export interface FetchNotice {
  kind: 'retry' | 'restart';
  url: string;
  /** One line, naming the URL and the reason. */
  message: string;
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
  const retries = opts.retries ?? 4;
  const limits = limitsOf(opts.limits);
  const max = Math.min(TEXT_MAX, limits.maxSize);
  // undici's retry interceptor resends these small files; each resend is said, as the tarball's
  // retries are.
  const onRequest = () => {
    if (++requests > 1)
      opts.onNotice?.({
        kind: 'retry',
        url,
        message: `retry ${requests - 1} of ${retries}: ${url} (the request before failed)`,
      });
  };
  const watch = new Watchdog(limits.stallMs, Date.now() + limits.deadlineMs);
  try {
    const res = await get(n, url, dispatcher(n, opts, retries, onRequest), watch, {});
    if (res.statusCode >= 300) {
      await res.body.dump();
      throw new ApxsError('DOWNLOAD_FAILED', `${url} answered HTTP ${res.statusCode}`);
    }
    if (Number(res.headers['content-length'] ?? 0) > max) {
      res.body.destroy();
      throw tooLarge(url, max, `it announces ${String(res.headers['content-length'])} bytes`);
    }
    const chunks: Buffer[] = [];
    let bytes = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      watch.kick();
      bytes += chunk.length;
      if (bytes > max) {
        res.body.destroy();
        throw tooLarge(url, max, `more than ${max} bytes arrived`);
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks).toString('utf8');
  } catch (err) {
    if (watch.why === 'stall') throw stalled(url, limits.stallMs, requests, 0);
    if (watch.why === 'deadline') throw pastDeadline(url, limits.deadlineMs, requests, 0);
    throw wrap(err, url, requests);
  } finally {
    watch.stop();
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

/**
 * Downloads `url` to `dest` (via dest.part), resuming and retrying; returns the hashes of the whole
 * file.
 */
export async function download(
  url: string,
  dest: string,
  opts: FetchOptions = {},
): Promise<FetchResult> {
  try {
    await fs.mkdir(path.dirname(dest), { recursive: true });
  } catch (err) {
    throw cacheFsError(path.dirname(dest), err) ?? err;
  }
  const part = `${dest}.part`;
  const started = Date.now();
  const job: Download = { url, dest, part, started, opts };
  return url.startsWith('file:') ? copyFile(job) : httpDownload(job);
}

/** One download: from `url` through `part` (what reached the disk) to `dest`. */
interface Download {
  url: string;
  dest: string;
  part: string;
  /** Date.now() when it began: the deadline counts from here. */
  started: number;
  opts: FetchOptions;
}

async function copyFile({ url, dest, part, started, opts }: Download): Promise<FetchResult> {
  try {
    const hs = hashers(opts.algorithms);
    const src = fileURLToPath(url);
    const size = await fs.stat(src).then(
      (s) => s.size,
      (err: unknown) => {
        throw isErrno(err, 'ENOENT') ? notFound(url, 'no such file') : err;
      },
    );
    const { maxSize } = limitsOf(opts.limits);
    if (size > maxSize) throw tooLarge(url, maxSize, `it has ${size} bytes`);
    const out = await fs.open(part, 'w');
    let bytes = 0;
    try {
      for await (const chunk of createReadStream(src, { highWaterMark: 1 << 20 })) {
        const b = chunk as Buffer;
        // A file: URL may name a device that never ends (/dev/zero) as well as a file.
        if (bytes + b.length > limitsOf(opts.limits).maxSize) {
          await out.close().catch(() => undefined);
          await fs.rm(part, { force: true });
          throw tooLarge(
            url,
            limitsOf(opts.limits).maxSize,
            `more than ${limitsOf(opts.limits).maxSize} bytes`,
          );
        }
        for (const h of Object.values(hs)) h.update(b);
        await out.write(b);
        bytes += b.length;
        opts.onProgress?.({
          bytes,
          total: size,
          bytesPerSec: bytes / Math.max(0.001, (Date.now() - started) / 1000),
        });
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

/** Why a request failed, when another request may do better; undefined when it may not. */
function retryReason(err: unknown): string | undefined {
  const e = err as { code?: string; statusCode?: number; message?: string };
  if (e.code === 'HTTP_5XX') return `HTTP ${e.statusCode}`;
  if (e.code === 'SHORT_BODY' || e.code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH')
    return e.message ?? 'a body shorter than announced';
  if (e.code !== undefined && RETRY_ERRORS.includes(e.code))
    return `${e.code}${e.message ? ` ${e.message}` : ''}`;
  return undefined;
}

const partSize = (part: string) =>
  fs.stat(part).then(
    (st) => st.size,
    () => 0,
  );

/** Content-Range's first byte ("bytes 100-199/200"), NaN when it is missing or not of that form. */
export function rangeStart(header: string | string[] | undefined): number {
  const m = /^bytes (\d+)-\d+\/(\d+|\*)$/.exec(String(header ?? '').trim());
  return m ? Number(m[1]) : NaN;
}

/**
 * One GET under `watch` (the watchdog is the timeout; undici's own 60 s ones
 * would only be retried inside it). A 404 or 410 is NOT_FOUND: no retry helps.
 */
async function get(
  n: Awaited<ReturnType<typeof net>>,
  url: string,
  send: ReturnType<typeof dispatcher>,
  watch: Watchdog,
  headers: Record<string, string>,
) {
  const res = await n.undici.request(url, {
    dispatcher: send,
    headers: { 'user-agent': 'apxs-ts', ...headers },
    highWaterMark: BODY_BUFFER,
    signal: watch.signal,
    headersTimeout: 0,
    bodyTimeout: 0,
  });
  watch.kick();
  if (res.statusCode === 404 || res.statusCode === 410) {
    await res.body.dump();
    throw notFound(url, `HTTP ${res.statusCode}`);
  }
  return res;
}

/**
 * The download loop. Each request runs under a watchdog (stall timeout and
 * the overall deadline); a network error, a 5xx, a stall or a short body is
 * retried from what reached the disk, each retry announced (onNotice); a
 * 206 that does not start where the .part ends is not appended to it: the
 * .part is discarded and the download starts again from byte 0. Nothing
 * past maxSize is ever written, and a .part that would pass it is removed.
 */
async function httpDownload({ url, dest, part, started, opts }: Download): Promise<FetchResult> {
  const n = await net();
  const retries = opts.retries ?? 5;
  const limits = limitsOf(opts.limits);
  const deadlineAt = started + limits.deadlineMs;
  const notice = (kind: FetchNotice['kind'], message: string) =>
    opts.onNotice?.({ kind, url, message });
  let resumedFrom = -1;
  let requests = 0;
  let failures = 0;
  const send = dispatcher(n, opts, 0, () => requests++);
  for (;;) {
    const hs = hashers(opts.algorithms);
    // The resume point is what reached the disk, not what the last run received.
    let have = await partSize(part);
    if (have > limits.maxSize) {
      await fs.rm(part, { force: true });
      have = 0;
    }
    if (resumedFrom < 0) resumedFrom = have;
    let out: fs.FileHandle | undefined;
    const watch = new Watchdog(limits.stallMs, deadlineAt);
    try {
      const res = await get(n, url, send, watch, have > 0 ? { range: `bytes=${have}-` } : {});
      if (res.statusCode === 416 && have > 0 && failures < retries) {
        // Our .part is already complete (or larger than the file): start over.
        await res.body.dump();
        await fs.rm(part, { force: true });
        failures++;
        notice(
          'restart',
          `${url} answered 416 to a resume from byte ${have}: ` +
            'the .part is discarded, starting again from 0',
        );
        continue;
      }
      if (res.statusCode >= 500) {
        await res.body.dump().catch(() => undefined);
        throw Object.assign(new Error(`HTTP ${res.statusCode}`), {
          code: 'HTTP_5XX',
          statusCode: res.statusCode,
        });
      }
      if (res.statusCode !== 200 && res.statusCode !== 206) {
        await res.body.dump();
        throw new ApxsError('DOWNLOAD_FAILED', `${url} answered HTTP ${res.statusCode}`);
      }
      if (res.statusCode === 206 && rangeStart(res.headers['content-range']) !== have) {
        // Appending it would make a file of two halves that never matches its checksum.
        res.body.destroy();
        await fs.rm(part, { force: true });
        if (++failures > retries) {
          throw new ApxsError(
            'DOWNLOAD_FAILED',
            `${url} answers a resume from byte ${have} with Content-Range ` +
              `${JSON.stringify(res.headers['content-range'] ?? null)}`,
            {
              hint: 'the mirror does not do Range requests right: try another (--mirror)',
              data: { url },
            },
          );
        }
        notice(
          'restart',
          `${url} answered a resume from byte ${have} with ` +
            `Content-Range ${JSON.stringify(res.headers['content-range'] ?? null)}: ` +
            'the .part is discarded, starting again from 0',
        );
        continue;
      }
      if (res.statusCode === 200 && have > 0) {
        notice(
          'restart',
          `${url} ignored the resume from byte ${have} ` +
            '(HTTP 200): downloading the whole file again',
        );
        have = 0; // the server ignored Range: whole file again
      }
      const length = Number(res.headers['content-length'] ?? NaN);
      const total = Number.isFinite(length) ? have + length : undefined;
      if (total !== undefined && total > limits.maxSize) {
        res.body.destroy();
        if (have > 0) await fs.rm(part, { force: true });
        throw tooLarge(url, limits.maxSize, `it announces ${total} bytes`);
      }
      if (have > 0) await hashFileInto(part, hs);
      watch.kick();
      out = await fs.open(part, have > 0 ? 'a' : 'w');
      let bytes = have;
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        watch.kick();
        if (bytes + chunk.length > limits.maxSize) {
          // Not one byte past the cap reaches the disk, and what did is of no use.
          res.body.destroy();
          await out.close();
          out = undefined;
          await fs.rm(part, { force: true });
          throw tooLarge(
            url,
            limits.maxSize,
            `more than ${limits.maxSize} bytes arrived` +
              (total === undefined
                ? ', with no Content-Length'
                : `, where ${total} were announced`),
          );
        }
        for (const h of Object.values(hs)) h.update(chunk);
        await out.write(chunk);
        bytes += chunk.length;
        opts.onProgress?.({
          bytes,
          total,
          bytesPerSec: (bytes - resumedFrom) / Math.max(0.001, (Date.now() - started) / 1000),
        });
      }
      await out.sync();
      await out.close();
      out = undefined;
      if (total !== undefined && bytes !== total)
        throw Object.assign(new Error(`short body: ${bytes} of ${total} bytes`), {
          code: 'SHORT_BODY',
        });
      await fs.rename(part, dest);
      return {
        file: dest,
        bytes,
        hashes: digests(hs),
        resumedFrom: Math.max(0, resumedFrom),
        attempts: requests,
      };
    } catch (err) {
      await out?.close().catch(() => undefined);
      const local = localError(err, [part, dest]);
      if (local) throw local;
      if (err instanceof ApxsError) throw err;
      const onDisk = await partSize(part);
      if (watch.why === 'deadline') throw pastDeadline(url, limits.deadlineMs, requests, onDisk);
      const reason =
        watch.why === 'stall'
          ? `no byte for ${+(limits.stallMs / 1000).toFixed(3)} s`
          : retryReason(err);
      if (reason === undefined) throw wrap(err, url, requests);
      const delay = (opts.backoffMs ?? 200) * 2 ** failures;
      if (failures >= retries || Date.now() + delay >= deadlineAt) {
        if (watch.why === 'stall') throw stalled(url, limits.stallMs, requests, onDisk);
        if (Date.now() + delay >= deadlineAt && failures < retries)
          throw pastDeadline(url, limits.deadlineMs, requests, onDisk);
        throw (err as { code?: string }).code === 'HTTP_5XX'
          ? new ApxsError(
              'DOWNLOAD_FAILED',
              `${url} answered ${reason} (after ${requests} requests)`,
              {
                hint: 'the mirror is failing: try again later, or another one (--mirror)',
                cause: err,
              },
            )
          : wrap(err, url, requests);
      }
      failures++;
      notice(
        'retry',
        `retry ${failures} of ${retries} in ${+(delay / 1000).toFixed(2)} s: ` +
          `${url}: ${reason}${onDisk > 0 ? ` (resuming from byte ${onDisk})` : ''}`,
      );
      await sleep(delay);
    } finally {
      watch.stop();
    }
  }
}
