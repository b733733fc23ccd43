/**
 * ctl status's listening addresses: read from /proc/net/tcp{,6} once, then
 * taken from the cache only while the process holds exactly the sockets it
 * held then, all listening. A real process (a Node child) holds the sockets.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { listeningAddresses } from '../../lib/core/ports.js';
import { serverListening } from '../../lib/ctl/listening.js';
import { tmpDir } from '../helpers.js';

/**
 * A child that listens on one port and, on SIGUSR1, on another; on SIGUSR2 it
 * opens a client socket too. It says each port (or "connected") in a file:
 * stdio pipes would be sockets too (libuv makes them with socketpair).
 */
async function holder(): Promise<{
  child: ChildProcess;
  port: number;
  send: (signal: NodeJS.Signals) => Promise<string>;
}> {
  const dir = await tmpDir('apxs-ts-holder-');
  const out = path.join(dir, 'out');
  const code = `
    const fs = require('fs'), net = require('net');
    const keep = [];
    const reply = (s) => fs.appendFileSync(${JSON.stringify(out)}, s + '\\n');
    const listen = () => { const s = net.createServer(); keep.push(s); s.listen(0, '127.0.0.1', () => reply(String(s.address().port))); };
    process.on('SIGUSR1', listen);
    process.on('SIGUSR2', () => { const c = net.connect(keep[0].address().port, '127.0.0.1', () => reply('connected')); keep.push(c); });
    listen();`;
  const child = spawn(process.execPath, ['-e', code], { stdio: 'ignore' });
  let seen = 0;
  const next = async () => {
    for (;;) {
      const lines = (await fs.readFile(out, 'utf8').catch(() => '')).split('\n').filter(Boolean);
      if (lines.length > seen) return lines[seen++]!;
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const send = (signal: NodeJS.Signals) => {
    child.kill(signal);
    return next();
  };
  return { child, port: Number(await next()), send };
}

let cache: string;
let saved: string | undefined;
const children: ChildProcess[] = [];
beforeEach(async () => {
  cache = await tmpDir('apxs-ts-listening-');
  saved = process.env.XDG_CACHE_HOME;
  process.env.XDG_CACHE_HOME = cache;
});
afterEach(() => {
  if (saved === undefined) delete process.env.XDG_CACHE_HOME;
  else process.env.XDG_CACHE_HOME = saved;
});
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

/** The one listening entry (lib/core/cache.ts: {key, value}): its file, key and value. */
async function cacheEntry(): Promise<
  | { file: string; key: string; entry: { process: string; sockets: Record<string, string> } }
  | undefined
> {
  const files = (await fs.readdir(path.join(cache, 'apxs-ts')).catch(() => [] as string[])).filter(
    (f) => f.startsWith('listening-'),
  );
  if (files.length === 0) return undefined;
  const file = path.join(cache, 'apxs-ts', files[0]!);
  const { key, value } = JSON.parse(await fs.readFile(file, 'utf8'));
  return { file, key, entry: value };
}

describe('serverListening', () => {
  it('reads the tables once, then answers from the cache while the sockets are the same', async () => {
    const h = await holder();
    children.push(h.child);
    const pid = h.child.pid!;
    expect(await serverListening('/srv/a', pid)).toEqual([`127.0.0.1:${h.port}`]);
    const first = await cacheEntry();
    expect(first).toBeDefined();
    expect(Object.values(first!.entry.sockets)).toEqual([`127.0.0.1:${h.port}`]);
    // Proof the second answer comes from the cache: an address the tables would never give.
    const inode = Object.keys(first!.entry.sockets)[0]!;
    await fs.writeFile(
      first!.file,
      JSON.stringify({
        key: first!.key,
        value: { ...first!.entry, sockets: { [inode]: '192.0.2.1:1' } },
      }),
    );
    expect(await serverListening('/srv/a', pid)).toEqual(['192.0.2.1:1']);
    // A torn or hand-edited entry (no sockets, not JSON, not an object) is no answer: the tables again.
    for (const bad of [
      JSON.stringify({ key: first!.key, value: { process: first!.entry.process } }),
      '{"key":',
      'null',
    ]) {
      await fs.writeFile(first!.file, bad);
      expect(await serverListening('/srv/a', pid)).toEqual([`127.0.0.1:${h.port}`]);
    }
    // Another server root has its own entry: the tables are read for it.
    expect(await serverListening('/srv/b', pid)).toEqual([`127.0.0.1:${h.port}`]);

    // A new listener (a restart with another Listen line): new inodes, the tables again.
    const second = Number(await h.send('SIGUSR1'));
    expect((await serverListening('/srv/a', pid)).sort()).toEqual(
      [`127.0.0.1:${h.port}`, `127.0.0.1:${second}`].sort(),
    );
    // And that answer is now the cached one, equal to the tables'.
    expect((await serverListening('/srv/a', pid)).sort()).toEqual(listeningAddresses(pid).sort());
  });

  it('keeps nothing while the process holds a socket that is not listening, and another process is not the cached one', async () => {
    const h = await holder();
    children.push(h.child);
    expect(await h.send('SIGUSR2')).toBe('connected');
    expect(await serverListening('/srv/c', h.child.pid!)).toEqual([`127.0.0.1:${h.port}`]);
    expect(await cacheEntry()).toBeUndefined();

    const other = await holder();
    children.push(other.child);
    expect(await serverListening('/srv/d', other.child.pid!)).toEqual([`127.0.0.1:${other.port}`]);
    const e = await cacheEntry();
    // The same root's entry, now asked about another pid: its key does not match, the tables decide.
    await fs.writeFile(
      e!.file,
      JSON.stringify({
        key: e!.key,
        value: {
          ...e!.entry,
          sockets: Object.fromEntries(Object.keys(e!.entry.sockets).map((k) => [k, '192.0.2.1:1'])),
        },
      }),
    );
    const third = await holder();
    children.push(third.child);
    expect(await serverListening('/srv/d', third.child.pid!)).toEqual([`127.0.0.1:${third.port}`]);
  });

  it('says nothing for a process that is gone', async () => {
    const h = await holder();
    h.child.kill('SIGKILL');
    await new Promise((r) => h.child.once('exit', r));
    expect(await serverListening('/srv/e', h.child.pid!)).toEqual([]);
  });
});
