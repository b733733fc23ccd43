/** hosts through the CLI: atomic, locked, never a partial file. */
import { spawn, execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { addToBlock, readBlock, withBlock } from '../../lib/sites/hosts-file.js';
import { CLI, cli, hostsFile, tmpDir } from '../helpers.js';

const ORIGINAL =
  '\ufeff# my hosts\r\n127.0.0.1\tlocalhost # loop\r\n::1 localhost ip6-localhost\r\n10.0.0.1 box';

describe('hosts add/remove/list', () => {
  it('adds several names on one line, is a no-op the second time, and removing restores the exact bytes', async () => {
    const f = await hostsFile(ORIGINAL);
    const a = await cli(['hosts', 'add', 'one.dd', 'two.dd', '--hosts-file', f, '--json']);
    expect(a.code).toBe(0);
    expect(a.json.changed).toBe(true);
    expect(await fs.readFile(f, 'utf8')).toBe(
      `${ORIGINAL}\r\n# BEGIN apxs-ts\r\n127.0.0.1 one.dd two.dd\r\n# END apxs-ts`,
    );
    expect((await cli(['hosts', 'add', 'one.dd', '--hosts-file', f, '--json'])).json.changed).toBe(
      false,
    );
    expect((await cli(['hosts', 'add', 'one.dd', '--ip', '::1', '--hosts-file', f])).code).toBe(0);
    const list = await cli(['hosts', 'list', '--hosts-file', f, '--json']);
    expect(
      list.json.entries
        .filter((e: { managed: boolean }) => e.managed)
        .map((e: { ip: string; names: string[] }) => `${e.ip} ${e.names.join(' ')}`),
    ).toEqual(['127.0.0.1 one.dd two.dd', '::1 one.dd']);
    expect((await cli(['hosts', 'remove', 'one.dd', 'two.dd', '--hosts-file', f])).code).toBe(0);
    expect(await fs.readFile(f, 'utf8')).toBe(ORIGINAL);
    const backups = (await fs.readdir(path.dirname(f))).filter((n) => n.endsWith('.bak'));
    expect(backups.length).toBe(3);
  });

  it('keeps the ten newest backups', async () => {
    const f = await hostsFile(ORIGINAL);
    for (let i = 0; i < 7; i++) {
      expect((await cli(['hosts', 'add', `b${i}.dd`, '--hosts-file', f])).code).toBe(0);
      expect((await cli(['hosts', 'remove', `b${i}.dd`, '--hosts-file', f])).code).toBe(0);
    }
    const backups = (await fs.readdir(path.dirname(f))).filter((n) => n.endsWith('.bak')).sort();
    expect(backups).toHaveLength(10);
    // The newest holds the state before the last change (b6.dd present).
    const key = (n: string) => n.replace(/\.bak$/, ''); // hosts.<stamp>[-N]
    const newest = backups
      .sort((a, b) => key(a).localeCompare(key(b), 'en', { numeric: true }))
      .pop()!;
    expect(await fs.readFile(path.join(path.dirname(f), newest), 'utf8')).toContain('b6.dd');
  });

  it('--dry-run prints the diff and writes nothing', async () => {
    const f = await hostsFile(ORIGINAL);
    const r = await cli(['hosts', 'add', 'one.dd', '--dry-run', '--hosts-file', f]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('+127.0.0.1 one.dd\n');
    expect(await fs.readFile(f, 'utf8')).toBe(ORIGINAL);
  });

  it.each(['bad name', 'one.dd\nevil.dd', '-x.dd', 'a..b', ''])(
    'a bad name %j leaves the file byte-identical',
    async (name) => {
      const f = await hostsFile(ORIGINAL);
      const r = await cli(['hosts', 'add', '--hosts-file', f, '--', 'ok.dd', name]);
      // BAD_HOSTNAME is bad input: exit 2 since 1700b92 (lib/core/errors.ts).
      expect(r.code).toBe(2);
      expect(r.stderr.split('\n')[0]).toMatch(/^apxs-ts: error: bad host name/);
      expect(await fs.readFile(f, 'utf8')).toBe(ORIGINAL);
      expect(await fs.readdir(path.dirname(f))).toEqual(['hosts']);
    },
  );

  it('writes through a symlink to its target and keeps the mode', async () => {
    const f = await hostsFile(ORIGINAL);
    await fs.chmod(f, 0o600);
    const link = path.join(path.dirname(f), 'hosts-link');
    await fs.symlink('hosts', link);
    expect((await cli(['hosts', 'add', 'one.dd', '--hosts-file', link])).code).toBe(0);
    expect((await fs.lstat(link)).isSymbolicLink()).toBe(true);
    expect(await fs.readFile(f, 'utf8')).toContain('127.0.0.1 one.dd');
    expect((await fs.stat(f)).mode & 0o777).toBe(0o600);
  });

  it('8 concurrent hosts add processes all land', async () => {
    const f = await hostsFile(ORIGINAL);
    const names = Array.from({ length: 8 }, (_, i) => `c${i}.dd`);
    const results = await Promise.all(
      names.map((n) => cli(['hosts', 'add', n, '--hosts-file', f])),
    );
    expect(results.map((r) => r.code)).toEqual(names.map(() => 0));
    expect([...readBlock(await fs.readFile(f, 'utf8')).get('127.0.0.1')!].sort()).toEqual(names);
    expect(withBlock(await fs.readFile(f, 'utf8'), new Map())).toBe(ORIGINAL);
  });

  it('a writer killed with SIGKILL at random moments never leaves a partial 100,000-line file', async () => {
    const big =
      Array.from(
        { length: 100_000 },
        (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}\thost${i}.lan # entry ${i}`,
      ).join('\n') + '\n';
    const f = await hostsFile(big);
    let old = big;
    let kills = 0;
    for (let i = 0; i < 16; i++) {
      const name = `k${i}.dd`;
      const next = withBlock(old, addToBlock(readBlock(old), '127.0.0.1', [name]));
      const child = spawn(process.execPath, [CLI, 'hosts', 'add', name, '--hosts-file', f], {
        stdio: 'ignore',
      });
      const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
      // Node starts in ~60 ms; the read-modify-write comes after that.
      await new Promise((r) => setTimeout(r, 40 + Math.random() * 120));
      child.kill('SIGKILL');
      const code = await exited;
      if (code === null) kills++;
      const now = await fs.readFile(f, 'utf8');
      expect(
        now === old || now === next,
        `run ${i}: file is neither the old nor the new content (${now.length} bytes)`,
      ).toBe(true);
      old = now;
    }
    expect(kills).toBeGreaterThan(0);
    // The next run cleans up what killed writers left, and works.
    expect((await cli(['hosts', 'add', 'after.dd', '--hosts-file', f])).code).toBe(0);
    const left = (await fs.readdir(path.dirname(f))).filter(
      (n) => n.endsWith('.tmp') || n.endsWith('.lock'),
    );
    expect(left).toEqual([]);
  });

  it('falls back to an in-place write where rename cannot replace the file (a bind mount, as in containers)', async () => {
    const dir = await tmpDir();
    const target = path.join(dir, 'etc-hosts');
    const source = path.join(dir, 'real-hosts');
    await fs.writeFile(target, 'placeholder\n');
    await fs.writeFile(source, ORIGINAL);
    const script = `mount --bind ${source} ${target} && ${process.execPath} ${CLI} hosts add one.dd --hosts-file ${target} --json`;
    const out = execFileSync('unshare', ['-m', 'sh', '-c', script], {
      encoding: 'utf8',
      env: { ...process.env, CI: 'true' },
    });
    expect(JSON.parse(out)).toMatchObject({ ok: true, changed: true, method: 'in-place' });
    expect(await fs.readFile(source, 'utf8')).toBe(
      `${ORIGINAL}\r\n# BEGIN apxs-ts\r\n127.0.0.1 one.dd\r\n# END apxs-ts`,
    );
  });

  it('permission denied says how to run it instead of a stack', async () => {
    const f = await hostsFile(ORIGINAL);
    await fs.chmod(f, 0o644);
    await fs.chmod(path.dirname(f), 0o755);
    let r: { status: number | null; stderr: string };
    try {
      execFileSync(
        'runuser',
        ['-u', 'nobody', '--', process.execPath, CLI, 'hosts', 'add', 'one.dd', '--hosts-file', f],
        { encoding: 'utf8', stdio: 'pipe' },
      );
      r = { status: 0, stderr: '' };
    } catch (e) {
      const err = e as { status: number | null; stderr: string };
      r = { status: err.status, stderr: err.stderr };
    }
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^apxs-ts: error: permission denied/);
    expect(r.stderr).toContain('sudo');
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(await fs.readFile(f, 'utf8')).toBe(ORIGINAL);
  });
});
