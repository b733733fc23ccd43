/**
 * Safe extraction with node-tar into a fresh work dir: an entry with an
 * absolute path or a `..` segment, or a link pointing outside the tree, is
 * refused (the whole archive fails and the dir is removed), never silently
 * rewritten.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ApxsError } from '../core/errors.js';

export interface ExtractResult {
  dir: string;
  entries: number;
  /** The single top-level directory (httpd-2.4.68), when there is one. */
  top: string | undefined;
}

/**
 * Entry types a source tree is made of; node-tar's names for the rest, as a person would say them.
 */
const TREE_TYPES = new Set([
  'File',
  'OldFile',
  'ContiguousFile',
  'Directory',
  'SymbolicLink',
  'Link',
]);
const OTHER_TYPES: Record<string, string> = {
  FIFO: 'a FIFO (named pipe)',
  CharacterDevice: 'a character device',
  BlockDevice: 'a block device',
};

function unsafeReason(
  entryPath: string,
  type: string,
  linkpath: string | undefined,
): string | undefined {
  // A FIFO would block the build that opens it; a device node is never part of a source tree.
  if (type && !TREE_TYPES.has(type))
    return `${OTHER_TYPES[type] ?? `an entry of type ${type}`}, not a file, directory or link`;
  const p = entryPath.replace(/\\/g, '/');
  if (p.startsWith('/') || /^[A-Za-z]:/.test(p)) return 'an absolute path';
  if (p.split('/').includes('..')) return 'a ".." path';
  if ((type === 'SymbolicLink' || type === 'Link') && linkpath !== undefined) {
    const l = linkpath.replace(/\\/g, '/');
    if (l.startsWith('/')) return `a link to the absolute path ${l}`;
    // Symlinks resolve from their own directory, hard links from the archive root.
    const base = type === 'SymbolicLink' ? path.posix.dirname(p) : '.';
    const resolved = path.posix.normalize(path.posix.join(base, l));
    if (resolved === '..' || resolved.startsWith('../')) return `a link to ${l}, outside the tree`;
  }
  return undefined;
}

export async function extractTarball(file: string, dir: string): Promise<ExtractResult> {
  const tar = await import('tar');
  await fs.mkdir(dir, { recursive: true });
  if ((await fs.readdir(dir)).length > 0)
    throw new ApxsError('DIR_EXISTS', `${dir} is not empty`, {
      hint: 'extraction needs a fresh work dir',
    });
  const refused: string[] = [];
  let entries = 0;
  const tops = new Set<string>();
  try {
    // Synchronous on purpose: on this kind of machine node-tar's async mode
    // waits on the thread pool between files and took 4-5 s for httpd's
    // 3,000 files where the sync mode takes under 3 s.
    tar.x({
      file,
      cwd: dir,
      strict: true,
      preserveOwner: false,
      sync: true,
      filter: (p, entry) => {
        const e = entry as { type?: string; linkpath?: string };
        const why = unsafeReason(p, e.type ?? '', e.linkpath);
        if (why) {
          refused.push(`${p} (${why})`);
          return false;
        }
        entries++;
        tops.add(p.replace(/^\.\//, '').split('/')[0]!);
        return true;
      },
    });
  } catch (err) {
    // node-tar may still be finishing writes of earlier entries: retry the removal.
    await fs.rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 20 });
    throw new ApxsError(
      'UNSAFE_ARCHIVE',
      `${path.basename(file)} could not be extracted: ${(err as Error).message}`,
      {
        hint: 'the tarball is truncated or corrupt: delete it and download again',
        cause: err,
      },
    );
  }
  if (refused.length > 0) {
    await fs.rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 20 });
    throw new ApxsError(
      'UNSAFE_ARCHIVE',
      `${path.basename(file)} has ${refused.length} unsafe ` +
        `entr${refused.length === 1 ? 'y' : 'ies'}: nothing was kept`,
      {
        details: refused.slice(0, 10),
      },
    );
  }
  return { dir, entries, top: tops.size === 1 ? path.join(dir, [...tops][0]!) : undefined };
}
