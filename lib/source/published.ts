/**
 * What a release publishes beside its tarball: the strongest checksum
 * (.sha512, .sha256, .sha1, .md5) and the detached signature (.asc), read
 * from the mirror or from the directory a tarball lies in.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ApxsError, isErrno } from '../core/errors.js';
import { ALGORITHMS, parseChecksum, type Algorithm } from './checksum.js';
import { fetchText, type FetchOptions } from './fetch.js';

export interface Published {
  checksum: { algorithm: Algorithm; hex: string } | null;
  signature: string | undefined;
  /** Where they were read: the release URL, or the directory beside the file. */
  from: string;
}

/** The first checksum file `read` finds, strongest algorithm first, parsed for tarball `name`. */
async function strongestChecksum(
  read: (suffix: string) => Promise<string | undefined>,
  name: string,
): Promise<Published['checksum']> {
  for (const algorithm of ALGORITHMS) {
    const text = await read(`.${algorithm}`);
    if (text !== undefined) return { algorithm, hex: parseChecksum(text, algorithm, name) };
  }
  return null;
}

async function fetchIfPublished(url: string, opts: FetchOptions): Promise<string | undefined> {
  try {
    return await fetchText(url, { ...opts, retries: 2 });
  } catch (err) {
    if (err instanceof ApxsError && /^not found/.test(err.message)) return undefined;
    throw err;
  }
}

/**
 * The strongest checksum the release publishes, and its signature: fetched before the tarball, so
 * only one hash is computed.
 */
export async function publishedFor(
  url: string,
  opts: Pick<FetchOptions, 'limits' | 'onNotice'> = {},
): Promise<Published> {
  const name = url.slice(url.lastIndexOf('/') + 1);
  const signature = fetchIfPublished(`${url}.asc`, opts);
  // A rejection would be unhandled while the checksums are fetched; it is rethrown by the await
  // below.
  signature.catch(() => undefined);
  const checksum = await strongestChecksum(
    (suffix) => fetchIfPublished(`${url}${suffix}`, opts),
    name,
  );
  return { checksum, signature: await signature, from: url };
}

async function readIfThere(file: string): Promise<string | undefined> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    if (isErrno(err, 'EACCES') || isErrno(err, 'EPERM')) {
      throw new ApxsError('PERMISSION_DENIED', `cannot read ${file}`, {
        hint: 'fix its permissions, or run as a user who can read it',
        cause: err,
      });
    }
    throw new ApxsError('BAD_INPUT', `cannot read ${file}: ${(err as Error).message}`, {
      cause: err,
    });
  }
}

/**
 * The checksum and signature lying beside a tarball, as a release directory
 * or a download by hand leaves them; undefined when there are none, and only
 * then does `verify FILE` ask the mirror.
 */
export async function publishedBeside(file: string): Promise<Published | undefined> {
  const signature = await readIfThere(`${file}.asc`);
  const checksum = await strongestChecksum(
    (suffix) => readIfThere(`${file}${suffix}`),
    path.basename(file),
  );
  return checksum || signature !== undefined
    ? { checksum, signature, from: path.dirname(file) }
    : undefined;
}
