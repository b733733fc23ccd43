/**
 * From a version to a verified tarball on disk: list the mirror, download
 * (or reuse the cache after verifying it again), check the strongest
 * checksum the release has and the PGP signature against Apache's KEYS.
 * A mismatch deletes the file. Skipping verification takes --insecure.
 */
import { cacheDir, exists } from '../core/fs.js';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ApxsError, isErrno } from '../core/errors.js';
import { ALGORITHMS, WEAK, hashFileInto, hashers, parseChecksum, type Algorithm } from './checksum.js';
import { download, fetchText, type DownloadProgress } from './fetch.js';
import { verifySignature, type Signer } from './signature.js';
import { linksOf, pickRelease, releasesFrom, type Release } from './versions.js';

/** KEYS comes from the ASF itself, never from a mirror or a keyserver. */
export const ASF_KEYS_URL = 'https://downloads.apache.org/httpd/KEYS';
export const DEFAULT_MIRRORS = ['https://downloads.apache.org/httpd/', 'https://archive.apache.org/dist/httpd/'];

export function sourceCacheDir(env = process.env): string {
  return path.join(cacheDir(env), 'sources');
}

/** --mirror, then $APXS_TS_MIRROR, then the ASF download site and archive. A local path becomes a file URL. */
export function mirrorsFrom(opt: string | undefined, env = process.env): string[] {
  const m = opt ?? env.APXS_TS_MIRROR;
  if (!m) return DEFAULT_MIRRORS;
  const url = /^(https?|file):/.test(m) ? m : pathToFileURL(path.resolve(m)).href;
  return [url.endsWith('/') ? url : `${url}/`];
}

async function listingNames(mirror: string): Promise<string[]> {
  if (mirror.startsWith('file:')) {
    try {
      return await fs.readdir(new URL(mirror));
    } catch (err) {
      if (isErrno(err, 'ENOENT')) throw new ApxsError('DOWNLOAD_FAILED', `not found (no such directory): ${mirror}`);
      throw err;
    }
  }
  return linksOf(await fetchText(mirror));
}

export interface Listing {
  mirror: string;
  releases: Release[];
}

/** Releases on the first mirror that answers (the current site lists only the newest; the archive has all). */
export async function listReleases(mirrors: string[]): Promise<Listing[]> {
  const out: Listing[] = [];
  let lastError: unknown;
  for (const mirror of mirrors) {
    try {
      out.push({ mirror, releases: releasesFrom(await listingNames(mirror)) });
    } catch (err) {
      lastError = err;
    }
  }
  if (out.length === 0) throw lastError;
  return out;
}

export function findRelease(listings: Listing[], wanted: string): { mirror: string; release: Release } {
  let firstError: unknown;
  for (const l of listings) {
    try {
      return { mirror: l.mirror, release: pickRelease(l.releases, wanted) };
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
}

async function hashFile(file: string, algorithm: Algorithm): Promise<string> {
  const hs = hashers([algorithm]);
  await hashFileInto(file, hs);
  return hs[algorithm]!.digest('hex');
}

async function keysText(keysFile: string | undefined): Promise<string> {
  if (keysFile) {
    try {
      return await fs.readFile(keysFile, 'utf8');
    } catch (err) {
      throw new ApxsError('NOT_FOUND', `cannot read KEYS file ${keysFile}: ${(err as Error).message}`);
    }
  }
  return fetchText(ASF_KEYS_URL);
}

async function fetchIfPublished(url: string): Promise<string | undefined> {
  try {
    return await fetchText(url, { retries: 2 });
  } catch (err) {
    if (err instanceof ApxsError && /^not found/.test(err.message)) return undefined;
    throw err;
  }
}

export interface Published {
  checksum: { algorithm: Algorithm; hex: string } | null;
  signature: string | undefined;
}

/** The strongest checksum the release publishes, and its signature: fetched before the tarball, so only one hash is computed. */
export async function publishedFor(url: string): Promise<Published> {
  const name = url.slice(url.lastIndexOf('/') + 1);
  const signature = fetchIfPublished(`${url}.asc`);
  let checksum: Published['checksum'] = null;
  for (const algorithm of ALGORITHMS) {
    const text = await fetchIfPublished(`${url}.${algorithm}`);
    if (text === undefined) continue;
    checksum = { algorithm, hex: parseChecksum(text, algorithm, name) };
    break;
  }
  return { checksum, signature: await signature };
}

/** Checks `file` against what the release publishes; a mismatch deletes the file. */
export async function verifyAgainst(file: string, url: string, published: Published, hashes: Partial<Record<Algorithm, string>>, opts: AcquireOptions): Promise<Omit<Verified, 'fromCache'>> {
  const warnings: string[] = [];
  const name = path.basename(file);
  const { checksum } = published;
  if (checksum) {
    const actual = hashes[checksum.algorithm] ?? (await hashFile(file, checksum.algorithm));
    if (actual !== checksum.hex) {
      await fs.rm(file, { force: true });
      throw new ApxsError('CHECKSUM_MISMATCH', `${name}: ${checksum.algorithm} is ${actual.slice(0, 16)}…, the release says ${checksum.hex.slice(0, 16)}…; the file was deleted`, {
        hint: 'download it again; if it fails again, the mirror is serving a bad file: try another (--mirror)',
        data: { algorithm: checksum.algorithm, expected: checksum.hex, actual },
      });
    }
    if (WEAK.includes(checksum.algorithm)) warnings.push(`only a ${checksum.algorithm} checksum is published for ${name}: it is weak, the signature is what counts`);
  } else if (!opts.insecure) {
    await fs.rm(file, { force: true });
    throw new ApxsError('CHECKSUM_MISMATCH', `no checksum (.sha512, .sha256, .sha1, .md5) published for ${name}`, { hint: 'pass --insecure to use it unverified' });
  } else {
    warnings.push(`no checksum for ${name}: unverified (--insecure)`);
  }
  let signer: Signer | null = null;
  if (published.signature === undefined) {
    if (!opts.insecure) {
      await fs.rm(file, { force: true });
      throw new ApxsError('BAD_SIGNATURE', `no signature (.asc) published for ${name}`, { hint: 'pass --insecure to use it unverified' });
    }
    warnings.push(`no signature for ${name}: unverified (--insecure)`);
  } else {
    try {
      signer = await verifySignature(file, published.signature, await keysText(opts.keysFile));
    } catch (err) {
      if (err instanceof ApxsError && err.code === 'BAD_SIGNATURE') await fs.rm(file, { force: true });
      throw err;
    }
    if (signer.weak) warnings.push(signer.weak);
  }
  return { file, url, checksum, signer, warnings };
}

/** Verifies a tarball already on disk against the release at `url`. */
export async function verifyRelease(file: string, url: string, opts: AcquireOptions): Promise<Omit<Verified, 'fromCache'>> {
  return verifyAgainst(file, url, await publishedFor(url), {}, opts);
}

export async function acquire(mirror: string, release: Release, opts: AcquireOptions): Promise<Verified> {
  const url = `${mirror}${release.file}`;
  // Load the OpenPGP code while the network works, not after it.
  void import('openpgp').catch(() => undefined);
  const dest = path.join(opts.cacheDir, release.file);
  const published = await publishedFor(url);
  if (await exists(dest)) {
    // Cached files are verified again: the cache is a convenience, not a trust anchor.
    try {
      return { ...(await verifyAgainst(dest, url, published, {}, opts)), fromCache: true };
    } catch (err) {
      if (!(err instanceof ApxsError) || !['CHECKSUM_MISMATCH', 'BAD_SIGNATURE'].includes(err.code)) throw err;
      // verifyAgainst deleted it: fetch it afresh below.
    }
  }
  const got = await download(url, dest, { onProgress: opts.onProgress, algorithms: published.checksum ? [published.checksum.algorithm] : [] });
  return { ...(await verifyAgainst(dest, url, published, got.hashes, opts)), fromCache: false };
}
