/**
 * What a running httpd listens on, for `ctl status`, without reading the
 * kernel's socket tables on every call: that read is the largest part of
 * what status spends beyond Node's own start (bench/status-costs.sh, in
 * bench/RESULTS.md: more than the 10% a cache must buy). A listening socket's
 * address never changes, so what was read is kept (lib/core/cache.ts), per
 * server root, with the process (pid, start ticks, boot id) and each socket
 * inode, and used only while that process holds exactly the same sockets,
 * every one of which was listening when read (a socket not yet listening
 * could start to). A restart that changes the Listen lines opens new
 * sockets, whose inodes are new: the tables are read again.
 */
import { readCache, writeCache } from '../core/cache.js';
import { addressesOf, listeningSockets, socketInodes } from '../core/ports.js';
import { bootId, startTicks } from '../core/proc.js';

interface Entry {
  process: string;
  sockets: Record<string, string>;
}

const isEntry = (v: unknown): v is Entry => {
  const e = v as Partial<Entry> | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof e.process === 'string' &&
    typeof e.sockets === 'object' &&
    e.sockets !== null &&
    Object.values(e.sockets).every((a) => typeof a === 'string')
  );
};

/** The "addr:port" list of `pid`'s listening sockets; `serverRoot` names its cache entry. */
export async function serverListening(serverRoot: string, pid: number): Promise<string[]> {
  const ticks = startTicks(pid);
  if (ticks === undefined) return [];
  const processKey = `${pid} ${ticks} ${bootId()}`;
  const held = socketInodes(pid).sort();
  // none yet, torn, or hand-edited: the tables
  const entry = readCache('listening', serverRoot, isEntry);
  if (entry?.process === processKey && held.length > 0) {
    const known = Object.keys(entry.sockets).sort();
    if (known.length === held.length && known.every((k, i) => k === held[i]))
      return addressesOf(new Map(Object.entries(entry.sockets)));
  }
  const sockets = listeningSockets(pid, held);
  // Kept only when every socket listens and the process is still the one keyed.
  const listening = [...sockets].filter((e): e is [string, string] => e[1] !== undefined);
  if (listening.length > 0 && listening.length === sockets.size && startTicks(pid) === ticks) {
    await writeCache('listening', serverRoot, {
      process: processKey,
      sockets: Object.fromEntries(listening),
    } satisfies Entry);
  }
  return addressesOf(sockets);
}
