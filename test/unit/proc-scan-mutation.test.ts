/**
 * lib/core/proc.ts's one pass over /proc, `processesWhere` (issue #16
 * mutation testing): the filter sees each command line without the empty
 * word its trailing NUL would give, and the result holds exactly the
 * processes it accepts. A `sleep` child of this test is the process found
 * (its own session: detached, so nothing depends on the runner's session leader).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { processesWhere, procInfo } from '../../lib/core/proc.js';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
});

/** A `sleep` whose last argument is a fresh marker, running once /proc shows its command line. */
async function sleeper(): Promise<{ pid: number; marker: string }> {
  // sleep sums its arguments: a random fraction of a second is a marker no other process has
  const marker = `0.${BigInt(`0x${randomBytes(6).toString('hex')}`)
    .toString()
    .padStart(15, '0')}`;
  const c = spawn('sleep', ['600', marker], { stdio: 'ignore', detached: true }); // detached: setsid
  children.push(c);
  for (let i = 0; i < 500; i++) {
    const found = processesWhere((cmd) => cmd.includes(marker));
    if (found.length) return { pid: found[0]!.pid, marker };
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('the child never showed up in /proc');
}

describe('processesWhere', () => {
  it('hands the filter the words only (no trailing empty word) and returns just the processes it accepts', async () => {
    const { pid, marker } = await sleeper();
    const seen: string[][] = [];
    const found = processesWhere((cmd) => {
      if (cmd.includes(marker)) seen.push(cmd);
      return cmd[cmd.length - 1] === marker;
    });
    expect(seen).toEqual([['sleep', '600', marker]]);
    expect(found.map((p) => p.pid)).toEqual([pid]);
    expect(found[0]).toMatchObject({ pid, cmdline: ['sleep', '600', marker], session: pid });
    expect(procInfo(pid)?.state).not.toBe('Z');
    // a filter that accepts nothing finds nothing
    expect(processesWhere(() => false)).toEqual([]);
  });
});
