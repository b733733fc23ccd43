/**
 * The two descriptors commands print to. Written with fs.writeSync rather
 * than process.stdout/stderr: the first touch of either builds a stream
 * (node:stream and its kin loaded, ~1.8 ms, a tenth of what a no-op `build`
 * may spend beyond Node's own start; bench/startup.sh). On Linux those
 * streams write synchronously to files, pipes and terminals anyway, so the
 * order of what is printed is the same.
 */
import { writeSync } from 'node:fs';
import { isErrno } from '../lib/core/errors.js';

/**
 * Descriptors that met EAGAIN once: from then on the stream writes them, so nothing overtakes what
 * it holds.
 */
const viaStream = new Set<number>();

let exitCodeIfGone = 0;

/**
 * The exit code to leave with when the reader goes away while this run's
 * outcome is printed (`apxs-ts … | head -1`): commands/index.ts sets it
 * before it prints, since main() has not returned its code yet.
 */
export function setExitCodeIfReaderGone(code: number): void {
  exitCodeIfGone = code;
}

// A reader that went away is not an error of ours: leave with the run's code, no stack.
const readerGone = (): never => process.exit(exitCodeIfGone);

function fallBackToStream(fd: 1 | 2): NodeJS.WriteStream {
  const s = fd === 1 ? process.stdout : process.stderr;
  if (!viaStream.has(fd)) {
    viaStream.add(fd);
    s.on('error', (err) => {
      if (isErrno(err, 'EPIPE')) readerGone();
      throw err;
    });
  }
  return s;
}

function writeFd(fd: 1 | 2, text: string): void {
  if (!text) return;
  if (viaStream.has(fd)) {
    fallBackToStream(fd).write(text);
    return;
  }
  const buf = Buffer.from(text);
  let off = 0;
  try {
    while (off < buf.length) off += writeSync(fd, buf, off);
  } catch (err) {
    if (isErrno(err, 'EPIPE')) readerGone();
    // A non-blocking descriptor inherited from the caller: the stream waits for it.
    if (isErrno(err, 'EAGAIN')) {
      fallBackToStream(fd).write(buf.subarray(off));
      return;
    }
    throw err;
  }
}

export const writeOut = (text: string): void => writeFd(1, text);
export const writeErr = (text: string): void => writeFd(2, text);

/** Lines, each ending in a newline; nothing for none. */
export function writeLines(fd: 'out' | 'err', lines: string[] | undefined): void {
  if (lines?.length) (fd === 'out' ? writeOut : writeErr)(lines.join('\n') + '\n');
}

/** lib/'s warnings as the lines every command prints them as. */
export const warningLines = (warnings: readonly string[]): string[] =>
  warnings.map((w) => `warning: ${w}`);
