/**
 * The NameConstraints extension (RFC 5280 4.2.1.10) of apxs-ts's local CA,
 * encoded and read here: @peculiar/x509 has no class for it. Only what the CA
 * writes: permitted dNSName subtrees (the dev suffixes) and permitted
 * iPAddress subtrees (loopback), so a leaked dev CA signs for no public site
 * and no other address. OpenSSL 3 and Chrome (since 2024, for local roots)
 * enforce them.
 */
import net from 'node:net';

export const NAME_CONSTRAINTS_OID = '2.5.29.30';

/** Loopback only: an IP SAN of any other address is outside the CA's constraints. */
export const PERMITTED_IPS = ['127.0.0.0/8', '::1/128'];

function len(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (let v = n; v > 0; v >>= 8) out.unshift(v & 0xff);
  return [0x80 | out.length, ...out];
}

const tlv = (tag: number, body: number[]): number[] => [tag, ...len(body.length), ...body];

function ipBytes(cidr: string): number[] {
  const [ip, bits] = cidr.split('/') as [string, string];
  const family = net.isIP(ip);
  const size = family === 4 ? 4 : 16;
  const addr = family === 4 ? ip.split('.').map(Number) : ipv6Bytes(ip);
  const mask: number[] = [];
  for (let i = 0, b = Number(bits); i < size; i++, b -= 8)
    mask.push(b >= 8 ? 0xff : b <= 0 ? 0 : (0xff << (8 - b)) & 0xff);
  return [...addr, ...mask];
}

function ipv6Bytes(ip: string): number[] {
  const [head, tail] = ip.includes('::') ? (ip.split('::') as [string, string]) : [ip, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return groups.flatMap((g) => {
    const v = parseInt(g || '0', 16);
    return [v >> 8, v & 0xff];
  });
}

/**
 * DER of NameConstraints { permittedSubtrees [0] { GeneralSubtree { dNSName [2] | iPAddress [7] }
 * ... } }.
 */
export function encodeNameConstraints(
  dnsSuffixes: string[],
  ipCidrs: string[] = PERMITTED_IPS,
): Uint8Array {
  const subtrees = [
    ...dnsSuffixes.map((s) => tlv(0x30, tlv(0x82, [...Buffer.from(s, 'ascii')]))),
    ...ipCidrs.map((c) => tlv(0x30, tlv(0x87, ipBytes(c)))),
  ].flat();
  return Uint8Array.from(tlv(0x30, tlv(0xa0, subtrees)));
}

interface Tlv {
  tag: number;
  body: Uint8Array;
}

function readTlvs(buf: Uint8Array): Tlv[] {
  const out: Tlv[] = [];
  for (let i = 0; i < buf.length; ) {
    const tag = buf[i++]!;
    let n = buf[i++]!;
    if (n & 0x80) {
      const k = n & 0x7f;
      n = 0;
      for (let j = 0; j < k; j++) n = (n << 8) | buf[i++]!;
    }
    out.push({ tag, body: buf.subarray(i, i + n) });
    i += n;
  }
  return out;
}

function cidrOf(b: Uint8Array): string {
  const half = b.length / 2;
  const addr = b.subarray(0, half);
  const bits = [...b.subarray(half)].reduce(
    (s, x) => s + x.toString(2).replace(/0/g, '').length,
    0,
  );
  const ip = half === 4 ? [...addr].join('.') : compressV6([...addr]);
  return `${ip}/${bits}`;
}

function compressV6(bytes: number[]): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return groups
    .join(':')
    .replace(/(^|:)0(:0)+(:|$)/, '::')
    .replace(/:{3,}/, '::');
}

/**
 * The permitted DNS suffixes and IP ranges of a NameConstraints value (what `tls ca --show`
 * prints).
 */
export function decodeNameConstraints(der: Uint8Array): { dns: string[]; ip: string[] } {
  const dns: string[] = [];
  const ip: string[] = [];
  const top = readTlvs(der)[0];
  const permitted = top ? readTlvs(top.body).find((t) => t.tag === 0xa0) : undefined;
  for (const subtree of permitted ? readTlvs(permitted.body) : []) {
    const base = readTlvs(subtree.body)[0];
    if (base?.tag === 0x82) dns.push(Buffer.from(base.body).toString('ascii'));
    else if (base?.tag === 0x87) ip.push(cidrOf(base.body));
  }
  return { dns, ip };
}

/**
 * Whether `name` is inside a permitted DNS subtree, as OpenSSL matches them:
 * `.test` covers names below test only; `localhost` covers itself and every
 * name below it.
 */
export function dnsPermitted(name: string, suffixes: string[]): boolean {
  const n = name.toLowerCase().replace(/^\*\./, 'x.');
  return suffixes.some((s) => {
    const c = s.toLowerCase();
    if (c.startsWith('.')) return n.endsWith(c) && n.length > c.length;
    return n === c || n.endsWith(`.${c}`);
  });
}

/** Whether an IP address is inside one of the CIDR ranges. */
export function ipPermitted(ip: string, cidrs: string[] = PERMITTED_IPS): boolean {
  const fam = net.isIP(ip);
  const list = new net.BlockList();
  for (const c of cidrs) {
    const [a, bits] = c.split('/') as [string, string];
    if (net.isIP(a) === fam) list.addSubnet(a, Number(bits), fam === 4 ? 'ipv4' : 'ipv6');
  }
  return list.check(ip, fam === 4 ? 'ipv4' : 'ipv6');
}

/**
 * A suffix the user may --permit: a DNS name, with an optional leading dot (no wildcard, no IP).
 */
export function validSuffix(s: string): boolean {
  const body = s.startsWith('.') ? s.slice(1) : s;
  return (
    body.length > 0 &&
    body.length <= 253 &&
    body.split('.').every((l) => /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i.test(l))
  );
}
