/** Ports: validation, a free-port finder, and who holds a port (from /proc). */
import { promises as fs } from 'node:fs';
import net from 'node:net';
import { ApxsError } from './errors.js';

export function parsePort(text: string): number {
  const n = /^\d{1,5}$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new ApxsError('USAGE', `bad port ${JSON.stringify(text)}: expected a number from 1 to 65535`);
  }
  return n;
}

/** Tries to bind host:port; true when nothing else holds it. */
export function canBind(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** A port the kernel says is free now on 127.0.0.1. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen({ port: 0, host }, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface PortHolder {
  pid: number;
  command: string;
}

/** Socket inodes listening on `port` (TCP, v4 and v6). */
async function listeningInodes(port: number): Promise<Set<string>> {
  const inodes = new Set<string>();
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await fs.readFile(f, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const local = cols[1];
      if (!local || cols[3] !== '0A') continue; // 0A = LISTEN
      const p = parseInt(local.split(':').pop() ?? '', 16);
      if (p === port && cols[9]) inodes.add(cols[9]);
    }
  }
  return inodes;
}

/** Which processes hold a listening socket on `port`, when /proc lets us see them. */
export async function whoListens(port: number): Promise<PortHolder[]> {
  const inodes = await listeningInodes(port);
  if (inodes.size === 0) return [];
  const holders: PortHolder[] = [];
  for (const pidDir of await fs.readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(pidDir)) continue;
    const fds = await fs.readdir(`/proc/${pidDir}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const link = await fs.readlink(`/proc/${pidDir}/fd/${fd}`).catch(() => '');
      const m = /^socket:\[(\d+)\]$/.exec(link);
      if (m && inodes.has(m[1]!)) {
        const cmd = (await fs.readFile(`/proc/${pidDir}/cmdline`, 'utf8').catch(() => '')).split('\0').filter(Boolean).join(' ');
        holders.push({ pid: Number(pidDir), command: cmd });
        break;
      }
    }
  }
  return holders;
}

/** Listening sockets of one process, as "addr:port" strings. */
export async function listeningAddresses(pid: number): Promise<string[]> {
  const mine = new Set<string>();
  for (const fd of await fs.readdir(`/proc/${pid}/fd`).catch(() => [] as string[])) {
    const m = /^socket:\[(\d+)\]$/.exec(await fs.readlink(`/proc/${pid}/fd/${fd}`).catch(() => ''));
    if (m) mine.add(m[1]!);
  }
  const out: string[] = [];
  for (const [f, v6] of [['/proc/net/tcp', false], ['/proc/net/tcp6', true]] as const) {
    const text = await fs.readFile(f, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] !== '0A' || !cols[9] || !mine.has(cols[9]) || !cols[1]) continue;
      const [hex, portHex] = cols[1].split(':') as [string, string];
      out.push(`${v6 ? `[${decodeV6(hex)}]` : decodeV4(hex)}:${parseInt(portHex, 16)}`);
    }
  }
  return [...new Set(out)];
}

function decodeV4(hex: string): string {
  const n = parseInt(hex, 16);
  return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24].join('.');
}

function decodeV6(hex: string): string {
  // /proc prints four little-endian 32-bit words.
  const words: string[] = [];
  for (let i = 0; i < 32; i += 8) {
    const w = hex.slice(i, i + 8);
    const b = w.match(/../g)!.reverse().join('');
    words.push(b.slice(0, 4), b.slice(4, 8));
  }
  const s = words.map((w) => w.replace(/^0+(?=.)/, '').toLowerCase()).join(':');
  return s.replace(/(^|:)0(:0)+(:|$)/, '::').replace(/:{3,}/, '::');
}
