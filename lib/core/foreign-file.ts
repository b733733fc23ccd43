/**
 * Writing a file apxs-ts does not own (the hosts file): the rename of an
 * atomic write replaces whatever the name points to, given only write
 * permission on the directory. In a 0777 directory a user who may not write
 * a root-owned 0644 hosts file could still replace it, and the new file
 * would be theirs (#16 defect 9). So: the user must be able to write the file
 * itself (else PERMISSION_DENIED, the file untouched); the replacement keeps
 * its mode, and its owner and group where the user can set them (root); a
 * user writing another user's file (group- or world-writable) rewrites it in
 * place, which keeps its inode, owner and mode.
 */
import { promises as fs } from 'node:fs';
import { writeFileAtomic, writeInPlace, type WriteResult } from './atomic-file.js';
import { isErrno } from './errors.js';
import { assertNoPlantedLink, assertWritable } from './trust.js';

export async function writeForeignFile(
  file: string,
  data: string | Uint8Array,
): Promise<WriteResult> {
  assertNoPlantedLink(file, 'to write');
  const target = await fs.realpath(file).catch(() => file);
  assertWritable(target);
  const st = await fs
    .stat(target)
    .catch((err: unknown) => (isErrno(err, 'ENOENT') ? undefined : Promise.reject(err)));
  const uid = process.geteuid?.() ?? 0;
  if (!st || uid === 0 || st.uid === uid) return writeFileAtomic(target, data);
  // Not ours and we are not root: a rename would make it ours. Its full content, in place.
  await writeInPlace(target, data);
  return { path: target, method: 'in-place' };
}
