/**
 * What a running httpd listens on, for `ctl status`, without paying for the
 * kernel's socket tables on every call. Reading /proc/net/tcp and tcp6 costs
 * ~7 ms here (see core/ports.ts), a fifth of what status may spend beyond
 * Node's own start. A listening socket's address never changes, so what was
 * read is kept in the user's cache, per process (pid, start ticks, boot id)
 * and per socket inode, and used only while that process holds exactly the
 * same sockets, every one of which was listening when read (a socket not yet
 * listening could start to). A restart that changes the Listen lines opens
 * new sockets, whose inodes are new: the tables are read again.
 */
// @ts-nocheck

import path from 'node:path';
import { cacheDir, readCacheJson, shortHash, writeCacheFile } from '../core/fs.js';
import { addressesOf, listeningSockets, socketInodes } from '../core/ports.js';
import { bootId, startTicks } from '../core/proc.js';

interface Entry {
  process: string;
  sockets: Record<string, string>;
}

function cacheFile(serverRoot: string): string {
  return path.join(cacheDir(), `listening-${shortHash(serverRoot)}.json`);
}

/** The "addr:port" list of `pid`'s listening sockets; `serverRoot` names its cache entry. */
export function serverListening(serverRoot: string, pid: number): string[] {
  const ticks = startTicks(pid);
  if (ticks === undefined) return [];
  const processKey = `${pid} ${ticks} ${bootId()}`;
  const file = cacheFile(serverRoot);
  const held = socketInodes(pid).sort();
  const entry = readCacheJson<Entry>(file); // none yet, torn, or hand-edited: the tables
  if (entry?.process === processKey && typeof entry.sockets === 'object' && entry.sockets !== null && held.length > 0) {
    const known = Object.keys(entry.sockets).sort();
    if (known.length === held.length && known.every((k, i) => k === held[i] && typeof entry.sockets[k] === 'string')) {
      return addressesOf(new Map(Object.entries(entry.sockets)));
    }
  }
  const sockets = listeningSockets(pid, held);
  // Kept only when every socket listens and the process is still the one keyed.
  const listening = [...sockets].filter((e): e is [string, string] => e[1] !== undefined);
  if (listening.length > 0 && listening.length === sockets.size && startTicks(pid) === ticks) {
    writeCacheFile(file, JSON.stringify({ process: processKey, sockets: Object.fromEntries(listening) } satisfies Entry));
  }
  return addressesOf(sockets);
}
