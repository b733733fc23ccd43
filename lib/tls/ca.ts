/**
 * The local CA: one per user, under the user's data dir
 * ($APXS_TS_CA_DIR, else $XDG_DATA_HOME/apxs-ts/ca, else
 * ~/.local/share/apxs-ts/ca), directory 0700, key 0600. ECDSA P-256, valid
 * ten years, with a critical NameConstraints extension that permits only
 * the dev suffixes (localhost, .localhost, .test and what --permit adds) and
 * loopback addresses: a leaked key signs for no public site. The
 * constraints are in the signed certificate, so they cannot change: another
 * set needs a new CA (`tls ca --new --permit ...`).
 *
 * Created once: concurrent creators take the CA dir's lock and the second
 * finds the first one's CA. The key is written before the certificate, so
 * a certificate on disk always has its key; a key alone (a create killed in
 * between) is an unfinished create, made again.
 */
import { X509Certificate } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.js';
import { fileDiff, type FileDiff } from '../core/change-report.js';
import { ApxsError, fileError, isErrno } from '../core/errors.js';
import { failpoint } from '../core/failpoint.js';
import { lockHeld, withLock } from '../core/lock.js';
import { assertTrusted } from '../core/trust.js';
import { certPath } from './ca-dir.js';
// @peculiar/x509 and reflect-metadata cost ~170 ms to load: only the runs that make or read a
// certificate pay it.
const crypto = () => import('./crypto.js');
import {
  assertCaFilesSafe,
  assertKeyMatches,
  assertKeyPrivate,
  assertOurKindOfCa,
} from './ca-safety.js';
import { isPublicSuffix } from './public-suffix.js';
import {
  decodeNameConstraints,
  encodeNameConstraints,
  NAME_CONSTRAINTS_OID,
  PERMITTED_IPS,
  validSuffix,
} from './name-constraints.js';

export const DEFAULT_PERMITTED = ['localhost', '.localhost', '.test'];
const CA_YEARS = 10;

export interface LocalCa {
  dir: string;
  certFile: string;
  keyFile: string;
  certPem: string;
  /** SHA-256 of the DER, colon-separated hex (as openssl x509 -fingerprint -sha256 prints it). */
  fingerprint: string;
  subject: string;
  permitted: { dns: string[]; ip: string[] };
  notBefore: string;
  notAfter: string;
}

const keyPath = (dir: string) => path.join(dir, 'ca-key.pem');

/** The CA in `dir`, or undefined when there is none yet (or only a key: an unfinished create). */
export async function loadCa(dir: string): Promise<LocalCa | undefined> {
  const certFile = certPath(dir);
  // Another user's CA dir, a symlink for the certificate or key: refused before anything is read
  // from them.
  assertCaFilesSafe(dir, [certFile, keyPath(dir)]);
  const pem = await fs.readFile(certFile, 'utf8').catch((err: unknown) => {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw fileError(certFile, err) ?? err;
  });
  if (pem === undefined) return undefined;
  const { x509 } = await crypto();
  let cert: InstanceType<typeof x509.X509Certificate>;
  try {
    cert = new x509.X509Certificate(pem);
  } catch (err) {
    throw new ApxsError(
      'BAD_INPUT',
      `${certFile} is not a certificate: ${(err as Error).message}`,
      { hint: `move ${dir} aside and run apxs-ts tls ca to make a new CA` },
    );
  }
  const nc = cert.getExtension(NAME_CONSTRAINTS_OID);
  const node = new X509Certificate(pem);
  const permitted = nc ? decodeNameConstraints(new Uint8Array(nc.value)) : undefined;
  // A CA apxs-ts would not have made (no or widened constraints) is not used, shown as ours or
  // trusted.
  assertOurKindOfCa(certFile, pem, permitted, !!nc?.critical);
  return {
    dir,
    certFile,
    keyFile: keyPath(dir),
    certPem: pem,
    fingerprint: node.fingerprint256,
    subject: cert.subject,
    permitted: permitted ?? { dns: [], ip: [] },
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
  };
}

/**
 * A certificate whose key is gone (deleted, or a cert copied in alone): nothing can sign for it; a
 * new CA is the fix.
 */
function keyMissing(ca: LocalCa): ApxsError {
  return new ApxsError(
    'NOT_FOUND',
    `the local CA's key ${ca.keyFile} is missing: ` +
      `${ca.certFile} is there without it, so nothing can be signed`,
    {
      hint:
        'make a new CA: apxs-ts tls ca --new (the old certificate is kept as ' +
        'ca.pem.replaced-DATE), then apxs-ts tls trust and apxs-ts tls renew --all',
      data: { path: ca.keyFile },
    },
  );
}

export async function caSigningKey(ca: LocalCa): Promise<CryptoKey> {
  assertCaFilesSafe(ca.dir, [ca.keyFile]);
  assertKeyPrivate(ca.keyFile);
  // Under the CA's lock: a `tls ca --new` (which holds it) never swaps the key between this read
  // and the certificate's.
  const pem = await withLock(
    path.join(ca.dir, 'ca.lock'),
    async () => {
      const now = await fs.readFile(ca.certFile, 'utf8').catch(() => '');
      if (now !== ca.certPem) {
        throw new ApxsError(
          'LOCKED',
          `the local CA in ${ca.dir} was replaced (tls ca --new) while this command ran`,
          { hint: 'run it again: it will use the new CA', data: { path: ca.certFile } },
        );
      }
      return fs.readFile(ca.keyFile, 'utf8').catch((err: unknown) => {
        throw isErrno(err, 'ENOENT') ? keyMissing(ca) : (fileError(ca.keyFile, err) ?? err);
      });
    },
    60_000,
  );
  assertKeyMatches(ca.keyFile, pem, ca.certPem);
  return (await crypto()).importSigningKey(pem);
}

/** The permitted suffixes: the defaults plus --permit ones, each checked, lower-cased, once. */
export function permittedSuffixes(extra: string[] = []): string[] {
  for (const s of extra) {
    if (!validSuffix(s))
      throw new ApxsError('BAD_INPUT', `--permit ${s}: not a DNS suffix`, {
        hint:
          'give a name or a suffix with a leading dot, ' +
          'e.g. --permit .dd or --permit dev.example.com',
      });
    // A public suffix (.com, .co.uk, .github.io) would let the CA sign for every site under it:
    // what the constraints exist to prevent.
    if (isPublicSuffix(s))
      throw new ApxsError(
        'BAD_INPUT',
        `--permit ${s}: a public suffix; a CA permitting it could sign for every site under it`,
        {
          hint:
            'permit a name you own below it, e.g. --permit ' +
            `dev.example${s.startsWith('.') ? s : `.${s}`}, ` +
            'or a suffix that is no public one, e.g. --permit .dd',
        },
      );
  }
  return [...new Set([...DEFAULT_PERMITTED, ...extra.map((s) => s.toLowerCase())])];
}

async function makeDir(dir: string): Promise<void> {
  try {
    const made = await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    if (made) await fs.chmod(dir, 0o700); // umask must not loosen it
  } catch (err) {
    throw fileError(dir, err) ?? err;
  }
}

async function createCa(dir: string, permitted: string[]): Promise<void> {
  const { EC_SIGN, newKeyPair, privateKeyPem, serialHex, x509 } = await crypto();
  const keys = await newKeyPair();
  const now = new Date();
  const notBefore = new Date(now.getTime() - 3600_000);
  const notAfter = new Date(now);
  notAfter.setUTCFullYear(notAfter.getUTCFullYear() + CA_YEARS);
  const host = os.hostname().replace(/[,=+<>#;"\\]/g, '');
  const day = now.toISOString().slice(0, 10);
  const name = `CN=apxs-ts local CA ${host} ${day}, O=apxs-ts development CA`;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialHex(),
    name,
    notBefore,
    notAfter,
    keys,
    signingAlgorithm: EC_SIGN,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      new x509.Extension(
        NAME_CONSTRAINTS_OID,
        true,
        Buffer.from(encodeNameConstraints(permitted, PERMITTED_IPS)),
      ),
    ],
  });
  // Key first: a certificate on disk always has its key. A key left alone by a killed create
  // (checked ours, under the lock) goes first: an atomic write would keep its mode, and a new key
  // starts 0600.
  failpoint('tls-ca:before-key');
  await fs.rm(keyPath(dir), { force: true }).catch((err: unknown) => {
    throw fileError(keyPath(dir), err) ?? err;
  });
  await writeFileAtomic(keyPath(dir), await privateKeyPem(keys.privateKey), { mode: 0o600 });
  failpoint('tls-ca:after-key');
  try {
    await writeFileAtomic(certPath(dir), cert.toString('pem'), { mode: 0o644 });
  } catch (err) {
    // A full disk (or any failed write) leaves no key without its certificate: the key just made
    // goes.
    await fs.rm(keyPath(dir), { force: true }).catch(() => undefined);
    throw fileError(certPath(dir), err) ?? err;
  }
  failpoint('tls-ca:after-cert');
}

/**
 * --permit suffixes an existing CA lacks: NAME_NOT_PERMITTED (its constraints are fixed when it is
 * made).
 */
function assertPermits(existing: LocalCa, permit: string[] | undefined): void {
  const missing = (permit ?? [])
    .map((s) => s.toLowerCase())
    .filter((s) => !existing.permitted.dns.includes(s));
  if (missing.length) {
    const permits = [
      ...existing.permitted.dns.filter((s) => !DEFAULT_PERMITTED.includes(s)),
      ...missing,
    ].map((s) => `--permit ${s}`);
    throw new ApxsError(
      'NAME_NOT_PERMITTED',
      `the local CA ${existing.certFile} does not permit ` +
        `${missing.join(', ')}: its name constraints are fixed when it is made`,
      {
        hint:
          `make a new CA with them: apxs-ts tls ca --new ${permits.join(' ')} ` +
          '(then apxs-ts tls trust and apxs-ts tls renew --all)',
        data: { permitted: existing.permitted.dns, missing },
      },
    );
  }
}

/**
 * A CA that is there and kept (not --new): its key must be there too, and it must permit what is
 * asked. The plan (--check) and the real run answer alike.
 */
async function assertReusable(existing: LocalCa, permit: string[] | undefined): Promise<void> {
  const keyThere = await fs.lstat(existing.keyFile).then(
    () => true,
    () => false,
  );
  if (!keyThere) throw keyMissing(existing);
  assertPermits(existing, permit);
}

/**
 * What `tls ca` would do, read-only (--check): nothing when the CA is there
 * (and permits what is asked: else the same error a real run gives), else
 * make (or, `replace`, replace) it.
 */
export async function planCa(
  dir: string,
  opts: { permit?: string[]; replace?: boolean } = {},
): Promise<{ existing: LocalCa | undefined; changed: boolean }> {
  const existing = await loadCa(dir);
  if (existing && !opts.replace) {
    await assertReusable(existing, opts.permit);
    return { existing, changed: false };
  }
  return { existing, changed: true };
}

/**
 * What making (or replacing) the CA in `dir` does to its two files, as diff
 * entries: `made` is what was written (read back by the real run); a plan
 * (--check) passes none and the files stand as their PEM skeletons. Diffs
 * show a PEM block as its type only (never a key), so both read the same.
 */
export async function caDiff(dir: string, existed: boolean, made?: boolean): Promise<FileDiff[]> {
  const pem = (type: string) => `-----BEGIN ${type}-----\n-----END ${type}-----\n`;
  const entry = async (file: string, type: string) =>
    fileDiff(
      file,
      existed ? pem(type) : undefined,
      made ? await fs.readFile(file).catch(() => pem(type)) : pem(type),
    );
  return [await entry(certPath(dir), 'CERTIFICATE'), await entry(keyPath(dir), 'PRIVATE KEY')];
}

export interface EnsureCaResult {
  ca: LocalCa;
  created: boolean;
  replaced?: string;
}

/**
 * The CA in `dir`, made when there is none. `permit` (the --permit
 * suffixes) must be in an existing CA's constraints: they cannot be added
 * to a signed certificate, so the answer is the command that makes a new CA.
 * `renew` replaces the CA (the old files kept beside it as ca.pem.replaced-DATE).
 */
export async function ensureCa(
  dir: string,
  opts: { permit?: string[]; replace?: boolean; lockFree?: boolean } = {},
): Promise<EnsureCaResult> {
  const wanted = permittedSuffixes(opts.permit);
  // The nearest existing directory first: a CA dir is not even made below one another user can
  // write.
  let up = path.dirname(dir);
  while (
    up !== path.dirname(up) &&
    !(await fs.lstat(up).then(
      () => true,
      () => false,
    ))
  )
    up = path.dirname(up);
  assertTrusted(up, 'the directory of the local CA');
  // `lockFree` (tls ca itself, vhost add --tls): a CA already there is answered without the lock,
  // so a second run writes nothing at all, not even the lock file. Anything else, or a look that
  // fails (a `tls ca --new` renaming the files right now), is decided under the lock as before.
  // Signing takes the lock again and checks the CA is the one read (caSigningKey): a --new that
  // raced the look is told there (LOCKED, run again), as one after a locked look always was.
  // renew keeps the lock here: it always signs, and under it waits for a racing --new.
  // Not while another run holds the lock: that may be a `tls ca --new` about to replace the CA,
  // waited for under the lock (a look now would sign with the old one's certificate, and fail).
  if (!opts.replace && opts.lockFree && !(await lockHeld(path.join(dir, 'ca.lock')))) {
    const p = await planCa(dir, opts).catch(() => undefined);
    if (p?.existing && !p.changed) return { ca: p.existing, created: false };
  }
  await makeDir(dir);
  assertCaFilesSafe(dir, []);
  return withLock(
    path.join(dir, 'ca.lock'),
    async () => {
      failpoint('tls-ca:locked');
      // A key left alone (a create killed after it) is replaced only when it is a file of ours.
      assertCaFilesSafe(dir, [certPath(dir), keyPath(dir)]);
      const existing = await loadCa(dir);
      if (existing && !opts.replace) {
        await assertReusable(existing, opts.permit);
        return { ca: existing, created: false };
      }
      let replaced: string | undefined;
      if (existing) {
        const stamp = new Date().toISOString().replace(/[:.]/g, '-');
        replaced = `${existing.certFile}.replaced-${stamp}`;
        // Certificate first: a killed replace leaves a key alone (an unfinished create, made
        // again), never a certificate without its key.
        await fs.rename(existing.certFile, replaced);
        failpoint('tls-ca:replace-after-cert');
        await fs
          .rename(existing.keyFile, `${existing.keyFile}.replaced-${stamp}`)
          .catch(() => undefined);
      }
      await createCa(
        dir,
        opts.replace && existing ? [...new Set([...existing.permitted.dns, ...wanted])] : wanted,
      );
      return { ca: (await loadCa(dir))!, created: true, ...(replaced ? { replaced } : {}) };
    },
    60_000,
  );
}
