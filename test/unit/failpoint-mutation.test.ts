/**
 * The failpoint decision and action in-process (issue #16, mutation testing):
 * which arrival at a step fires, what the mark says, that `wait` mode blocks
 * before dying and the other modes do not. The real SIGKILL of a process is
 * test/reliability/failpoint.test.ts (a child process; Stryker cannot see it).
 */
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { failpoint, fire, parseFailpoint, shouldFire } from '../../lib/core/failpoint.js';
import { tmpDir } from '../helpers.js';

describe('parseFailpoint', () => {
  it.each([
    ['edit:after-backup', 'edit:after-backup', 1],
    ['edit:after-write@2', 'edit:after-write', 2],
    ['edit:after-write@17', 'edit:after-write', 17],
    ['a@b@3', 'a@b', 3], // the last @ separates the count
    ['x@0', 'x', 1], // below 1: the first arrival
    ['x@-2', 'x', 1],
    ['x@1.5', 'x', 1], // not an integer
    ['x@abc', 'x', 1],
    ['x@', 'x', 1], // Number('') is 0
    ['@3', '@3', 1], // an @ at the start is part of the name
    ['x', 'x', 1],
  ])('%j -> %j, arrival %d', (spec, name, nth) => {
    expect(parseFailpoint(spec)).toEqual({ name, nth });
  });
});

describe('shouldFire', () => {
  it('fires at the first arrival of the named step only, counting only that step', () => {
    const counts = new Map<string, number>();
    const seen = ['a', 'b', 'b', 'c', 'b'].map((s) => shouldFire('b', s, counts));
    expect(seen).toEqual([false, true, false, false, false]);
    expect([...counts]).toEqual([['b', 3]]); // a and c are never counted
  });

  it('name@N fires at the Nth arrival only', () => {
    const counts = new Map<string, number>();
    const seen = ['b', 'a', 'b', 'b', 'b'].map((s) => shouldFire('b@3', s, counts));
    expect(seen).toEqual([false, false, false, true, false]);
    expect(counts.get('b')).toBe(4);
  });

  it('counts that were there before go on from where they are', () => {
    const counts = new Map<string, number>([['b', 1]]);
    expect(shouldFire('b@2', 'b', counts)).toBe(true);
    expect(counts.get('b')).toBe(2);
  });

  it('no spec, an empty spec or another step never fires and counts nothing', () => {
    const counts = new Map<string, number>();
    expect(shouldFire(undefined, 'b', counts)).toBe(false);
    expect(shouldFire('', 'b', counts)).toBe(false);
    expect(shouldFire('bb', 'b', counts)).toBe(false);
    expect(shouldFire('b@2', 'a', counts)).toBe(false);
    expect(counts.size).toBe(0);
  });
});

describe('fire', () => {
  it('writes the spec and a newline to the mark, then dies once', async () => {
    const dir = await tmpDir('apxs-ts-fp-unit-');
    const mark = path.join(dir, 'mark');
    let died = 0;
    let markAtDeath: string | undefined;
    fire({ APXS_TS_FAILPOINT: 'edit:after-write@2', APXS_TS_FAILPOINT_MARK: mark }, () => {
      died++;
      markAtDeath = readFileSync(mark, 'utf8');
    });
    expect(died).toBe(1);
    expect(markAtDeath).toBe('edit:after-write@2\n'); // written before dying
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('without a mark path writes nothing and still dies; outside wait mode it does not wait', () => {
    let died = 0;
    // A wait here would block for the full 60 s (and time the test out): this mode must not wait.
    fire({ APXS_TS_FAILPOINT: 'x', APXS_TS_FAILPOINT_MODE: 'kill' }, () => died++, 60_000);
    fire({ APXS_TS_FAILPOINT: 'x' }, () => died++, 60_000);
    expect(died).toBe(2);
  });

  it('wait mode blocks (the event loop too) for its whole time before dying', () => {
    const t0 = Date.now();
    let diedAfter = -1;
    fire(
      { APXS_TS_FAILPOINT: 'x', APXS_TS_FAILPOINT_MODE: 'wait' },
      () => {
        diedAfter = Date.now() - t0;
      },
      200,
    );
    expect(diedAfter).toBeGreaterThanOrEqual(200); // a lower bound only: load can make it longer, never shorter
  });

  it('pause mode: the mark, then goes on (no death) once the resume file exists', async () => {
    const dir = await tmpDir('apxs-ts-fp-unit-');
    const mark = path.join(dir, 'mark');
    const resume = path.join(dir, 'go');
    const env = {
      APXS_TS_FAILPOINT: 'x',
      APXS_TS_FAILPOINT_MARK: mark,
      APXS_TS_FAILPOINT_MODE: 'pause',
      APXS_TS_FAILPOINT_RESUME: resume,
    };
    let died = 0;
    // No resume file: it waits its whole time (a lower bound only), then goes on, still alive.
    const t0 = Date.now();
    fire(env, () => died++, 200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(200);
    expect(readFileSync(mark, 'utf8')).toBe('x\n');
    // The resume file there: it goes on at once (a 60 s wait would time the test out).
    await fs.writeFile(resume, '');
    fire(env, () => died++, 60_000);
    expect(died).toBe(0);
    await fs.rm(dir, { recursive: true, force: true });
  });
});

describe('failpoint', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const k of ['APXS_TS_FAILPOINT', 'APXS_TS_FAILPOINT_MARK', 'APXS_TS_FAILPOINT_MODE']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  it('does nothing without APXS_TS_FAILPOINT', () => {
    delete process.env.APXS_TS_FAILPOINT;
    let died = 0;
    for (const s of ['a', 'b', 'c']) failpoint(s, () => died++);
    expect(died).toBe(0);
  });

  it('dies at the step APXS_TS_FAILPOINT names, at the arrival it names, with the mark written', async () => {
    const dir = await tmpDir('apxs-ts-fp-unit-');
    const mark = path.join(dir, 'mark');
    process.env.APXS_TS_FAILPOINT = 'unit:step-only-here@2';
    process.env.APXS_TS_FAILPOINT_MARK = mark;
    delete process.env.APXS_TS_FAILPOINT_MODE;
    const died: string[] = [];
    for (const s of [
      'unit:other',
      'unit:step-only-here',
      'unit:other',
      'unit:step-only-here',
      'unit:step-only-here',
    ]) {
      failpoint(s, () => died.push(s));
    }
    expect(died).toEqual(['unit:step-only-here']);
    expect(await fs.readFile(mark, 'utf8')).toBe('unit:step-only-here@2\n');
    await fs.rm(dir, { recursive: true, force: true });
  });
});
