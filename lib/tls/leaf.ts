/**
 * A leaf certificate for a vhost: its name and aliases as SANs, each typed
 * (an IP address as iPAddress, anything else as dNSName), ECDSA P-256,
 * valid from an hour ago (a clock a little behind still accepts it) for
 * less than 397 days in all (Apple's and Chrome's limit for TLS server
 * certificates), signed by the local CA. A name outside the CA's
 * constraints is refused before anything is made: clients would reject the
 * certificate anyway ("permitted subtree violation").
 */
import net from 'node:net';
import { ApxsError } from '../core/errors.js';
import { caSigningKey, DEFAULT_PERMITTED, type LocalCa } from './ca.js';
const crypto = () => import('./crypto.js');
import { dnsPermitted, ipPermitted } from './name-constraints.js';
import { isPublicSuffix } from './public-suffix.js';

const HOUR = 3600_000;
export const LEAF_DAYS = 396;

export interface Leaf {
  names: string[];
  serial: string;
  notBefore: Date;
  notAfter: Date;
  certPem: string;
  keyPem: string;
}

/**
 * The narrowest --permit that covers `name` and that `tls ca --permit` takes:
 * `.TLD` when the TLD is no public suffix (one.dd: .dd); else the name itself
 * (x.test.evil.com: x.test.evil.com, never .com; a one-label name: itself,
 * since .eviltest would cover only names below eviltest).
 */
function suffixFor(name: string): string {
  const labels = name.toLowerCase().replace(/^\*\./, '').split('.');
  const tld = `.${labels[labels.length - 1]}`;
  return labels.length > 1 && !isPublicSuffix(tld) ? tld : labels.join('.');
}

/**
 * Throws NAME_NOT_PERMITTED, with the command that makes a CA permitting them, for names outside
 * the CA's constraints.
 */
export function checkPermitted(ca: LocalCa, names: string[]): void {
  const outside = names.filter((n) =>
    net.isIP(n) ? !ipPermitted(n, ca.permitted.ip) : !dnsPermitted(n, ca.permitted.dns),
  );
  if (outside.length === 0) return;
  const suffixes = [...new Set(outside.filter((n) => !net.isIP(n)).map(suffixFor))];
  const keep = ca.permitted.dns.filter((s) => !DEFAULT_PERMITTED.includes(s));
  throw new ApxsError(
    'NAME_NOT_PERMITTED',
    `${outside.join(', ')} ${outside.length > 1 ? 'are' : 'is'} outside the local ` +
      `CA's name constraints (${[...ca.permitted.dns, ...ca.permitted.ip].join(' ')})`,
    {
      hint: suffixes.length
        ? 'the constraints are signed into the CA and cannot be added to: ' +
          'make a new CA that permits them, apxs-ts tls ca --new ' +
          `${[...keep, ...suffixes].map((s) => `--permit ${s}`).join(' ')}, then apxs-ts ` +
          'tls trust (and apxs-ts tls renew --all for the certificates the ' +
          `old CA signed); or use a name under ${ca.permitted.dns.join(', ')}`
        : `only loopback addresses (${ca.permitted.ip.join(', ')}) ` +
          'can be in a certificate of the local CA',
      data: { outside, permitted: ca.permitted },
    },
  );
}

export async function issueLeaf(
  ca: LocalCa,
  names: string[],
  now = new Date(),
  signingKey?: CryptoKey,
): Promise<Leaf> {
  const unique = [...new Set(names.map((n) => n.toLowerCase()))];
  checkPermitted(ca, unique);
  const { EC_SIGN, newKeyPair, privateKeyPem, serialHex, x509 } = await crypto();
  const keys = await newKeyPair();
  const notBefore = new Date(now.getTime() - HOUR);
  const notAfter = new Date(now.getTime() + LEAF_DAYS * 24 * HOUR);
  const caCert = new x509.X509Certificate(ca.certPem);
  const serial = serialHex();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: `CN=${unique[0]}, O=apxs-ts development certificate`,
    issuer: caCert.subject,
    notBefore,
    notAfter,
    publicKey: keys.publicKey,
    signingKey: signingKey ?? (await caSigningKey(ca)),
    signingAlgorithm: EC_SIGN,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        unique.map((n) => ({ type: (net.isIP(n) ? 'ip' : 'dns') as 'ip' | 'dns', value: n })),
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
    ],
  });
  return {
    names: unique,
    serial,
    notBefore,
    notAfter,
    certPem: cert.toString('pem'),
    keyPem: await privateKeyPem(keys.privateKey),
  };
}

/**
 * The one file httpd reads for a vhost (SSLCertificateFile; mod_ssl takes
 * the key from it when there is no SSLCertificateKeyFile): certificate and
 * key together, so that one atomic rename makes both appear, and a key is
 * never on disk without its certificate.
 */
export const pairPem = (leaf: Leaf) => `${leaf.certPem.trimEnd()}\n${leaf.keyPem.trimEnd()}\n`;
