/**
 * `source verify`: a tarball given by path, or a version in the cache,
 * checked against the checksum and signature the release publishes. What lies
 * beside a file is what it came with; the mirror is asked only when nothing
 * does.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ApxsError } from '../core/errors.js';
import {
  findRelease,
  listReleases,
  type TextFetch,
  verifyAgainst,
  type VerifyResult,
} from './acquire.js';
import { publishedBeside, publishedFor, type Published } from './published.js';

/**
 * The version a release tarball's name says (httpd-2.4.68.tar.gz, apache_1.3.42.tar.gz), if it is
 * named like one.
 */
export function releaseVersionOf(file: string): string | undefined {
  return /^(?:httpd-|apache_)(\d+\.\d+\.\d+)\.tar\.(?:gz|bz2)$/.exec(path.basename(file))?.[1];
}

/** Whether `what` names a tarball (a path, or a file name) rather than a version. */
export const namesAFile = (what: string): boolean =>
  what.includes('/') || what.endsWith('.tar.gz') || what.endsWith('.tar.bz2');

const isFile = (file: string) =>
  fs.stat(file).then(
    (st) => st.isFile(),
    () => false,
  );

export interface VerifyReleaseOptions extends TextFetch {
  cacheDir: string;
  mirrors: string[];
  keysFile?: string;
  insecure?: boolean;
}

/** The tarball checked, the version its name says, and the verdict. */
export async function verifyRelease(
  what: string,
  o: VerifyReleaseOptions,
): Promise<{ file: string; version: string | undefined; verified: VerifyResult }> {
  let file: string | undefined;
  let published: Published | undefined;
  let url: string | undefined;
  if (namesAFile(what)) {
    file = path.resolve(what);
    if (!(await isFile(file))) {
      throw new ApxsError('BAD_INPUT', `${file} is not a file`, {
        hint:
          'give the path of a tarball, or a version ' +
          'in the cache (apxs-ts source verify 2.4.68)',
      });
    }
    published = await publishedBeside(file);
    if (published) url = pathToFileURL(file).href;
  }
  if (!published) {
    const name = file ? path.basename(file) : undefined;
    const version = file ? releaseVersionOf(file) : what;
    if (!version) {
      throw new ApxsError(
        'BAD_INPUT',
        `${file} has no .sha512, .sha256, .sha1, .md5 or .asc beside ` +
          'it, and is not named like a release (httpd-2.4.68.tar.gz)',
        {
          hint:
            "put the release's checksum and signature files beside " +
            'it, or verify a version: apxs-ts source verify 2.4.68',
        },
      );
    }
    const { mirror, release } = findRelease(
      await listReleases(o.mirrors, { limits: o.limits, onNotice: o.onNotice }),
      version,
    );
    // A file given by path is checked as itself (a .bz2 against the .bz2's checksum), not as the
    // release's preferred tarball.
    url = `${mirror}${name ?? release.file}`;
    file ??= path.join(o.cacheDir, release.file);
    if (!(await isFile(file))) {
      throw new ApxsError('NOT_FOUND', `${file} is not in the cache`, {
        hint: `apxs-ts source download ${what}`,
      });
    }
    published = await publishedFor(url, { limits: o.limits, onNotice: o.onNotice });
  }
  const verified = await verifyAgainst(
    file!,
    url!,
    published,
    {},
    { cacheDir: o.cacheDir, keysFile: o.keysFile, insecure: o.insecure },
  );
  return { file: file!, version: releaseVersionOf(file!), verified };
}
