/**
 * Detached PGP signatures (.asc) checked against Apache's KEYS file with
 * openpgp (a maintained OpenPGP implementation beats anything hand-written
 * here, and it verifies the DSA keys of the 1.3 and 2.0 era as well as RSA).
 * KEYS holds dozens of armored blocks between plain text; a block openpgp
 * cannot read (some very old keys) is skipped, not fatal.
 */
import { promises as fs } from 'node:fs';
import { ApxsError } from '../core/errors.js';

/**
 * openpgp refuses DSA keys, RSA keys under 2048 bits and SHA-1 signatures by
 * default. httpd releases of the 1.3 and 2.0 era were signed exactly so, and
 * must verify: accept them, and say so in a warning.
 */
async function legacyConfig() {
  const pgp = await openpgp();
  return {
    ...pgp.config,
    rejectPublicKeyAlgorithms: new Set<number>(),
    rejectHashAlgorithms: new Set<number>([pgp.enums.hash.md5]),
    rejectMessageHashAlgorithms: new Set<number>([pgp.enums.hash.md5]),
    minRSABits: 1023,
  };
}

export interface Signer {
  fingerprint: string;
  userId: string | undefined;
  keyId: string;
  algorithm: string;
  created: string | undefined;
  /** Set when the key or hash is one today's defaults would refuse. */
  weak: string | undefined;
}

async function openpgp() {
  return import('openpgp');
}

const BLOCK = /-----BEGIN PGP PUBLIC KEY BLOCK-----[\s\S]*?-----END PGP PUBLIC KEY BLOCK-----/g;

/**
 * KEYS lists each key as gpg prints it (fingerprint, uid) before its armored
 * block: the blocks whose text names the signing key are parsed first, so a
 * check reads one key instead of sixty. The text is only a hint; the key
 * material decides.
 */
function blocksNaming(keysText: string, keyIds: string[]): string[] {
  const out: string[] = [];
  let prevEnd = 0;
  for (const m of keysText.matchAll(BLOCK)) {
    const before = keysText.slice(prevEnd, m.index).replace(/\s+/g, '').toUpperCase();
    if (keyIds.some((id) => before.includes(id) || before.includes(id.slice(-8)))) out.push(m[0]);
    prevEnd = m.index! + m[0].length;
  }
  return out;
}

export async function readKeys(keysText: string, onlyBlocks?: string[]) {
  const pgp = await openpgp();
  const blocks = onlyBlocks ?? keysText.match(BLOCK) ?? [];
  const keys: import('openpgp').PublicKey[] = [];
  let unreadable = 0;
  for (const b of blocks) {
    try {
      keys.push(...(await pgp.readKeys({ armoredKeys: b, config: await legacyConfig() })));
    } catch {
      unreadable++;
    }
  }
  return { keys, unreadable, blocks: blocks.length };
}

export function formatFingerprint(hex: string): string {
  return hex
    .toUpperCase()
    .replace(/(.{4})/g, '$1 ')
    .trim();
}

/**
 * Verifies `file` against the armored detached signature; returns who
 * signed, or throws BAD_SIGNATURE. Its data.reason is 'mismatch' only when
 * the file itself is proven bad; 'unknown-key' and 'unreadable' say nothing
 * about the file, so callers keep it.
 */
export async function verifySignature(
  file: string,
  armoredSignature: string,
  keysText: string,
): Promise<Signer> {
  const pgp = await openpgp();
  let signature: import('openpgp').Signature;
  try {
    signature = await pgp.readSignature({ armoredSignature });
  } catch (err) {
    throw new ApxsError(
      'BAD_SIGNATURE',
      `the .asc is not a PGP signature: ${(err as Error).message}`,
      { cause: err, data: { reason: 'unreadable' } },
    );
  }
  const ids = signature.getSigningKeyIDs().map((k) => k.toHex().toUpperCase());
  let { keys } = await readKeys(keysText, blocksNaming(keysText, ids));
  if (!keys.some((k) => signature.getSigningKeyIDs().some((id) => k.getKeys(id).length > 0)))
    keys = (await readKeys(keysText)).keys;
  const message = await pgp.createMessage({ binary: await fs.readFile(file) });
  const config = await legacyConfig();
  const result = await pgp.verify({
    message,
    signature,
    verificationKeys: keys,
    format: 'binary',
    config,
  });
  const sig = result.signatures[0];
  if (!sig)
    throw new ApxsError('BAD_SIGNATURE', 'the .asc holds no signature', {
      data: { reason: 'unreadable' },
    });
  const keyId = sig.keyID.toHex().toUpperCase();
  const key = keys.find((k) => k.getKeys(sig.keyID).length > 0);
  if (!key) {
    throw new ApxsError('BAD_SIGNATURE', `signed by key ${keyId}, which is not in KEYS`, {
      hint: 'only keys of Apache httpd release managers (KEYS from the ASF) are trusted',
      data: { reason: 'unknown-key', keyId },
    });
  }
  try {
    await sig.verified;
  } catch (err) {
    throw new ApxsError(
      'BAD_SIGNATURE',
      `the signature by ${key.getUserIDs()[0] ?? keyId} does not match the file`,
      {
        hint: 'the file or the signature was altered; do not use this tarball',
        cause: err,
        data: { reason: 'mismatch', keyId },
      },
    );
  }
  const signingKey = key.getKeys(sig.keyID)[0]!;
  const info = signingKey.getAlgorithmInfo();
  const hash = (await sig.signature).packets[0]?.hashAlgorithm;
  const weakness = [
    String(info.algorithm) === 'dsa' ? 'a DSA key' : undefined,
    String(info.algorithm).startsWith('rsa') && (info.bits ?? 4096) < 2048
      ? `a ${info.bits}-bit RSA key`
      : undefined,
    hash === pgp.enums.hash.sha1 ? 'a SHA-1 signature' : undefined,
  ].filter(Boolean);
  return {
    weak: weakness.length
      ? `signed with ${weakness.join(' and ')}, as releases ` +
        `of that era were: valid, but weak by today's standards`
      : undefined,
    fingerprint: formatFingerprint(key.getFingerprint()),
    userId: key.getUserIDs()[0],
    keyId,
    algorithm: String(signingKey.getAlgorithmInfo().algorithm),
    created: (await sig.signature).packets[0]?.created?.toISOString(),
  };
}
