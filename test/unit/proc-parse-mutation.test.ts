/**
 * lib/core/proc.ts's two /proc parsers on crafted text (#16): the live /proc
 * always has every field and one "btime" line, so the fallbacks and anchors
 * are only reachable this way.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseBootTime, parseStat, readPidFile } from '../../lib/core/proc.js';

// lib/core/proc.ts's PID_FILE_MAX: a file that fills the buffer is not read as a pid.
const PID_FILE_MAX = 64;

describe('readPidFile: only a few bytes of a regular file', () => {
  it('a FIFO holding "42\n" is no pid file; a file of PID_FILE_MAX bytes is too long, one byte less is read', async () => {
    const d = mkdtempSync(path.join(os.tmpdir(), 'apxs-mut3-pid-'));
    const fifo = path.join(d, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const fd = openSync(fifo, 'r+'); // read-write: opening a FIFO so does not block
    writeSync(fd, '42\n');
    expect(await readPidFile(fifo)).toBeUndefined();
    closeSync(fd);
    const f = path.join(d, 'pid');
    writeFileSync(f, `42${' '.repeat(PID_FILE_MAX - 2)}`);
    expect(await readPidFile(f)).toBeUndefined();
    writeFileSync(f, `42${' '.repeat(PID_FILE_MAX - 3)}`);
    expect(await readPidFile(f)).toBe(42);
    rmSync(d, { recursive: true, force: true });
  });
});

describe('parseStat', () => {
  it('reads state, ppid, session and starttime after a comm holding spaces and parentheses', () => {
    const fields = [
      'S',
      '7',
      '8',
      '9',
      ...Array.from({ length: 15 }, (_, i) => `${i}`),
      '4242',
      'x',
    ];
    expect(parseStat(`12 (a) b) ${fields.join(' ')}`)).toEqual({
      state: 'S',
      ppid: 7,
      session: 9,
      ticks: '4242',
    });
  });

  it('a line cut short gives no ticks; no text gives nothing', () => {
    expect(parseStat('12 (x)')).toMatchObject({ state: '', ticks: '' });
    expect(parseStat('12 (x) R 1')).toMatchObject({ state: 'R', ppid: 1, ticks: '' });
    expect(parseStat(undefined)).toBeUndefined();
    expect(parseStat('')).toBeUndefined();
  });
});

describe('parseBootTime', () => {
  it('takes the whole line "btime N" only', () => {
    expect(parseBootTime('cpu 1 2\nbtime 1700000000\nprocesses 5\n')).toBe(1700000000000);
    expect(parseBootTime('xbtime 5\nbtime 7\n')).toBe(7000);
    expect(parseBootTime('btime 5x\nbtime 7\n')).toBe(7000);
    expect(parseBootTime('cpu 1\n')).toBe(0);
  });
});
