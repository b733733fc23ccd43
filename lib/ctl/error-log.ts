/**
 * A server's error log, read the way ctl needs it: the lines written since an
 * offset (what this start or restart logged), the last N lines, and a follow
 * loop for `ctl logs --follow` that yields whatever httpd appends.
 */
import { promises as fs } from 'node:fs';
import { ApxsError } from '../core/errors.js';
import { sleep } from '../core/proc.js';
import type { ServerRoot } from '../httpd/server-root.js';
import { serverFiles } from './server-files.js';

/** The log's size now: the offset from which a later logSince reads. */
export async function logSize(file: string | undefined): Promise<number> {
  if (!file) return 0;
  return fs.stat(file).then((s) => s.size, () => 0);
}

/** Lines written since `offset` (at most `max`, the last ones) and the offset they end at. */
async function readSince(file: string | undefined, offset: number, max: number): Promise<{ lines: string[]; end: number }> {
  if (!file) return { lines: [], end: 0 };
  const fh = await fs.open(file, 'r').catch(() => undefined);
  if (!fh) return { lines: [], end: 0 };
  try {
    const size = (await fh.stat()).size;
    const start = size < offset ? 0 : offset; // rotated or truncated: read it all
    const len = Math.min(size - start, 256 * 1024);
    const buf = Buffer.alloc(len);
    await fh.read(buf, 0, len, size - len);
    const lines = buf.toString('utf8').split('\n').filter((l) => l.trim());
    return { lines: lines.slice(-max), end: size };
  } finally {
    await fh.close();
  }
}

/** error_log lines written since `offset`. */
export async function logSince(file: string | undefined, offset: number, max = 30): Promise<string[]> {
  return (await readSince(file, offset, max)).lines;
}

export async function tailLog(file: string, n: number): Promise<string[]> {
  return logSince(file, 0, n);
}

/** The last `n` lines and the offset they end at: followLog from there neither misses nor repeats a line. */
export async function tailForFollow(file: string, n: number): Promise<{ lines: string[]; end: number }> {
  return readSince(file, 0, n);
}

export async function errorLogPath(sr: ServerRoot): Promise<string> {
  const info = await serverFiles(sr);
  if (!info.errorLog) throw new ApxsError('NOT_FOUND', 'this server logs errors to a pipe or syslog, not a file');
  return info.errorLog;
}

/**
 * Yields what is appended to `file` from offset `from` (default: its size
 * now), polling every `intervalMs`, until the caller stops iterating. A log
 * that shrank was rotated or truncated: it is read again from its start.
 */
export async function* followLog(file: string, opts: { from?: number; intervalMs?: number } = {}): AsyncGenerator<Buffer> {
  let pos = opts.from ?? (await logSize(file));
  for (;;) {
    const size = await logSize(file);
    if (size < pos) pos = 0;
    // Gone between the stat and the open (rotated by rename): the next round reads the new one.
    const fh = size > pos ? await fs.open(file, 'r').catch(() => undefined) : undefined;
    if (fh) {
      try {
        const buf = Buffer.alloc(size - pos);
        await fh.read(buf, 0, buf.length, pos);
        yield buf;
      } finally {
        await fh.close();
      }
      pos = size;
    }
    await sleep(opts.intervalMs ?? 200);
  }
}
