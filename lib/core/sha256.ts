/**
 * The hex sha256 of some bytes: how apxs-ts recognises content it wrote
 * (journal steps, a sandbox's manifest, a module .so, what install --force
 * replaced). A module of its own so that node:crypto is loaded only by the
 * commands that hash (lib/core/fs.ts keeps shortHash for cache names).
 */
import { createHash } from 'node:crypto';

export const sha256 = (data: Buffer | string): string =>
  createHash('sha256').update(data).digest('hex');
