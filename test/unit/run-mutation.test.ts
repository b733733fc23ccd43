/**
 * lib/core/run.ts (issue #16 mutation testing): a child given no input gets
 * no stdin (/dev/null), so a program that reads it ends at once instead of
 * waiting on a pipe nobody writes or closes.
 */
import { describe, expect, it } from 'vitest';
import { runCapture } from '../../lib/core/run.js';

describe('runCapture without input', () => {
  it('cat with no input ends at once, with nothing read', async () => {
    // the timeout only bounds the broken case (cat waiting on an open pipe): killed, exit 137
    const r = await runCapture('cat', [], { timeoutMs: 20_000 });
    expect([r.exitCode, r.stdout]).toEqual([0, '']);
  });

  it('with input, the child reads it and sees its end', async () => {
    const r = await runCapture('cat', [], { input: 'a\nb\n', timeoutMs: 20_000 });
    expect([r.exitCode, r.stdout]).toEqual([0, 'a\nb\n']);
  });
});
