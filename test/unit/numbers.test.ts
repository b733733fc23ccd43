/** The one number parser (lib/core/numbers.ts) and the log reader's own guard against a count of 0 ("all"). */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expected, NUMBER_RULES, parseNumber } from '../../lib/core/numbers.js';
import { tailForFollow } from '../../lib/ctl/error-log.js';

describe('parseNumber', () => {
  it.each([
    ['20', NUMBER_RULES.lines, 20],
    ['1', NUMBER_RULES.lines, 1],
    ['1.5', NUMBER_RULES.timeoutSeconds, 1.5],
    ['0', NUMBER_RULES.lockWaitSeconds, 0],
    ['65535', NUMBER_RULES.port, 65535],
  ])('%s is %s', (text, rule, n) => expect(parseNumber(text, rule)).toBe(n));

  it.each([
    '',
    ' 5',
    '5 ',
    'abc',
    '-3',
    '+3',
    '1e3',
    '0x10',
    '0b1',
    '12abc',
    'Infinity',
    'NaN',
    '1.5',
    '99999999999',
    '0',
  ])('lines %j is refused', (text) => {
    expect(parseNumber(text, NUMBER_RULES.lines)).toBeUndefined();
  });

  it.each(['0', '0.0001', '86401', '.5', '5.', '1,5'])('timeout %j is refused', (text) => {
    expect(parseNumber(text, NUMBER_RULES.timeoutSeconds)).toBeUndefined();
  });

  it('the message says what it expects', () => {
    expect(expected(NUMBER_RULES.lines)).toBe('a whole number of lines from 1 to 1000000');
    expect(expected(NUMBER_RULES.timeoutSeconds)).toBe('a number of seconds from 0.001 to 86400');
  });
});

describe('tailForFollow', () => {
  it('a count of 0 or less is BAD_INPUT, never the whole log', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'apxs-ts-numbers-'));
    const log = path.join(dir, 'error_log');
    await fs.writeFile(log, 'a\nb\nc\n');
    expect((await tailForFollow(log, 2)).lines).toEqual(['b', 'c']);
    for (const n of [0, -3, 1.5, Number.NaN])
      await expect(tailForFollow(log, n)).rejects.toMatchObject({ code: 'BAD_INPUT' });
    await fs.rm(dir, { recursive: true });
  });
});
