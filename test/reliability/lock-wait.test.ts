/**
 * A lock held by a live process that does not let go (SIGSTOPped, or just
 * busy): the waiter says at once on stderr who holds it (pid, command line,
 * since when, stopped or running) and how long it will wait; `--wait` /
 * APXS_TS_LOCK_WAIT set that wait, and LOCKED names the holder the same way.
 * A holder that lets go in time lets the waiter proceed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { withLock, type LockHolder } from '../../lib/core/lock.js';
import { CLI, ROOT, cli, sandbox } from '../helpers.js';

const LOCK_JS = path.join(ROOT, 'dist', 'lib', 'core', 'lock.js');

/** A process (argv names it "lock-holder") that takes `lockFile` and keeps it for `holdMs`, then exits. */
async function holder(lockFile: string, holdMs: number): Promise<ChildProcess> {
  const script = path.join(path.dirname(lockFile), 'lock-holder.js');
  await fs.writeFile(
    script,
    `require(${JSON.stringify(LOCK_JS)}).withLock(process.argv[2], () => { process.stdout.write('held\\n'); return new Promise((r) => setTimeout(r, Number(process.argv[3]))); })`,
  );
  const child = spawn(process.execPath, [script, lockFile, String(holdMs)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('held') && resolve());
    child.once('exit', (code) => reject(new Error(`holder exited ${code} before taking the lock`)));
  });
  children.push(child);
  return child;
}

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) {
    c.kill('SIGCONT');
    c.kill('SIGKILL');
  }
});

/** Runs the CLI, resolving when it ends; `firstErr` is when stderr first matched `re` (ms after spawn). */
function run(args: string[], env: Record<string, string> = {}, re = /waiting for/) {
  const t0 = Date.now();
  const p = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, cwd: ROOT });
  let stdout = '';
  let stderr = '';
  let firstErr: number | undefined;
  p.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  p.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (firstErr === undefined && re.test(stderr)) firstErr = Date.now() - t0;
  });
  const done = new Promise<{
    code: number | null;
    stdout: string;
    stderr: string;
    ms: number;
    firstErr: number | undefined;
  }>((resolve) => {
    p.once('exit', (code) => resolve({ code, stdout, stderr, ms: Date.now() - t0, firstErr }));
  });
  return { proc: p, done, seen: () => firstErr, stderr: () => stderr };
}

async function sandboxWithHosts() {
  const { sr, hosts } = await sandbox();
  await fs.mkdir(path.join(sr, '.apxs-ts'), { recursive: true });
  return { sr, hosts, lockFile: path.join(sr, '.apxs-ts', 'config.lock') };
}

describe('a lock held by a stopped process', () => {
  it('vhost add says at once who holds it (pid, command line, stopped) and how long it waits, long before the wait ends', async () => {
    const { sr, hosts, lockFile } = await sandboxWithHosts();
    const h = await holder(lockFile, 600_000);
    process.kill(h.pid!, 'SIGSTOP');
    const r = run([
      'vhost',
      'add',
      'w1.dd',
      '--server-root',
      sr,
      '--hosts-file',
      hosts,
      '--wait',
      '60',
    ]);
    const until = Date.now() + 15_000;
    while (r.seen() === undefined && Date.now() < until)
      await new Promise((res) => setTimeout(res, 50));
    r.proc.kill('SIGKILL');
    await r.done;
    // It spoke while waiting (a 60 s wait, killed once it spoke), not at the end.
    expect(r.seen(), r.stderr()).toBeDefined();
    const line = r.stderr();
    expect(line).toContain(lockFile);
    expect(line).toContain(`pid ${h.pid}`);
    expect(line).toContain('lock-holder');
    expect(line).toContain('stopped');
    expect(line).toContain('waiting up to 60 s');
  }, 30_000);

  it('--wait 2 ends with LOCKED naming the holder (pid, stopped) and how to continue it; APXS_TS_LOCK_WAIT=1 the same; nothing changed', async () => {
    const { sr, hosts, lockFile } = await sandboxWithHosts();
    const conf = await fs.readFile(path.join(sr, 'conf', 'httpd.conf'), 'utf8');
    const h = await holder(lockFile, 600_000);
    process.kill(h.pid!, 'SIGSTOP');
    for (const [args, env, waited] of [
      [['--wait', '2'], {}, 2],
      [[], { APXS_TS_LOCK_WAIT: '1' }, 1],
    ] as const) {
      const r = await cli(
        ['vhost', 'add', 'w2.dd', '--server-root', sr, '--hosts-file', hosts, '--json', ...args],
        { env, timeoutMs: 60_000 },
      );
      expect(r.code, r.stdout).toBe(1);
      expect(r.json.error.code).toBe('LOCKED');
      expect(r.json.error.message).toContain(`pid ${h.pid}`);
      expect(r.json.error.message).toContain('stopped');
      expect(r.json.error.hint).toContain(`kill -CONT ${h.pid}`);
      expect(r.json.holder).toMatchObject({ pid: h.pid, state: 'stopped', waitMs: waited * 1000 });
      expect(r.ms).toBeGreaterThanOrEqual(waited * 1000);
    }
    expect(await fs.readFile(path.join(sr, 'conf', 'httpd.conf'), 'utf8')).toBe(conf);
    expect(await fs.readFile(hosts, 'utf8')).toBe('127.0.0.1 localhost\n');
  }, 90_000);

  it('withLock tells onWait once per holder, with pid, command line, since and state; LOCKED carries the same holder', async () => {
    const { lockFile } = await sandboxWithHosts();
    const h = await holder(lockFile, 600_000);
    process.kill(h.pid!, 'SIGSTOP');
    const told: LockHolder[] = [];
    const err = await withLock(lockFile, async () => 'got it', {
      timeoutMs: 1500,
      onWait: (x) => told.push(x),
    }).catch((e: unknown) => e);
    expect((err as { code?: string }).code).toBe('LOCKED');
    expect(told).toHaveLength(1);
    expect(told[0]).toMatchObject({ lockFile, pid: h.pid, state: 'stopped', waitMs: 1500 });
    expect(told[0]!.command).toContain('lock-holder');
    expect(Date.parse(told[0]!.since)).toBeLessThanOrEqual(Date.now());
    expect((err as { data?: { holder?: unknown } }).data?.holder).toMatchObject({
      pid: h.pid,
      state: 'stopped',
    });
  }, 30_000);
});

describe('a lock held by a running process that lets go', () => {
  it('the waiter says the holder is running, then proceeds when it lets go (exit 0, the vhost added)', async () => {
    const { sr, hosts, lockFile } = await sandboxWithHosts();
    await holder(lockFile, 4000);
    const r = await run([
      'vhost',
      'add',
      'w3.dd',
      '--server-root',
      sr,
      '--hosts-file',
      hosts,
      '--json',
      '--wait',
      '30',
    ]).done;
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).ok).toBe(true);
    expect(r.stderr).toMatch(
      /waiting for .*config\.lock: held by pid \d+ .*lock-holder.*, running/,
    );
    expect(await fs.readFile(hosts, 'utf8')).toContain('w3.dd');
  }, 30_000);
});
