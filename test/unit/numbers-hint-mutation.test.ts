/**
 * lib/core/numbers.ts and lib/core/command-hint.ts at the edges their
 * surviving mutants showed (issue #16): fractions with several integer and
 * fraction digits, each rule's unit and kind in its message, and which
 * locators a command hint leaves out (empty, /etc/hosts as the hosts file
 * only).
 */
import { describe, expect, it } from 'vitest';
import { apxsCommand } from '../../lib/core/command-hint.js';
import { expected, NUMBER_RULES, parseNumber } from '../../lib/core/numbers.js';

describe('parseNumber and expected', () => {
  it('a fraction: up to 12 integer digits and up to 6 fraction digits', () => {
    const r = NUMBER_RULES.lockWaitSeconds;
    expect(parseNumber('12.5', r)).toBe(12.5);
    expect(parseNumber('1.25', r)).toBe(1.25);
    expect(parseNumber('86400.000001', r)).toBeUndefined(); // above the max
    expect(parseNumber('3.123456', r)).toBe(3.123456);
    expect(parseNumber('3.1234567', r)).toBeUndefined();
  });

  it('each rule says its kind and unit', () => {
    expect(expected(NUMBER_RULES.lockWaitSeconds)).toBe('a number of seconds from 0 to 86400');
    expect(expected(NUMBER_RULES.jobs)).toBe('a whole number of jobs from 1 to 9999');
    expect(expected(NUMBER_RULES.debounceMs)).toBe(
      'a whole number of milliseconds from 0 to 60000',
    );
    // the rules added since (#20 test --repeat, #22 tls --expiring): their ranges and units
    expect(expected(NUMBER_RULES.repeat)).toBe('a whole number of runs from 1 to 100000');
    expect(expected(NUMBER_RULES.days)).toBe('a whole number of days from 0 to 3650');
    expect([
      parseNumber('0', NUMBER_RULES.repeat),
      parseNumber('100001', NUMBER_RULES.repeat),
      parseNumber('0', NUMBER_RULES.days),
      parseNumber('3651', NUMBER_RULES.days),
    ]).toEqual([undefined, undefined, 0, undefined]);
    expect(expected(NUMBER_RULES.port)).toBe('a whole number from 1 to 65535');
    expect(parseNumber('0.5', NUMBER_RULES.lockWaitSeconds)).toBe(0.5);
    expect(parseNumber('0.5', NUMBER_RULES.jobs)).toBeUndefined();
  });
});

describe('apxsCommand', () => {
  it('leaves out empty locators and /etc/hosts as the hosts file, keeps /etc/hosts elsewhere', () => {
    expect(
      apxsCommand('ctl start', { serverRoot: '', hostsFile: '/etc/hosts', config: '/etc/hosts' }),
    ).toBe('apxs-ts ctl start --config /etc/hosts');
    expect(apxsCommand('ctl start', { serverRoot: '/srv/r', hostsFile: '' })).toBe(
      'apxs-ts ctl start --server-root /srv/r',
    );
  });
});
