/**
 * runPhase (the configure / make / make install of `source build`): output
 * streamed line by line into the phase log, and on a timeout or Ctrl-C the
 * whole process tree ended, not only the command (a make -j leaves its
 * compilers running otherwise).
 */
import { spawn } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApxsError } from '../../lib/core/errors.js';
import { runPhase, type PhaseEvent } from '../../lib/source/phase.js';
import { ROOT, tmpDir } from '../helpers.js';

/** Running (a zombie is not: PID 1 of a container may never reap the orphans it inherits). */
const alive = (pid: number) => {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

async function waitFor<T>(what: () => Promise<T | undefined>, ms = 10_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await what();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const readPid = (file: string) =>
  fs.readFile(file, 'utf8').then(
    (t) => (/^\d+\n$/.test(t) ? Number(t) : undefined),
    () => undefined,
  );

/** A "make" that starts a background grandchild (as make -j starts compilers), records its pid, then waits. */
const tree = (pidFile: string) => [
  '-c',
  `sleep 300 & echo $! > ${pidFile}.tmp && mv ${pidFile}.tmp ${pidFile}; echo started; wait`,
];

describe('runPhase', () => {
  it('streams stdout and stderr into the log line by line and reports each line', async () => {
    const dir = await tmpDir();
    const events: PhaseEvent[] = [];
    const log = path.join(dir, 'logs', 'make.log');
    await runPhase('make', 'sh', ['-c', 'echo one; echo two >&2; echo; echo three'], {
      cwd: dir,
      logFile: log,
      onEvent: (e) => events.push(e),
    });
    const text = await fs.readFile(log, 'utf8');
    expect(text.split('\n')[0]).toBe(`$ sh -c 'echo one; echo two >&2; echo; echo three'`);
    expect(text.split('\n').slice(1).sort()).toEqual(['', '', 'one', 'three', 'two']);
    expect(events.map((e) => e.line).sort()).toEqual(['one', 'three', 'two']);
    expect(events.every((e) => e.phase === 'make')).toBe(true);
  });

  it('a command that is not there: TOOL_MISSING naming it', async () => {
    const dir = await tmpDir();
    const err = await runPhase('configure', './no-configure-here', [], {
      cwd: dir,
      logFile: path.join(dir, 'c.log'),
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApxsError);
    expect([(err as ApxsError).code, (err as ApxsError).message]).toEqual([
      'TOOL_MISSING',
      'configure failed: ./no-configure-here not found',
    ]);
  });

  it('a timeout ends the command and every process it started, and says so', async () => {
    const dir = await tmpDir();
    const pidFile = path.join(dir, 'grandchild.pid');
    const log = path.join(dir, 'make.log');
    const t0 = Date.now();
    const err = await runPhase('make', 'sh', tree(pidFile), {
      cwd: dir,
      logFile: log,
      timeoutMs: 1500,
    }).catch((e: unknown) => e);
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(err).toBeInstanceOf(ApxsError);
    const e = err as ApxsError;
    expect(e.code).toBe('CHILD_FAILED');
    expect(e.message).toBe(
      `make timed out after 2 s: sh -c '${tree(pidFile)[1]}' and every process it started were ended`,
    );
    expect(e.details.at(-1)).toBe(`full log: ${log}`);
    const grandchild = await readPid(pidFile);
    expect(grandchild).toBeGreaterThan(0);
    expect(alive(grandchild!)).toBe(false);
    expect(await fs.readFile(log, 'utf8')).toContain(
      '[apxs-ts: make timed out after 2 s: ended sh -c',
    );
  }, 20_000);

  it("Ctrl-C (SIGINT to apxs-ts alone) ends the phase's whole tree, and fails with INTERRUPTED", async () => {
    const dir = await tmpDir();
    const pidFile = path.join(dir, 'grandchild.pid');
    const script = `require(${JSON.stringify(path.join(ROOT, 'dist', 'lib', 'source', 'phase.js'))})
      .runPhase('make', 'sh', ${JSON.stringify(tree(pidFile))}, { cwd: ${JSON.stringify(dir)}, logFile: ${JSON.stringify(path.join(dir, 'make.log'))} })
      .then(() => console.log('resolved'), (e) => { console.log(JSON.stringify({ code: e.code, message: e.message })); process.exitCode = e.exitCode; });`;
    const node = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    node.stdout.on('data', (b: Buffer) => (out += b.toString()));
    const exited = new Promise<number | null>((r) => node.on('close', (code) => r(code)));
    const grandchild = await waitFor(() => readPid(pidFile));
    expect(alive(grandchild)).toBe(true);
    node.kill('SIGINT');
    const code = await exited;
    expect(JSON.parse(out)).toEqual({
      code: 'INTERRUPTED',
      message: `make interrupted (SIGINT): sh -c '${tree(pidFile)[1]}' and every process it started were ended`,
    });
    expect(code).toBe(130);
    expect(alive(grandchild)).toBe(false);
  }, 20_000);
});
