/** Ports: validation, a free-port finder, and who holds a port (from /proc). */
import { readlinkSync } from 'node:fs';
import net from 'node:net';
import { ApxsError } from './errors.js';
import { readDirIfAny, readTextIfAny } from './fs.js';

export function parsePort(text: string): number {
  const n = /^\d{1,5}$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 65535) {
    throw new ApxsError(
      'USAGE',
      `bad port ${JSON.stringify(text)}: expected a number from 1 to 65535`,
    );
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

// /proc is in memory: read synchronously, through core/fs's readTextIfAny and
// readDirIfAny, by functions that return values, not Promises. The socket
// tables cost the most (the kernel walks its whole connection hash for each
// read), so they are read only when an answer needs them.
/** The socket inode an fd link names ("socket:[123]"), if it is a socket. */
function socketInode(fdLink: string): string | undefined {
  try {
    return /^socket:\[(\d+)\]$/.exec(readlinkSync(fdLink))?.[1];
  } catch {
    return undefined;
  }
}

/** The inodes of every socket a process holds open (cheap: its fd links only). */
export function socketInodes(pid: number): string[] {
  const out: string[] = [];
  for (const fd of readDirIfAny(`/proc/${pid}/fd`)) {
    const inode = socketInode(`/proc/${pid}/fd/${fd}`);
    if (inode) out.push(inode);
  }
  return out;
}

/** Every TCP socket in LISTEN state (v4 and v6): inode -> "addr:port". */
function listeningTable(): Map<string, string> {
  const out = new Map<string, string>();
  for (const [f, v6] of [
    ['/proc/net/tcp', false],
    ['/proc/net/tcp6', true],
  ] as const) {
    for (const line of (readTextIfAny(f) ?? '').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] !== '0A' || !cols[9] || !cols[1]) continue; // 0A = LISTEN
      const [hex, portHex] = cols[1].split(':') as [string, string];
      out.set(cols[9], `${v6 ? `[${decodeV6(hex)}]` : decodeV4(hex)}:${parseInt(portHex, 16)}`);
    }
  }
  return out;
}

export interface PortHolder {
  pid: number;
  command: string;
}

/** Socket inodes listening on `port` (TCP, v4 and v6). */
function listeningInodes(port: number): Set<string> {
  return new Set(
    [...listeningTable()].filter(([, addr]) => addr.endsWith(`:${port}`)).map(([inode]) => inode),
  );
}

/** Which processes hold a listening socket on `port`, when /proc lets us see them. */
export function whoListens(port: number): PortHolder[] {
  const inodes = listeningInodes(port);
  if (inodes.size === 0) return [];
  const holders: PortHolder[] = [];
  for (const pidDir of readDirIfAny('/proc')) {
    if (!/^\d+$/.test(pidDir)) continue;
    for (const fd of readDirIfAny(`/proc/${pidDir}/fd`)) {
      const inode = socketInode(`/proc/${pidDir}/fd/${fd}`);
      if (inode && inodes.has(inode)) {
        const cmd = (readTextIfAny(`/proc/${pidDir}/cmdline`) ?? '')
          .split('\0')
          .filter(Boolean)
          .join(' ');
        holders.push({ pid: Number(pidDir), command: cmd });
        break;
      }
    }
  }
  return holders;
}

/**
 * What a process's sockets listen on: for each socket it holds (`inodes`,
 * when the caller has them already), the "addr:port" it listens on, or
 * undefined when it is not listening.
 */
export function listeningSockets(
  pid: number,
  inodes: string[] = socketInodes(pid),
): Map<string, string | undefined> {
  const table = listeningTable();
  return new Map(inodes.map((inode) => [inode, table.get(inode)]));
}

/** Listening sockets of one process, as "addr:port" strings. */
export function listeningAddresses(pid: number): string[] {
  return addressesOf(listeningSockets(pid));
}

export function addressesOf(sockets: Map<string, string | undefined>): string[] {
  return [...new Set([...sockets.values()].filter((a): a is string => a !== undefined))];
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
