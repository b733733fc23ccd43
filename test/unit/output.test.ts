/** commands/output.ts: fs.writeSync first; after an EAGAIN, the stream for the rest and for everything after it. */
import { afterEach, describe, expect, it, vi } from 'vitest';

const writes: { fd: number; text: string }[] = [];
let eagainAfter = Infinity; // bytes written before writeSync says EAGAIN

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  return {
    ...fs,
    writeSync: (fd: number, buf: Buffer, off = 0) => {
      const room = Math.min(buf.length - off, eagainAfter);
      if (room <= 0)
        throw Object.assign(new Error('EAGAIN: resource temporarily unavailable, write'), {
          code: 'EAGAIN',
        });
      eagainAfter -= room;
      writes.push({ fd, text: buf.subarray(off, off + room).toString() });
      return room;
    },
  };
});

afterEach(() => {
  writes.length = 0;
  eagainAfter = Infinity;
  vi.restoreAllMocks();
});

describe('writeOut', () => {
  it('writes with writeSync while the descriptor takes it', async () => {
    const { writeOut, writeLines } = await import('../../commands/output.js');
    const stream = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    writeOut('one\n');
    writeLines('out', ['two', 'three']);
    writeLines('out', []);
    expect(writes).toEqual([
      { fd: 1, text: 'one\n' },
      { fd: 1, text: 'two\nthree\n' },
    ]);
    expect(stream).not.toHaveBeenCalled();
  });

  it('after EAGAIN, the rest and every later write go through the stream, in order', async () => {
    vi.resetModules();
    const { writeOut } = await import('../../commands/output.js');
    const stream = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    eagainAfter = 4;
    writeOut('abcdefgh\n');
    eagainAfter = Infinity; // the descriptor would take more now: it must not overtake the stream
    writeOut('next\n');
    expect(writes).toEqual([{ fd: 1, text: 'abcd' }]);
    expect(stream.mock.calls.map((c) => c[0].toString())).toEqual(['efgh\n', 'next\n']);
  });
});
