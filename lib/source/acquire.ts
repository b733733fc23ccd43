/**
 * From a version to a verified tarball on disk: list the mirror, download
 * (or reuse the cache after verifying it again), check the strongest
 * checksum the release has and the PGP signature against Apache's KEYS.
 * A mismatch deletes the file. Skipping verification takes --insecure.
 */
import { createHash } from 'node:crypto';
import { createReadStream, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ApxsError, isErrno } from '../errors.js';
import { ALGORITHMS, WEAK, parseChecksum, type Algorithm } from './checksum.js';
import { download, fetchText, type Progress } from './fetch.js';
import { verifySignature, type Signer } from './signature.js';
import { linksOf, pickRelease, releasesFrom, type Release } from './versions.js';

/** KEYS comes from the ASF itself, never from a mirror or a keyserver. */
export const ASF_KEYS_URL = 'https://downloads.apache.org/httpd/KEYS';
export const DEFAULT_MIRRORS = ['https://downloads.apache.org/httpd/', 'https://archive.apache.org/dist/httpd/'];

export function sourceCacheDir(env = process.env): string {
  return path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'apxs-ts', 'sources');
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
  onProgress?: (p: Progress) => void;
}

async function hashFile(file: string): Promise<Record<Algorithm, string>> {
  const hs = Object.fromEntries(ALGORITHMS.map((a) => [a, createHash(a)])) as Record<Algorithm, ReturnType<typeof createHash>>;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) for (const h of Object.values(hs)) h.update(chunk as Buffer);
  return Object.fromEntries(ALGORITHMS.map((a) => [a, hs[a].digest('hex')])) as Record<Algorithm, string>;
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

/** Checks `file` against the release's published checksum and signature. */
export async function verifyRelease(file: string, url: string, hashes: Record<Algorithm, string>, opts: AcquireOptions): Promise<Omit<Verified, 'fromCache'>> {
  const warnings: string[] = [];
  const name = path.basename(file);
  let checksum: Verified['checksum'] = null;
  for (const algorithm of ALGORITHMS) {
    let text: string;
    try {
      text = await fetchText(`${url}.${algorithm}`, { retries: 2 });
    } catch (err) {
      if (err instanceof ApxsError && /not found/.test(err.message)) continue;
      throw err;
    }
    const expected = parseChecksum(text, algorithm, name);
    if (expected !== hashes[algorithm]) {
      await fs.rm(file, { force: true });
      throw new ApxsError('CHECKSUM_MISMATCH', `${name}: ${algorithm} is ${hashes[algorithm].slice(0, 16)}…, the release says ${expected.slice(0, 16)}…; the file was deleted`, {
        hint: 'download it again; if it fails again, the mirror is serving a bad file: try another (--mirror)',
        data: { algorithm, expected, actual: hashes[algorithm] },
      });
    }
    if (WEAK.includes(algorithm)) warnings.push(`only a ${algorithm} checksum is published for ${name}: it is weak, the signature is what counts`);
    checksum = { algorithm, hex: expected };
    break;
  }
  if (!checksum && !opts.insecure) {
    await fs.rm(file, { force: true });
    throw new ApxsError('CHECKSUM_MISMATCH', `no checksum (.sha512, .sha256, .sha1, .md5) published for ${name}`, { hint: 'pass --insecure to use it unverified' });
  }
  let signer: Signer | null = null;
  let asc: string | undefined;
  try {
    asc = await fetchText(`${url}.asc`, { retries: 2 });
  } catch (err) {
    if (!(err instanceof ApxsError && /not found/.test(err.message))) throw err;
  }
  if (asc === undefined) {
    if (!opts.insecure) {
      await fs.rm(file, { force: true });
      throw new ApxsError('BAD_SIGNATURE', `no signature (.asc) published for ${name}`, { hint: 'pass --insecure to use it unverified' });
    }
    warnings.push(`no signature for ${name}: unverified (--insecure)`);
  } else {
    try {
      signer = await verifySignature(file, asc, await keysText(opts.keysFile));
    } catch (err) {
      if (err instanceof ApxsError && err.code === 'BAD_SIGNATURE') await fs.rm(file, { force: true });
      throw err;
    }
  }
  return { file, url, checksum, signer, warnings };
}

export async function acquire(mirror: string, release: Release, opts: AcquireOptions): Promise<Verified> {
  const url = `${mirror}${release.file}`;
  const dest = path.join(opts.cacheDir, release.file);
  const cached = await fs.stat(dest).then(() => true, () => false);
  if (cached) {
    // Cached files are verified again: the cache is a convenience, not a trust anchor.
    try {
      return { ...(await verifyRelease(dest, url, await hashFile(dest), opts)), fromCache: true };
    } catch (err) {
      if (!(err instanceof ApxsError) || !['CHECKSUM_MISMATCH', 'BAD_SIGNATURE'].includes(err.code)) throw err;
      await fs.rm(dest, { force: true }); // and fetch it afresh below
    }
  }
  const got = await download(url, dest, { onProgress: opts.onProgress });
  return { ...(await verifyRelease(dest, url, got.hashes, opts)), fromCache: false };
}
