/**
 * The two "temp file, then rename" writers: writeFileAtomic (users' files,
 * lib/core/atomic-file.ts) and writeCache (caches, lib/core/cache.ts, which
 * writes through writeFileAtomic). What they promise, checked so that a writer that rewrites the file in
 * place, or truncates it and then writes, fails deterministically:
 *  - a descriptor opened on the file before the write still reads the old
 *    content, whole (the old inode is never touched; a reader that opened it
 *    sees the old file or, opening after, the new one, never a mix);
 *  - no temp file is left beside it;
 *  - while writers rewrite a file, a reader in another process never sees
 *    it empty, partial or mixed.
 */
import { spawn } from 'node:child_process';
import { promises as fs, openSync, readSync, closeSync, fstatSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { backupFile, writeFileAtomic } from '../../lib/core/atomic-file.js';
import { cacheFile, readCache, writeCache } from '../../lib/core/cache.js';
import { tmpDir } from '../helpers.js';

/** Everything an open descriptor reads now, from offset 0. */
function readAllFd(fd: number): string {
  const size = fstatSync(fd).size;
  const buf = Buffer.alloc(size);
  let got = 0;
  while (got < size) {
    const n = readSync(fd, buf, got, size - got, got);
    if (n === 0) break;
    got += n;
  }
  return buf.subarray(0, got).toString('utf8');
}

const big = (c: string, n = 256 * 1024) => c.repeat(n) + '\n';

describe('writeFileAtomic', () => {
  it('a reader that opened the file before the write still reads the old content, whole; the path has the new content', async () => {
    const dir = await tmpDir('apxs-ts-atomic-');
    const f = path.join(dir, 'httpd.conf');
    const old = big('o');
    await fs.writeFile(f, old);
    await fs.chmod(f, 0o600);
    const fd = openSync(f, 'r');
    try {
      const res = await writeFileAtomic(f, 'new\n');
      expect(res.method).toBe('rename');
      expect(readAllFd(fd)).toBe(old);
      expect(await fs.readFile(f, 'utf8')).toBe('new\n');
      expect((await fs.stat(f)).mode & 0o777).toBe(0o600);
      expect((await fs.readdir(dir)).sort()).toEqual(['httpd.conf']);
    } finally {
      closeSync(fd);
    }
  });

  it('a new file gets the mode asked for, and nothing else is left in its directory', async () => {
    const dir = await tmpDir('apxs-ts-atomic-');
    const f = path.join(dir, 'new.conf');
    expect(await writeFileAtomic(f, 'x', { mode: 0o640 })).toEqual({ path: f, method: 'rename' });
    expect((await fs.stat(f)).mode & 0o777).toBe(0o640);
    expect(await fs.readdir(dir)).toEqual(['new.conf']);
  });

  it('60 rewrites of a 1 MiB file while another process reads it 0 times empty, partial or mixed', async () => {
    const dir = await tmpDir('apxs-ts-atomic-');
    const f = path.join(dir, 'hosts');
    const versions = ['a', 'b', 'c', 'd'].map((c) => big(c, 1024 * 1024));
    await fs.writeFile(f, versions[0]!);
    // The reader: reads the whole file in a loop until told to stop, and
    // counts reads that are not one whole version (one letter, full length).
    const reader = spawn(
      process.execPath,
      [
        '-e',
        `
      const fs = require('node:fs');
      const whole = {};
      for (const c of 'abcd') whole[c] = c.repeat(${1024 * 1024}) + '\\n';
      let reads = 0, bad = 0, stop = false;
      process.stdin.on('data', () => { stop = true; });
      (function loop() {
        for (let i = 0; i < 20; i++) {
          const t = fs.readFileSync(${JSON.stringify(f)}, 'latin1');
          reads++;
          if (t !== whole[t[0]]) bad++;
        }
        if (stop) { process.stdout.write(JSON.stringify({ reads, bad }), () => process.exit(0)); return; }
        setImmediate(loop);
      })();
    `,
      ],
      { stdio: ['pipe', 'pipe', 'inherit'] },
    );
    let out = '';
    reader.stdout.on('data', (d) => (out += d));
    const done = new Promise((r) => reader.once('exit', r));
    // One writer: two writeFileAtomic calls of one process on one file in the
    // same millisecond collide on the temp name (EEXIST; left to the helper
    // rewriting atomic-file.ts). Between processes the pid tells them apart.
    for (let i = 1; i <= 60; i++) await writeFileAtomic(f, versions[i % 4]!);
    reader.stdin.end('stop');
    await done;
    const { reads, bad } = JSON.parse(out) as { reads: number; bad: number };
    expect(reads).toBeGreaterThan(0);
    expect(bad).toBe(0);
    expect((await fs.readdir(dir)).sort()).toEqual(['hosts']);
  }, 60_000);
});

describe('writeCache', () => {
  it('a reader that opened the cache entry before the write still reads the old entry, whole; no temp left', async () => {
    const dir = await tmpDir('apxs-ts-cachewrite-');
    const env = { XDG_CACHE_HOME: path.join(dir, 'sub') };
    const isV = (v: unknown): v is { v: string } =>
      typeof v === 'object' && v !== null && typeof (v as { v?: unknown }).v === 'string';
    await writeCache('listening', '/srv/a', { v: 'old' }, env);
    const f = cacheFile('listening', '/srv/a', env);
    const fd = openSync(f, 'r');
    try {
      await writeCache('listening', '/srv/a', { v: 'new', pad: 'x'.repeat(1000) }, env);
      expect(readAllFd(fd)).toBe(JSON.stringify({ key: '/srv/a', value: { v: 'old' } }));
      expect(JSON.parse(await fs.readFile(f, 'utf8')).value.v).toBe('new');
      expect(readCache('listening', '/srv/a', isV, env)?.v).toBe('new');
      expect(await fs.readdir(path.dirname(f))).toEqual([path.basename(f)]);
    } finally {
      closeSync(fd);
    }
  });

  it('a cache dir that cannot be made is no error: the write is skipped', async () => {
    const dir = await tmpDir('apxs-ts-cachewrite-');
    await fs.writeFile(path.join(dir, 'file'), 'x');
    await expect(
      writeCache('c', 'k', {}, { XDG_CACHE_HOME: path.join(dir, 'file') }),
    ).resolves.toBeUndefined();
    expect(await fs.readFile(path.join(dir, 'file'), 'utf8')).toBe('x');
  });

  it('an entry of another key, torn, of the wrong shape, or writable by others is a miss, never an error', async () => {
    const dir = await tmpDir('apxs-ts-cacheread-');
    const env = { XDG_CACHE_HOME: dir };
    const isS = (v: unknown): v is string => typeof v === 'string';
    await writeCache('toolchain', 'k1', 'one', env);
    expect(readCache('toolchain', 'k1', isS, env)).toBe('one');
    const f = cacheFile('toolchain', 'k1', env);
    let misses = 0;
    for (const text of [
      JSON.stringify({ key: 'k2', value: 'one' }),
      '{"key":"k1","val',
      JSON.stringify({ key: 'k1', value: 1 }),
      'null',
      '',
    ]) {
      await fs.writeFile(f, text);
      expect(readCache('toolchain', 'k1', isS, env), text).toBeUndefined();
      misses++;
    }
    await fs.writeFile(f, JSON.stringify({ key: 'k1', value: 'one' }));
    await fs.chmod(f, 0o666); // another user could have written it
    expect(readCache('toolchain', 'k1', isS, env)).toBeUndefined();
    misses++;
    expect(misses).toBe(6);
  });
});

describe('writeFileAtomic failures and backupFile', () => {
  it('a target in a missing directory fails with ENOENT and leaves nothing; a dangling symlink is written through to its target', async () => {
    const dir = await tmpDir('apxs-ts-atomic-');
    await expect(writeFileAtomic(path.join(dir, 'missing', 'f'), 'x')).rejects.toMatchObject({
      code: 'ENOENT',
    });
    expect(await fs.readdir(dir)).toEqual([]);
    await fs.symlink('real.conf', path.join(dir, 'link.conf'));
    expect(await writeFileAtomic(path.join(dir, 'link.conf'), 'through')).toEqual({
      path: path.join(dir, 'real.conf'),
      method: 'rename',
    });
    expect(await fs.readFile(path.join(dir, 'real.conf'), 'utf8')).toBe('through');
    expect((await fs.lstat(path.join(dir, 'link.conf'))).isSymbolicLink()).toBe(true);
    await fs.writeFile(path.join(dir, 'file'), '');
    await expect(writeFileAtomic(path.join(dir, 'file', 'x'), 'x')).rejects.toMatchObject({
      code: 'ENOTDIR',
    });
  });

  it('backupFile copies the bytes beside the file or into a dir; with keep, only the newest N of this file stay', async () => {
    const dir = await tmpDir('apxs-ts-backup-');
    const f = path.join(dir, 'hosts');
    expect(await backupFile(f)).toBeUndefined(); // nothing to back up
    const made: string[] = [];
    for (let i = 0; i < 5; i++) {
      await fs.writeFile(f, `v${i}\n`);
      // Without keep: pruning within one second can free a name the next backup then reuses (and,
      // sorting first, prunes at once): a defect left to the rewrite of atomic-file.ts, reported.
      made.push((await backupFile(f, path.join(dir, 'b')))!);
    }
    expect(new Set(made).size).toBe(5); // same second: -N suffixes
    for (const b of made) expect(path.basename(b)).toMatch(/^hosts\.\d{8}T\d{6}Z(-\d+)?\.bak$/);
    await fs.writeFile(path.join(dir, 'b', 'hosts-other.20200101T000000Z.bak'), 'not ours');
    await fs.writeFile(path.join(dir, 'b', 'notes'), 'mine');
    await fs.writeFile(f, 'v5\n');
    made.push((await backupFile(f, path.join(dir, 'b'), 3))!);
    const left = (await fs.readdir(path.join(dir, 'b'))).sort();
    expect(left).toEqual(
      [
        'hosts-other.20200101T000000Z.bak',
        'notes',
        ...made.slice(-3).map((b) => path.basename(b)),
      ].sort(),
    );
    expect(await Promise.all(made.slice(-3).map((b) => fs.readFile(b, 'utf8')))).toEqual([
      'v3\n',
      'v4\n',
      'v5\n',
    ]);
    const beside = (await backupFile(f))!;
    expect(path.dirname(beside)).toBe(dir);
    expect(await fs.readFile(beside, 'utf8')).toBe('v5\n');
  });
});
