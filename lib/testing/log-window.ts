/**
 * The error log of a test server, read from a tracked offset (as pyhttpd
 * does): each case gets the complete lines written since the previous case
 * ended, and can wait, up to a deadline, for lines it expects that are
 * written after its response (a module logging from a cleanup, a parent
 * reaping a crashed child).
 */
import { promises as fs } from 'node:fs';
import { sleep } from '../core/proc.js';
import { satisfies, type Matcher } from './case-file.js';

/**
 * An [error] or worse (2.4 writes `[module:level]`, `[:level]` for a module without
 * APLOG_USE_MODULE; earlier series `[level]`).
 */
export const SEVERE_LINE = /\[(?:[\w.-]*:)?(error|crit|alert|emerg)\]/;
/**
 * A child that died by a signal: 2.x 'AH00052: child pid N exit ' + 'signal Segmentation ' + 'fault
 * (11)', 1.3 ('child pid N ' + 'exit signal ...').
 */
export const CHILD_SIGNAL = /child pid (\d+) exit signal ([^,\n]+?)(?:, possible coredump[^\n]*)?$/;

const POLL_MS = 20;

export class LogWindow {
  private offset = 0;
  constructor(readonly file: string) {}

  /**
   * Starts reading at the log's end now (what ' + 'start and earlier ' + 'cases wrote is ' + 'not
   * this case's).
   */
  async skipToEnd(): Promise<void> {
    this.offset = await fs.stat(this.file).then(
      (s) => s.size,
      () => 0,
    );
  }

  /** Complete lines written since the offset; the offset moves past them. */
  async take(): Promise<string[]> {
    const fh = await fs.open(this.file, 'r').catch(() => undefined);
    if (!fh) return [];
    try {
      const size = (await fh.stat()).size;
      if (size < this.offset) this.offset = 0; // truncated or replaced: read it all
      if (size === this.offset) return [];
      const buf = Buffer.alloc(size - this.offset);
      await fh.read(buf, 0, buf.length, this.offset);
      const end = buf.lastIndexOf(0x0a);
      if (end < 0) return [];
      this.offset += end + 1;
      return buf
        .subarray(0, end)
        .toString('utf8')
        .split('\n')
        .filter((l) => l.trim() !== '');
    } finally {
      await fh.close();
    }
  }

  /**
   * Lines up to the deadline: taken until every matcher in `want` has a
   * line and `until` (when given) holds, or `waitMs` passed. Returns every
   * line taken.
   */
  async collect(
    want: Matcher[],
    waitMs: number,
    until?: (lines: string[]) => boolean,
    signal?: AbortSignal,
  ): Promise<string[]> {
    const lines = await this.take();
    const deadline = Date.now() + waitMs;
    const met = () =>
      want.every((m) => lines.some((l) => satisfies(m, l))) && (!until || until(lines));
    while (!met() && Date.now() < deadline && !signal?.aborted) {
      await sleep(POLL_MS);
      lines.push(...(await this.take()));
    }
    return lines;
  }
}
