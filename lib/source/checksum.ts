/**
 * Checksums as Apache has published them over the years: `hex *file`,
 * `hex  file`, `SHA256(file)= hex`, `MD5 (file) = hex`, gpg --print-md
 * blocks (`file: 1A2B 3C4D ...` over several lines), or a bare hash.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { ApxsError } from '../core/errors.js';

export type Algorithm = 'sha512' | 'sha256' | 'sha1' | 'md5';

/** Strongest first; the weak ones verify but warn. */
export const ALGORITHMS: Algorithm[] = ['sha512', 'sha256', 'sha1', 'md5'];
export const WEAK: Algorithm[] = ['sha1', 'md5'];
const HEX_LEN: Record<Algorithm, number> = { sha512: 128, sha256: 64, sha1: 40, md5: 32 };

/** What a checksum line names, as a bare file name: `*x`, `./x` and `dist/x` all name x. */
function nameOf(name: string): string {
  return name
    .trim()
    .replace(/^\*/, '')
    .replace(/^.*[\\/]/, '');
}

/**
 * The hash for `fileName` in a checksum file. A line naming another file is
 * never used for this one (a .sha512 copied from the previous release would
 * otherwise be taken at its word); a bare hash names no file and is accepted.
 */
export function parseChecksum(text: string, algorithm: Algorithm, fileName?: string): string {
  const len = HEX_LEN[algorithm];
  const candidates: { hex: string; name: string | undefined }[] = [];
  // gpg --print-md: "name: HEX HEX\n      HEX ..." - join the hex groups after the colon.
  const gpg = /^(\S+):\s*((?:[0-9A-Fa-f]{2,8}\s*)+)$/gm;
  for (const m of text.matchAll(gpg)) {
    const hex = m[2]!.replace(/\s+/g, '');
    if (hex.length === len) candidates.push({ hex, name: m[1] });
  }
  // OpenSSL style: SHA256(file)= hex, MD5 (file) = hex
  for (const m of text.matchAll(/^[A-Z0-9-]+\s*\(([^)]+)\)\s*=\s*([0-9a-fA-F]+)\s*$/gm)) {
    if (m[2]!.length === len) candidates.push({ hex: m[2]!, name: m[1] });
  }
  // coreutils style: hex *file, hex file, or a bare hash ([ \t], not \s: a name never continues on
  // the next line)
  for (const m of text.matchAll(/^([0-9a-fA-F]+)(?:[ \t]+\*?(\S.*?))?[ \t]*\r?$/gm)) {
    if (m[1]!.length === len) candidates.push({ hex: m[1]!, name: m[2] });
  }
  const pick =
    fileName === undefined
      ? candidates[0]
      : (candidates.find((c) => c.name !== undefined && nameOf(c.name) === fileName) ??
        candidates.find((c) => c.name === undefined));
  if (!pick) {
    const others = [
      ...new Set(
        candidates
          .map((c) => c.name)
          .filter((n): n is string => n !== undefined)
          .map(nameOf),
      ),
    ];
    if (others.length) {
      throw new ApxsError(
        'CHECKSUM_MISMATCH',
        `the ${algorithm} checksum file names ${others.join(', ')}, not ${fileName}`,
        {
          hint:
            'the checksum file belongs to another file: the mirror (or the ' +
            'directory) is inconsistent; get the checksum published for this release',
          data: { algorithm, file: fileName, names: others },
        },
      );
    }
    throw new ApxsError('CHECKSUM_MISMATCH', `no ${algorithm} hash found in the checksum file`, {
      hint: 'the .sha/.md5 file is in a format apxs-ts does not know, or is for another file',
    });
  }
  return pick.hex.toLowerCase();
}

export function hashers(
  which: Algorithm[] = ALGORITHMS,
): Partial<Record<Algorithm, ReturnType<typeof createHash>>> {
  return Object.fromEntries(which.map((a) => [a, createHash(a)]));
}

/** Feeds a file's bytes to the given hashes; returns how many bytes it read. */
export async function hashFileInto(file: string, hs: ReturnType<typeof hashers>): Promise<number> {
  let n = 0;
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 })) {
    for (const h of Object.values(hs)) h.update(chunk as Buffer);
    n += (chunk as Buffer).length;
  }
  return n;
}
