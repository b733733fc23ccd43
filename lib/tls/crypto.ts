/**
 * @peculiar/x509 on Node's webcrypto, set up once. reflect-metadata must be
 * loaded before @peculiar/x509 (its ASN.1 schema decorators need it).
 */
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { x509 };
export const subtle = webcrypto.subtle;

export const EC_KEY = { name: 'ECDSA', namedCurve: 'P-256' } as const;
export const EC_SIGN = { name: 'ECDSA', hash: 'SHA-256' } as const;

export async function newKeyPair(): Promise<CryptoKeyPair> {
  return (await subtle.generateKey(EC_KEY, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
}

export async function privateKeyPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await subtle.exportKey('pkcs8', key as never), 'PRIVATE KEY');
}

export async function importSigningKey(pem: string): Promise<CryptoKey> {
  return (await subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(pem), EC_KEY, false, [
    'sign',
  ])) as unknown as CryptoKey;
}

/**
 * A random positive serial, 16 bytes (RFC 5280: at most 20 octets, CA/B: at least 64 bits of
 * randomness).
 */
export function serialHex(): string {
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0] = (b[0]! & 0x7f) | 0x01;
  return Buffer.from(b).toString('hex');
}
