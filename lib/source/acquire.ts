/**
 * From a version to a verified tarball on disk: list the mirror, download
 * (or reuse the cache after verifying it again), check the strongest
 * checksum the release has and the PGP signature against Apache's KEYS.
 * A file that fails a published checksum or signature is deleted if it is
 * in the cache, and only then; a missing checksum or signature is refused
 * (NO_CHECKSUM, NO_SIGNATURE) and deletes nothing, since the file is not
 * proven bad. Skipping verification takes --insecure.
 */
import { cacheDir } from '../core/cache.js';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ApxsError, isErrno } from '../core/errors.js';
import { checkCacheDir, isInside, removeFromCache } from './cache.js';
import { WEAK, hashFileInto, hashers, type Algorithm } from './checksum.js';
import { publishedFor, type Published } from './published.js';
import {
  download,
  fetchText,
  type DownloadProgress,
  type FetchNotice,
  type FetchOptions,
} from './fetch.js';
import { limitsOf, type DownloadLimits } from './limits.js';
import { withLock } from '../core/lock.js';
import { verifySignature, type Signer } from './signature.js';
import { linksOf, pickRelease, releasesFrom, type Release } from './versions.js';

/** KEYS comes from the ASF itself, never from a mirror or a keyserver. */
export const ASF_KEYS_URL = 'https://downloads.apache.org/httpd/KEYS';
export const DEFAULT_MIRRORS = [
  'https://downloads.apache.org/httpd/',
  'https://archive.apache.org/dist/httpd/',
];

export function sourceCacheDir(env = process.env): string {
  return path.join(cacheDir(env), 'sources');
}

/**
 * --mirror, then $APXS_TS_MIRROR, then the ASF download site and archive. A local path becomes a
 * file URL.
 */
export function mirrorsFrom(opt: string | undefined, env = process.env): string[] {
  const m = opt ?? env.APXS_TS_MIRROR;
  if (!m) return DEFAULT_MIRRORS;
  const url = /^(https?|file):/.test(m) ? m : pathToFileURL(path.resolve(m)).href;
  return [url.endsWith('/') ? url : `${url}/`];
}

/** What the text fetches (listing, checksums, signature, KEYS) are given of a run's options. */
export type TextFetch = Pick<FetchOptions, 'limits' | 'onNotice'>;

async function listingNames(mirror: string, opts: TextFetch): Promise<string[]> {
  if (mirror.startsWith('file:')) {
    try {
      return await fs.readdir(new URL(mirror));
    } catch (err) {
      if (isErrno(err, 'ENOENT'))
        throw new ApxsError('DOWNLOAD_FAILED', `not found (no such directory): ${mirror}`);
      throw err;
    }
  }
  return linksOf(await fetchText(mirror, opts));
}

export interface Listing {
  mirror: string;
  releases: Release[];
}

/**
 * Releases on the first mirror that answers (the current site lists only the newest; the archive
 * has all).
 */
export async function listReleases(mirrors: string[], opts: TextFetch = {}): Promise<Listing[]> {
  const out: Listing[] = [];
  let lastError: unknown;
  for (const mirror of mirrors) {
    try {
      out.push({ mirror, releases: releasesFrom(await listingNames(mirror, opts)) });
    } catch (err) {
      lastError = err;
    }
  }
  if (out.length === 0) throw lastError;
  return out;
}

export function findRelease(
  listings: Listing[],
  wanted: string,
): { mirror: string; release: Release } {
  let firstError: unknown;
  for (const l of listings) {
    try {
      return { mirror: l.mirror, release: pickRelease(l.releases, wanted, l.mirror) };
    } catch (err) {
      firstError ??= err;
    }
  }
  throw firstError;
}

export interface Verified {
  file: string;
  url: string;
  checksum: { algorithm: Algorithm; hex: string } | null;
  signer: Signer | null;
  fromCache: boolean;
  warnings: string[];
}

export interface AcquireOptions {
  cacheDir: string;
  keysFile?: string;
  insecure?: boolean;
  onProgress?: (p: DownloadProgress) => void;
  /** Retries and restarts of the download, as they happen. */
  onNotice?: (n: FetchNotice) => void;
  limits?: Partial<DownloadLimits>;
}

async function hashFile(file: string, algorithm: Algorithm): Promise<string> {
  const hs = hashers([algorithm]);
  await hashFileInto(file, hs);
  return hs[algorithm]!.digest('hex');
}

async function keysText(keysFile: string | undefined, opts: TextFetch): Promise<string> {
  if (keysFile) {
    try {
      return await fs.readFile(keysFile, 'utf8');
    } catch (err) {
      throw new ApxsError(
        'NOT_FOUND',
        `cannot read KEYS file ${keysFile}: ${(err as Error).message}`,
      );
    }
  }
  return fetchText(ASF_KEYS_URL, opts);
}

/**
 * Refuses, before any download, a release that publishes no checksum or no signature (unless
 * --insecure).
 */
export function requirePublished(
  published: Published,
  name: string,
  insecure: boolean | undefined,
): void {
  if (insecure) return;
  const where = published.from.includes('://')
    ? published.from.replace(/[^/]*$/, '')
    : published.from;
  if (!published.checksum) {
    throw new ApxsError(
      'NO_CHECKSUM',
      `no checksum (.sha512, .sha256, .sha1, .md5) published for ${name} in ${where}`,
      {
        hint: 'pass --insecure to use it unverified',
        data: { file: name, from: published.from },
      },
    );
  }
  if (published.signature === undefined) {
    throw new ApxsError('NO_SIGNATURE', `no signature (.asc) published for ${name} in ${where}`, {
      hint: 'pass --insecure to use it without a signature check',
      data: { file: name, from: published.from },
    });
  }
}

/**
 * The file failed a check that is published: out of the cache it goes; anywhere else it stays where
 * the user put it.
 */
async function rejected(
  file: string,
  opts: AcquireOptions,
  code: 'CHECKSUM_MISMATCH' | 'BAD_SIGNATURE',
  message: string,
  extra: { hint?: string; data?: Record<string, unknown>; cause?: unknown },
): Promise<never> {
  const deleted = await removeFromCache(file, opts.cacheDir);
  throw new ApxsError(
    code,
    `${message}; ` +
      `${deleted ? 'the file was deleted from the cache' : 'the file was left where it is'}`,
    {
      ...extra,
      data: { ...(extra.data ?? {}), file, deleted },
    },
  );
}

export interface VerifyResult extends Omit<Verified, 'fromCache'> {
  checkedAgainst: string;
}

/**
 * Checks `file` against what the release publishes. Only a file in opts.cacheDir is ever deleted.
 */
export async function verifyAgainst(
  file: string,
  url: string,
  published: Published,
  hashes: Partial<Record<Algorithm, string>>,
  opts: AcquireOptions,
): Promise<VerifyResult> {
  const warnings: string[] = [];
  const name = path.basename(file);
  const { checksum } = published;
  if (checksum) {
    const actual = hashes[checksum.algorithm] ?? (await hashFile(file, checksum.algorithm));
    if (actual !== checksum.hex) {
      const saysWho = published.from.includes('://')
        ? 'the release says'
        : `the .${checksum.algorithm} beside it says`;
      await rejected(
        file,
        opts,
        'CHECKSUM_MISMATCH',
        `${name}: ${checksum.algorithm} is ${actual.slice(0, 16)}…, ` +
          `${saysWho} ${checksum.hex.slice(0, 16)}…`,
        {
          hint: (await isInside(file, opts.cacheDir))
            ? 'download it again; if it fails again, the mirror ' +
              'is serving a bad file: try another (--mirror)'
            : 'the file or its checksum file is damaged: do not use this tarball; get both again',
          data: { algorithm: checksum.algorithm, expected: checksum.hex, actual },
        },
      );
    }
    if (WEAK.includes(checksum.algorithm))
      warnings.push(
        `only a ${checksum.algorithm} checksum is published ` +
          `for ${name}: it is weak, the signature is what counts`,
      );
  }
  requirePublished(published, name, opts.insecure);
  if (!checksum) warnings.push(`no checksum for ${name}: unverified (--insecure)`);
  let signer: Signer | null = null;
  if (published.signature === undefined) {
    warnings.push(`no signature for ${name}: unverified (--insecure)`);
  } else {
    try {
      signer = await verifySignature(
        file,
        published.signature,
        await keysText(opts.keysFile, { limits: opts.limits, onNotice: opts.onNotice }),
      );
    } catch (err) {
      // Only a signature that does not match proves the file bad; an unknown key or an unreadable
      // .asc says nothing about it.
      if (
        err instanceof ApxsError &&
        err.code === 'BAD_SIGNATURE' &&
        err.data?.reason === 'mismatch'
      ) {
        await rejected(file, opts, 'BAD_SIGNATURE', err.message, {
          hint: err.hint,
          data: err.data,
          cause: err,
        });
      }
      throw err;
    }
    if (signer.weak) warnings.push(signer.weak);
  }
  return { file, url, checksum, signer, warnings, checkedAgainst: published.from };
}

export async function acquire(
  mirror: string,
  release: Release,
  opts: AcquireOptions,
): Promise<Verified> {
  await checkCacheDir(opts.cacheDir, { create: true });
  const url = `${mirror}${release.file}`;
  // Load the OpenPGP code while the network works, not after it.
  void import('openpgp').catch(() => undefined);
  const dest = path.join(opts.cacheDir, release.file);
  const published = await publishedFor(url, { limits: opts.limits, onNotice: opts.onNotice });
  // Before the cache is looked at: a copy kept by an --insecure run stays, and nothing is
  // downloaded to be refused.
  requirePublished(published, release.file, opts.insecure);
  // Runs that fetch one file into one cache take turns: they share its .part, and a
  // second run truncating or appending to it while the first renames it made one of
  // them fail on the rename (ENOENT) and could leave bytes of two streams in the file
  // the first one's hashes vouched for. The one that waited finds the file cached.
  const wait = limitsOf(opts.limits).deadlineMs + 60_000;
  return withLock(`${dest}.apxs-ts.lock`, () => acquireLocked(url, dest, published, opts), wait);
}

async function acquireLocked(
  url: string,
  dest: string,
  published: Published,
  opts: AcquireOptions,
): Promise<Verified> {
  const st = await fs.stat(dest).catch(() => undefined);
  if (st && !st.isFile()) {
    throw new ApxsError('BAD_INPUT', `${dest} is in the cache but is not a file`, {
      hint: `remove ${dest}, or pass another --cache-dir`,
      data: { path: dest },
    });
  }
  if (st) {
    // Cached files are verified again: the cache is a convenience, not a trust anchor.
    try {
      return { ...(await verifyAgainst(dest, url, published, {}, opts)), fromCache: true };
    } catch (err) {
      // Proven bad and deleted: fetch it afresh below. Anything else (an unknown key) would fail
      // the same way again.
      if (!(err instanceof ApxsError && err.data?.deleted === true)) throw err;
    }
  }
  const fetchOpts = {
    onProgress: opts.onProgress,
    onNotice: opts.onNotice,
    limits: opts.limits,
    algorithms: published.checksum ? [published.checksum.algorithm] : [],
  };
  const got = await download(url, dest, fetchOpts);
  try {
    return { ...(await verifyAgainst(dest, url, published, got.hashes, opts)), fromCache: false };
  } catch (err) {
    // A resumed download that fails its checksum may be the .part's fault (left by something else,
    // or an earlier mirror's bytes): once, the whole file again from byte 0, said on stderr.
    if (
      !(
        got.resumedFrom > 0 &&
        err instanceof ApxsError &&
        err.code === 'CHECKSUM_MISMATCH' &&
        err.data?.deleted === true
      )
    )
      throw err;
    opts.onNotice?.({
      kind: 'restart',
      url,
      message:
        `${url} failed its checksum after resuming a .part from byte ` +
        `${got.resumedFrom}: downloading the whole file again from byte 0`,
    });
    const again = await download(url, dest, fetchOpts);
    return { ...(await verifyAgainst(dest, url, published, again.hashes, opts)), fromCache: false };
  }
}
