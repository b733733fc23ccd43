/**
 * A server's logs, read the way ctl needs them: the lines written since an
 * offset (what this start or restart logged), the last N lines (all of them,
 * or one module's), and a follow loop for `ctl logs --follow` that yields
 * whatever httpd appends. The access log is found in the config.
 */
import { promises as fs, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { ApxsError } from '../core/errors.js';
import { escapeRegExp } from '../core/fs.js';
import { sleep } from '../core/proc.js';
import { is, type Directive } from '../httpd/conf-parse.js';
import { readServerInfo } from '../httpd/server-info.js';
import type { ServerRoot } from '../httpd/server-root.js';
import { serverFiles } from './server-files.js';

/**
 * A wait on a log that ends as soon as something is written to it (inotify,
 * through fs.watch) or after `ms`, whichever is first: a restart sees httpd's
 * "resuming normal operations" when it is written, not at the next poll.
 * Without a file, or where it cannot be watched, it is a plain sleep.
 */
export function watchLog(file: string | undefined): {
  next(ms: number): Promise<void>;
  close(): void;
} {
  let wake: (() => void) | undefined;
  let w: FSWatcher | undefined;
  try {
    w = file ? watch(file, { persistent: false }, () => wake?.()) : undefined;
    w?.on('error', () => w?.close());
  } catch {
    w = undefined;
  }
  return {
    next: (ms) =>
      new Promise<void>((resolve) => {
        const t = setTimeout(done, ms);
        function done() {
          clearTimeout(t);
          wake = undefined;
          resolve();
        }
        wake = done;
      }),
    close: () => w?.close(),
  };
}

/** The log's size now: the offset from which a later logSince reads. */
export async function logSize(file: string | undefined): Promise<number> {
  if (!file) return 0;
  return fs.stat(file).then(
    (s) => s.size,
    () => 0,
  );
}

/**
 * The lines a module logged. 2.4 tags each line with `[NAME:level]` (for a
 * module that declares APLOG_USE_MODULE, as the templates do); every series
 * names the source file of a debug line, `mod_NAME.c(25): `, which is all
 * 2.0 and 2.2 say of a module.
 */
export function moduleLinePattern(name: string): RegExp {
  const n = escapeRegExp(name.replace(/^mod_/, ''));
  return new RegExp(`\\[(?:mod_)?${n}:[a-z0-9]+\\]|\\bmod_${n}\\.(?:c|cc|cpp|cxx|C)\\(\\d+\\)`);
}

/**
 * Lines written since `offset` (at most `max`, the last ones, of those `filter` keeps) and the
 * offset they end at.
 */
async function readSince(
  file: string | undefined,
  offset: number,
  max: number,
  filter?: RegExp,
): Promise<{ lines: string[]; end: number }> {
  // slice(-0) is the whole log: a count that is not a whole number >= 1 is refused, not read as
  // "all".
  if (!Number.isInteger(max) || max < 1)
    throw new ApxsError('BAD_INPUT', `bad line count ${max}: expected a whole number >= 1`);
  if (!file) return { lines: [], end: 0 };
  const fh = await fs.open(file, 'r').catch(() => undefined);
  if (!fh) return { lines: [], end: 0 };
  try {
    const size = (await fh.stat()).size;
    const start = size < offset ? 0 : offset; // rotated or truncated: read it all
    const len = Math.min(size - start, 256 * 1024);
    const buf = Buffer.alloc(len);
    await fh.read(buf, 0, len, size - len);
    const lines = buf
      .toString('utf8')
      .split('\n')
      .filter((l) => l.trim() && (!filter || filter.test(l)));
    return { lines: lines.slice(-max), end: size };
  } finally {
    await fh.close();
  }
}

/** error_log lines written since `offset`. */
export async function logSince(
  file: string | undefined,
  offset: number,
  max = 30,
): Promise<string[]> {
  return (await readSince(file, offset, max)).lines;
}

/**
 * The last `n` lines and the offset they end at: followLog from there neither misses nor repeats a
 * line.
 */
export async function tailForFollow(
  file: string,
  n: number,
  filter?: RegExp,
): Promise<{ lines: string[]; end: number }> {
  return readSince(file, 0, n, filter);
}

export async function errorLogPath(sr: ServerRoot): Promise<string> {
  const info = await serverFiles(sr);
  if (!info.errorLog)
    throw new ApxsError('NOT_FOUND', 'this server logs errors to a pipe or syslog, not a file');
  return info.errorLog;
}

/** Each <VirtualHost>'s names and its own CustomLog/TransferLog files, in config order. */
function vhostLogs(directives: Directive[]): { names: string[]; logs: string[] }[] {
  const out: { names: string[]; logs: string[] }[] = [];
  let cur: { names: string[]; logs: string[] } | undefined;
  for (const d of directives) {
    if (is(d, 'VirtualHost') && d.kind !== 'directive') {
      cur = d.kind === 'open' ? { names: [], logs: [] } : undefined;
      if (cur) out.push(cur);
    } else if (cur && d.kind === 'directive') {
      if (is(d, 'ServerName') || is(d, 'ServerAlias'))
        cur.names.push(...d.args.map((a) => a.toLowerCase().replace(/:\d+$/, '')));
      if ((is(d, 'CustomLog') || is(d, 'TransferLog')) && d.args[0]) cur.logs.push(d.args[0]);
    }
  }
  return out;
}

/**
 * The access log: the vhost's own CustomLog or TransferLog where it has one
 * (httpd logs its requests there and not to the server-level one; Debian's
 * 000-default site logs to access.log, while the server-level
 * other_vhosts_access.log gets only the vhosts without their own), of
 * `vhost` when named, else of the first vhost (the default one); then the
 * server-level log (the last, as httpd logs to every one); else httpd's
 * default logs/access_log.
 */
export async function accessLogPath(sr: ServerRoot, vhost?: string): Promise<string> {
  const tree = (await readServerInfo(sr)).tree;
  const logs = tree.directives.filter(
    (d) => d.kind === 'directive' && (is(d, 'CustomLog') || is(d, 'TransferLog')) && d.args[0],
  );
  const serverLevel = logs.filter((d) => d.sections.every((s) => /^If/i.test(s)));
  const vhosts = vhostLogs(tree.directives);
  const own =
    vhost === undefined ? vhosts[0] : vhosts.find((v) => v.names.includes(vhost.toLowerCase()));
  if (vhost !== undefined && !own)
    throw new ApxsError('NOT_FOUND', `no vhost named ${vhost} in ${sr.configFile}`, {
      hint: 'apxs-ts vhost list shows the names',
    });
  const file =
    own?.logs[own.logs.length - 1] ??
    (serverLevel[serverLevel.length - 1] ?? logs[0])?.args[0] ??
    'logs/access_log';
  if (/^(\||syslog)/.test(file))
    throw new ApxsError(
      'NOT_FOUND',
      `this server logs requests to ${file.startsWith('|') ? 'a pipe' : 'syslog'}, not a file`,
    );
  return path.isAbsolute(file) ? file : path.join(tree.serverRoot, file);
}

/**
 * Whole lines of what followLog yields, only those `filter` keeps: a line split across two reads is
 * held until its end.
 */
export async function* followLines(
  file: string,
  opts: { from?: number; filter?: RegExp },
): AsyncGenerator<string> {
  let partial = '';
  for await (const chunk of followLog(file, { from: opts.from })) {
    const lines = (partial + chunk.toString('utf8')).split('\n');
    partial = lines.pop() ?? '';
    for (const l of lines) if (l.trim() && (!opts.filter || opts.filter.test(l))) yield l;
  }
}

/**
 * Yields what is appended to `file` from offset `from` (default: its size
 * now), polling every `intervalMs`, until the caller stops iterating. A log
 * that shrank was rotated or truncated: it is read again from its start.
 */
export async function* followLog(
  file: string,
  opts: { from?: number; intervalMs?: number } = {},
): AsyncGenerator<Buffer> {
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
