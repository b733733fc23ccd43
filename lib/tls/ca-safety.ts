/**
 * Whether the files in a CA dir are ones apxs-ts may use and sign with.
 * The CA's key signs certificates that every program trusting the CA
 * accepts: a CA dir another user owns or can write, a key readable by
 * others, a symlink in place of the key or certificate (a write would go,
 * and a read would come, from wherever it points), a certificate that is
 * not a name-constrained local CA (no constraints, a public suffix or no
 * DNS subtree in them), or a key that is not the certificate's are all
 * refused (UNSAFE_CONFIG with the path), never repaired: apxs-ts does not
 * chmod, replace or sign with a file it did not make. lib/core/trust.ts
 * decides ownership and modes, as for every other file apxs-ts acts on.
 */
import { createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { lstatSync } from 'node:fs';
import path from 'node:path';
import { ApxsError } from '../core/errors.js';
import { assertTrusted } from '../core/trust.js';
import { ipPermitted, validSuffix } from './name-constraints.js';
import { isPublicSuffix } from './public-suffix.js';

const unsafe = (file: string, why: string, hint: string) =>
  new ApxsError('UNSAFE_CONFIG', `refusing the local CA file ${file}: ${why}`, {
    hint,
    data: { path: file },
  });

const newCaHint = (dir: string) =>
  `move ${dir} aside (or pass another --ca-dir) and run apxs-ts tls ca to make ` +
  'a new CA; apxs-ts does not repair or sign with a CA file it did not make';

/**
 * The CA dir and, when they exist, its files: owned by the user or root, writable by no one else,
 * the files plain files (no symlink).
 */
export function assertCaFilesSafe(
  dir: string,
  files: string[],
  env: NodeJS.ProcessEnv = process.env,
): void {
  assertTrusted(dir, 'the local CA directory', env);
  for (const f of files) {
    const st = lstatSync(f, { throwIfNoEntry: false });
    if (!st) continue;
    if (!st.isFile())
      throw unsafe(
        f,
        `it is ${st.isSymbolicLink() ? 'a symlink' : 'not a plain file'}`,
        newCaHint(dir),
      );
    assertTrusted(f, 'the local CA file', env);
  }
}

/**
 * The key: readable by its owner only (a key others could read may have leaked: a new CA, not a
 * chmod).
 */
export function assertKeyPrivate(keyFile: string): void {
  const st = lstatSync(keyFile, { throwIfNoEntry: false });
  if (st && (st.mode & 0o077) !== 0) {
    throw unsafe(
      keyFile,
      `the CA's private key has mode ` +
        `${(st.mode & 0o777).toString(8).padStart(4, '0')}: other users may have read it`,
      `if nobody else could have read it: chmod 600 ${keyFile}; otherwise make a new ` +
        'CA: apxs-ts tls ca --new (then apxs-ts tls trust and apxs-ts tls renew --all)',
    );
  }
}

/**
 * The certificate is a local CA as apxs-ts makes them: self-signed, a CA, constrained to dev
 * suffixes and loopback.
 */
export function assertOurKindOfCa(
  certFile: string,
  pem: string,
  permitted: { dns: string[]; ip: string[] } | undefined,
  critical: boolean,
): void {
  const dir = path.dirname(certFile);
  const cert = new X509Certificate(pem);
  if (!cert.ca || !cert.checkIssued(cert) || !cert.verify(cert.publicKey))
    throw unsafe(certFile, 'it is not a self-signed CA certificate', newCaHint(dir));
  if (!permitted || !critical)
    throw unsafe(
      certFile,
      `it has no ${permitted ? 'critical ' : ''}name constraints: it could sign for any site`,
      newCaHint(dir),
    );
  if (permitted.dns.length === 0)
    throw unsafe(
      certFile,
      'its name constraints permit no DNS subtree, so DNS names are not constrained at all',
      newCaHint(dir),
    );
  const wide = permitted.dns.filter((s) => !validSuffix(s) || isPublicSuffix(s));
  if (wide.length)
    throw unsafe(
      certFile,
      `its name constraints permit ${wide.map((s) => `"${s}"`).join(', ')}, ` +
        'a public suffix (or no suffix): it could sign for every site under it',
      newCaHint(dir),
    );
  const ips = permitted.ip.filter(
    (c) => !ipPermitted(c.split('/')[0]!) || Number(c.split('/')[1]) < (c.includes(':') ? 128 : 8),
  );
  if (ips.length)
    throw unsafe(
      certFile,
      `its name constraints permit addresses outside loopback (${ips.join(', ')})`,
      newCaHint(dir),
    );
}

/**
 * The key is the certificate's: a key that is not ' + 'would sign certificates ' + 'nothing
 * accepts, ' + 'or is someone else's.
 */
export function assertKeyMatches(keyFile: string, keyPem: string, certPem: string): void {
  let same = false;
  try {
    const pub = createPublicKey(createPrivateKey(keyPem)).export({ type: 'spki', format: 'der' });
    same = pub.equals(
      new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' }),
    );
  } catch {
    same = false;
  }
  if (!same)
    throw unsafe(
      keyFile,
      'it is not the private key of the CA certificate beside it',
      newCaHint(path.dirname(keyFile)),
    );
}
