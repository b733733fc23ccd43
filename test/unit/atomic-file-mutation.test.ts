/**
 * lib/core/atomic-file.ts's fallbacks against their surviving mutants
 * (issue #16): a file that cannot be replaced by rename (a bind-mounted
 * file, as /etc/hosts is in containers: rename over it is EBUSY) is
 * rewritten in place, whole; a backup directory on another file system
 * (EXDEV for link) gets a verified copy. The bind mount is made on a file in
 * this test's own temp dir and unmounted after; where mount is not allowed
 * (not root, no CAP_SYS_ADMIN) those tests say so and skip.
 */
import { spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  keepCopyAsBackup,
  restoreCopy,
  undoCopy,
  undoCopyPath,
  writeFileAtomic,
} from '../../lib/core/atomic-file.js';
import { tmpDir } from '../helpers.js';

const mounts: string[] = [];
afterEach(() => {
  for (const m of mounts.splice(0).reverse()) spawnSync('umount', [m]);
});

/** `target` (in a fresh temp dir) with `content`, bind-mounted from a file beside it; undefined when mount is not allowed. */
async function boundFile(content: string): Promise<{ dir: string; target: string } | undefined> {
  const dir = await tmpDir('apxs-ts-atomicmut-');
  const src = path.join(dir, 'src');
  const target = path.join(dir, 'hosts');
  await fs.writeFile(src, content);
  await fs.writeFile(target, '');
  const r = spawnSync('mount', ['--bind', src, target], { encoding: 'utf8' });
  if (r.status !== 0) {
    console.warn(
      `atomic-file-mutation: bind mount not allowed here (${(r.stderr || r.error?.message || '').trim()}): skipped`,
    );
    return undefined;
  }
  mounts.push(target);
  return { dir, target };
}

const leftovers = async (dir: string) => (await fs.readdir(dir)).filter((f) => f.startsWith('.'));

describe('a file rename cannot replace (bind mount: EBUSY)', () => {
  it('writeFileAtomic rewrites it in place, whole, and leaves no temp file', async (ctx) => {
    const b = await boundFile(
      '127.0.0.1 localhost\n# a long line that the shorter content must not leave a tail of\n',
    );
    if (!b) return ctx.skip();
    const ino = (await fs.stat(b.target)).ino;
    const r = await writeFileAtomic(b.target, 'short\n');
    expect(r).toEqual({ path: b.target, method: 'in-place' });
    expect(await fs.readFile(b.target, 'utf8')).toBe('short\n');
    expect(await fs.readFile(path.join(b.dir, 'src'), 'utf8')).toBe('short\n'); // the mounted file itself
    expect((await fs.stat(b.target)).ino).toBe(ino);
    expect(await leftovers(b.dir)).toEqual([]);
  });

  it('restoreCopy puts the copy back in place, removes the copy, and says it did', async (ctx) => {
    const b = await boundFile('original\n');
    if (!b) return ctx.skip();
    const copy = await undoCopyPath(b.target, `${process.pid}-0a1b2c3d-1`);
    await undoCopy(b.target, copy);
    await writeFileAtomic(b.target, 'changed, and longer than the original\n');
    expect(await restoreCopy(copy, b.target)).toBe(true);
    expect(await fs.readFile(b.target, 'utf8')).toBe('original\n');
    await expect(fs.stat(copy)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await leftovers(b.dir)).toEqual([]);
  });
});

describe('a backup directory on another file system (EXDEV)', () => {
  it('keepCopyAsBackup makes a verified copy there, with mode, and removes the copy', async (ctx) => {
    const dir = await tmpDir('apxs-ts-atomicmut-');
    const shm = await fs.mkdtemp('/dev/shm/apxs-ts-atomicmut-').catch(() => undefined);
    if (!shm || (await fs.stat(shm)).dev === (await fs.stat(dir)).dev) {
      console.warn('atomic-file-mutation: /dev/shm is not another file system here: skipped');
      return ctx.skip();
    }
    try {
      const file = path.join(dir, 'httpd.conf');
      await fs.writeFile(file, 'ServerName x\n', { mode: 0o600 });
      await fs.chmod(file, 0o600);
      const copy = await undoCopyPath(file, `${process.pid}-0a1b2c3d-2`);
      await undoCopy(file, copy);
      const backups = path.join(shm, 'backups');
      const first = await keepCopyAsBackup(copy, file, backups);
      expect(path.dirname(first)).toBe(backups);
      expect(path.basename(first)).toMatch(/^httpd\.conf\.\d{8}T\d{6}Z\.bak$/);
      expect(await fs.readFile(first, 'utf8')).toBe('ServerName x\n');
      expect((await fs.stat(first)).mode & 0o7777).toBe(0o600);
      await expect(fs.stat(copy)).rejects.toMatchObject({ code: 'ENOENT' });
      // A second one in the same second takes the next name, still across file systems.
      await undoCopy(file, copy);
      const second = await keepCopyAsBackup(copy, file, backups);
      if (path.basename(second).slice(0, 27) === path.basename(first).slice(0, 27))
        expect(second).toBe(first.replace(/\.bak$/, '-1.bak'));
      expect(await fs.readFile(second, 'utf8')).toBe('ServerName x\n');
      expect((await fs.readdir(backups)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    } finally {
      await fs.rm(shm, { recursive: true, force: true });
    }
  });
});

describe('a symlink loop', () => {
  it('writeFileAtomic refuses it (ELOOP) and leaves the link as it was, not replaced by a file', async () => {
    const dir = await tmpDir('apxs-ts-atomicmut-');
    const loop = path.join(dir, 'hosts');
    await fs.symlink(loop, loop);
    await expect(writeFileAtomic(loop, 'x\n')).rejects.toMatchObject({ code: 'ELOOP' });
    expect((await fs.lstat(loop)).isSymbolicLink()).toBe(true);
    expect(await fs.readdir(dir)).toEqual(['hosts']);
  });
});

describe('keepCopyAsBackup, a taken name', () => {
  it('a backup name already taken: the next free one, still a hard link of the copy (no copy made)', async () => {
    const d = await tmpDir('apxs-ts-atomicmut-');
    const dir = path.join(d, 'backups');
    await fs.mkdir(dir, { mode: 0o700 });
    const copy = path.join(d, '.hosts.copy');
    await fs.writeFile(copy, 'old\n');
    const ino = (await fs.stat(copy)).ino;
    // the names of this second and the next 60 are taken (a slow machine may cross a second boundary)
    const now = Date.now();
    for (let s = 0; s <= 60; s++) {
      const st = new Date(now + s * 1000)
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d+Z$/, 'Z');
      await fs.writeFile(path.join(dir, `hosts.${st}.bak`), 'other\n');
    }
    const dest = await keepCopyAsBackup(copy, path.join(d, 'hosts'), dir);
    expect(dest).toMatch(/\/hosts\.\d{8}T\d{6}Z-1\.bak$/);
    expect((await fs.stat(dest)).ino).toBe(ino);
    expect(await fs.readFile(dest, 'utf8')).toBe('old\n');
    await expect(fs.stat(copy)).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
