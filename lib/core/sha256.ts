/**
 * The hex sha256 of some bytes: how apxs-ts recognises content it wrote
 * (journal steps, a sandbox's manifest, a module .so, what install --force
 * replaced, a stale lock's identity).
 */
export function sha256(data: Buffer | string): string {
  // node:crypto is required on the first hash, not at the top: `ctl status` and a no-op `build`
  // load modules that can hash (config proofs, the lock) but never do, and should not pay for
  // loading it.
  const { createHash } = require('node:crypto') as typeof import('node:crypto');
  return createHash('sha256').update(data).digest('hex');
}
