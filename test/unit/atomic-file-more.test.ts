/**
 * lib/core/atomic-file.ts in detail: exact results, error codes and the
 * paths they name, mode and owner kept, backup names and rotation, the
 * sweep of dead temps, the undo-copy helpers. In-process, so mutation
 * testing sees them.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  backupFile,
  isUndoCopyOf,
  keepCopyAsBackup,
  notALink,
  readIfExists,
  restoreCopy,
  undoCopy,
  undoCopyPath,
  writeError,
  writeFileAtomic,
  writeInPlace,
} from '../../lib/core/atomic-file.js';
import { ApxsError } from '../../lib/core/errors.js';

const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;

let d: string;
beforeEach(async () => {
  d = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'apxs-ts-afm-')));
});
afterEach(async () => {
  vi.useRealTimers();
  await fs.rm(d, { recursive: true, force: true });
});

const modeOf = async (p: string) => (await fs.stat(p)).mode & 0o7777;
const ls = async (p: string) => (await fs.readdir(p)).sort();
const errno = (code: string) => Object.assign(new Error(`${code}: boom`), { code });
async function caught(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}
/** Backups stamped 2026-01-02T03:04:05Z. */
function fixTime(): void {
  vi.useFakeTimers({ toFake: ['Date'] });
  vi.setSystemTime(new Date('2026-01-02T03:04:05.678Z'));
}
const STAMP = '20260102T030405Z';

describe('writeError', () => {
  it.each([
    ['EACCES', 'PERMISSION_DENIED', 'permission denied writing /x/f'],
    ['EPERM', 'PERMISSION_DENIED', 'permission denied writing /x/f'],
    ['ENOSPC', 'NO_SPACE', 'no space left on the device holding /x/f'],
    ['EDQUOT', 'NO_SPACE', 'disk quota exceeded writing /x/f'],
    ['EROFS', 'READ_ONLY', '/x/f is on a read-only file system'],
  ])('maps %s to %s naming the path', (code, want, msg) => {
    const cause = errno(code);
    const e = writeError('/x/f', cause) as ApxsError;
    expect(e).toBeInstanceOf(ApxsError);
    expect(e.code).toBe(want);
    expect(e.message).toBe(msg);
    expect(typeof e.hint).toBe('string');
  });
  it('passes other errors through as they are', () => {
    for (const code of ['ENOENT', 'EISDIR', 'ENOTDIR', 'EEXIST', 'EBUSY']) {
      const err = errno(code);
      expect(writeError('/x/f', err)).toBe(err);
    }
    const plain = new Error('no code');
    expect(writeError('/x/f', plain)).toBe(plain);
    const notAnError = { code: 'EACCES' };
    expect(writeError('/x/f', notAnError)).toBe(notAnError);
    expect(writeError('/x/f', 'EROFS')).toBe('EROFS');
  });
  it('carries the path in data', () => {
    expect((writeError('/a/b', errno('ENOSPC')) as ApxsError).data).toEqual({ path: '/a/b' });
  });
});

describe('writeFileAtomic', () => {
  it('writes a new file with the default mode 0644 and reports the rename', async () => {
    const f = path.join(d, 'new.conf');
    expect(await writeFileAtomic(f, 'hello\n')).toEqual({ path: f, method: 'rename' });
    expect(await fs.readFile(f, 'utf8')).toBe('hello\n');
    expect(await modeOf(f)).toBe(0o644);
    expect(await ls(d)).toEqual(['new.conf']);
  });
  it('gives a new file the mode asked for', async () => {
    const f = path.join(d, 'secret');
    await writeFileAtomic(f, Buffer.from('s'), { mode: 0o640 });
    expect(await modeOf(f)).toBe(0o640);
    expect(await fs.readFile(f, 'utf8')).toBe('s');
  });
  it("keeps an existing file's mode over opts.mode", async () => {
    const f = path.join(d, 'keep');
    await fs.writeFile(f, 'old');
    await fs.chmod(f, 0o600);
    await writeFileAtomic(f, 'new', { mode: 0o666 });
    expect(await modeOf(f)).toBe(0o600);
    expect(await fs.readFile(f, 'utf8')).toBe('new');
  });
  it.runIf(isRoot)("keeps an existing file's owner (as root)", async () => {
    const f = path.join(d, 'owned');
    await fs.writeFile(f, 'old');
    await fs.chown(f, NOBODY, NOBODY);
    await fs.chmod(f, 0o640);
    await writeFileAtomic(f, 'new');
    const st = await fs.stat(f);
    expect([st.uid, st.gid, st.mode & 0o7777]).toEqual([NOBODY, NOBODY, 0o640]);
  });
  it("a new file as root is root's", async () => {
    const f = path.join(d, 'mine');
    await writeFileAtomic(f, 'x');
    const st = await fs.stat(f);
    expect(st.uid).toBe(process.getuid!());
  });
  it('writes through a symlink to its target and keeps the link', async () => {
    const real = path.join(d, 'real');
    const link = path.join(d, 'link');
    await fs.writeFile(real, 'old');
    await fs.symlink('real', link);
    expect(await writeFileAtomic(link, 'new')).toEqual({ path: real, method: 'rename' });
    expect((await fs.lstat(link)).isSymbolicLink()).toBe(true);
    expect(await fs.readFile(real, 'utf8')).toBe('new');
    expect(await ls(d)).toEqual(['link', 'real']);
  });
  it("writes a dangling symlink's target", async () => {
    await fs.mkdir(path.join(d, 'sub'));
    const link = path.join(d, 'link');
    await fs.symlink('sub/target', link);
    expect(await writeFileAtomic(link, 'made')).toEqual({
      path: path.join(d, 'sub', 'target'),
      method: 'rename',
    });
    expect(await fs.readFile(path.join(d, 'sub', 'target'), 'utf8')).toBe('made');
    expect((await fs.lstat(link)).isSymbolicLink()).toBe(true);
  });
  it('a relative path resolves against the cwd', async () => {
    const rel = path.relative(process.cwd(), path.join(d, 'rel'));
    expect(await writeFileAtomic(rel, 'r')).toEqual({
      path: path.join(d, 'rel'),
      method: 'rename',
    });
  });
  it('a missing directory: ENOENT as it is, nothing left', async () => {
    const err = await caught(writeFileAtomic(path.join(d, 'nodir', 'f'), 'x'));
    expect(err.code).toBe('ENOENT');
    expect(err).not.toBeInstanceOf(ApxsError);
    expect(await ls(d)).toEqual([]);
  });
  it('a file where a directory should be: ENOTDIR', async () => {
    await fs.writeFile(path.join(d, 'file'), 'x');
    const err = await caught(writeFileAtomic(path.join(d, 'file', 'f'), 'x'));
    expect(err.code).toBe('ENOTDIR');
    expect(await ls(d)).toEqual(['file']);
  });
  it('a directory as the target: fails, the temp is removed', async () => {
    await fs.mkdir(path.join(d, 'adir'));
    const err = await caught(writeFileAtomic(path.join(d, 'adir'), 'x'));
    expect(err.code).toBe('EISDIR');
    expect(await ls(d)).toEqual(['adir']);
  });
  it('replaces the inode (rename), so an old descriptor keeps the old bytes', async () => {
    const f = path.join(d, 'f');
    await fs.writeFile(f, 'old content');
    const ino = (await fs.stat(f)).ino;
    await writeFileAtomic(f, 'n');
    expect((await fs.stat(f)).ino).not.toBe(ino);
    expect(await fs.readFile(f, 'utf8')).toBe('n');
  });
});

describe('writeInPlace', () => {
  it('keeps the inode, truncates to the new length', async () => {
    const f = path.join(d, 'f');
    await fs.writeFile(f, 'a long original content');
    const ino = (await fs.stat(f)).ino;
    await writeInPlace(f, 'short');
    expect((await fs.stat(f)).ino).toBe(ino);
    expect(await fs.readFile(f, 'utf8')).toBe('short');
    await writeInPlace(f, new Uint8Array([65, 66, 67, 68, 69, 70, 71]));
    expect(await fs.readFile(f, 'utf8')).toBe('ABCDEFG');
    await writeInPlace(f, 'h\u00e9llo \u00fcber');
    expect(await fs.readFile(f, 'utf8')).toBe('h\u00e9llo \u00fcber');
    expect((await fs.stat(f)).size).toBe(12);
    await writeInPlace(f, '');
    expect((await fs.stat(f)).size).toBe(0);
  });
  it('a missing file: ENOENT, nothing made', async () => {
    const err = await caught(writeInPlace(path.join(d, 'none'), 'x'));
    expect(err.code).toBe('ENOENT');
    expect(await ls(d)).toEqual([]);
  });
});

describe('readIfExists', () => {
  it('content, undefined for a missing file, other errors thrown', async () => {
    const f = path.join(d, 'f');
    await fs.writeFile(f, 'abc');
    expect((await readIfExists(f))!.toString()).toBe('abc');
    expect(await readIfExists(path.join(d, 'none'))).toBeUndefined();
    expect((await caught(readIfExists(d))).code).toBe('EISDIR');
    expect((await caught(readIfExists(path.join(f, 'x')))).code).toBe('ENOTDIR');
  });
});

describe('notALink', () => {
  it('a directory passes', async () => {
    await expect(notALink(d)).resolves.toBeUndefined();
  });
  it('a symlink to a directory: UNSAFE_CONFIG', async () => {
    const link = path.join(d, 'state');
    await fs.mkdir(path.join(d, 'real'));
    await fs.symlink('real', link);
    const err = await caught(notALink(link));
    expect(err).toBeInstanceOf(ApxsError);
    expect(err.code).toBe('UNSAFE_CONFIG');
    expect(err.message).toBe(
      `${link} is a symlink: apxs-ts keeps its journal, lock and backups only in a directory of its own`,
    );
    expect(err.hint).toBe(
      'look at it, then move it away (apxs-ts makes state again); nothing was changed',
    );
    expect(err.data).toEqual({ path: link });
  });
  it('a regular file: UNSAFE_CONFIG, not a directory', async () => {
    const f = path.join(d, 'backups');
    await fs.writeFile(f, '');
    const err = await caught(notALink(f));
    expect(err.code).toBe('UNSAFE_CONFIG');
    expect(err.message).toBe(
      `${f} is not a directory: apxs-ts keeps its journal, lock and backups only in a directory of its own`,
    );
    expect(err.hint).toBe(
      'look at it, then move it away (apxs-ts makes backups again); nothing was changed',
    );
  });
  it('a missing path: ENOENT as it is', async () => {
    const err = await caught(notALink(path.join(d, 'none')));
    expect(err.code).toBe('ENOENT');
    expect(err).not.toBeInstanceOf(ApxsError);
  });
});

describe('backupFile', () => {
  it('a missing file: undefined, nothing made', async () => {
    expect(await backupFile(path.join(d, 'none'))).toBeUndefined();
    expect(await backupFile(path.join(d, 'none'), path.join(d, 'bk'), 3)).toBeUndefined();
    expect(await ls(d)).toEqual([]);
  });
  it('names the copy NAME.<stamp>.bak beside the file, then -1, -2 in the same second', async () => {
    fixTime();
    const f = path.join(d, 'hosts');
    await fs.writeFile(f, 'content');
    expect(await backupFile(f)).toBe(path.join(d, `hosts.${STAMP}.bak`));
    expect(await backupFile(f)).toBe(path.join(d, `hosts.${STAMP}-1.bak`));
    expect(await backupFile(f)).toBe(path.join(d, `hosts.${STAMP}-2.bak`));
    expect(await ls(d)).toEqual([
      'hosts',
      `hosts.${STAMP}-1.bak`,
      `hosts.${STAMP}-2.bak`,
      `hosts.${STAMP}.bak`,
    ]);
    expect(await fs.readFile(path.join(d, `hosts.${STAMP}-2.bak`), 'utf8')).toBe('content');
  });
  it('the real stamp has the form YYYYMMDDTHHMMSSZ', async () => {
    const f = path.join(d, 'f');
    await fs.writeFile(f, 'x');
    const b = await backupFile(f);
    expect(path.basename(b!)).toMatch(/^f\.\d{8}T\d{6}Z\.bak$/);
  });
  it('keeps mode (and owner as root)', async () => {
    const f = path.join(d, 'f');
    await fs.writeFile(f, 'secret');
    await fs.chmod(f, 0o600);
    if (isRoot) await fs.chown(f, NOBODY, NOBODY);
    const b = await backupFile(f);
    const st = await fs.stat(b!);
    expect(st.mode & 0o7777).toBe(0o600);
    if (isRoot) expect([st.uid, st.gid]).toEqual([NOBODY, NOBODY]);
    expect(await fs.readFile(b!, 'utf8')).toBe('secret');
  });
  it('a given dir is made 0700, a 0755 one tightened', async () => {
    fixTime();
    const f = path.join(d, 'f');
    await fs.writeFile(f, 'x');
    const bk = path.join(d, 'a', 'bk');
    expect(await backupFile(f, bk)).toBe(path.join(bk, `f.${STAMP}.bak`));
    expect(await modeOf(bk)).toBe(0o700);
    const bk2 = path.join(d, 'bk2');
    await fs.mkdir(bk2, { mode: 0o755 });
    await fs.chmod(bk2, 0o755);
    await backupFile(f, bk2);
    expect(await modeOf(bk2)).toBe(0o700);
    expect(await ls(bk2)).toEqual([`f.${STAMP}.bak`]);
  });
  it('a backup dir that is a symlink is refused, nothing written', async () => {
    const f = path.join(d, 'f');
    await fs.writeFile(f, 'x');
    await fs.mkdir(path.join(d, 'elsewhere'), { mode: 0o755 });
    await fs.chmod(path.join(d, 'elsewhere'), 0o755);
    await fs.symlink('elsewhere', path.join(d, 'bk'));
    const err = await caught(backupFile(f, path.join(d, 'bk')));
    expect(err.code).toBe('UNSAFE_CONFIG');
    expect(await ls(path.join(d, 'elsewhere'))).toEqual([]);
    expect(await modeOf(path.join(d, 'elsewhere'))).toBe(0o755);
  });
  it('a backup dir under a file: ENOTDIR', async () => {
    const f = path.join(d, 'f');
    await fs.writeFile(f, 'x');
    const err = await caught(backupFile(f, path.join(f, 'bk')));
    expect(err.code).toBe('ENOTDIR');
  });
  it('keep=N leaves the N newest, -N suffixes sorted numerically', async () => {
    fixTime();
    const f = path.join(d, 'f');
    await fs.writeFile(f, 'now');
    const old = [
      'f.20250101T000000Z.bak',
      'f.20250101T000000Z-2.bak',
      'f.20250101T000000Z-10.bak',
      'f.20251231T235959Z.bak',
    ];
    for (const n of old) await fs.writeFile(path.join(d, n), n);
    const b = await backupFile(f, undefined, 3);
    expect(b).toBe(path.join(d, `f.${STAMP}.bak`));
    expect(await ls(d)).toEqual(
      ['f', 'f.20250101T000000Z-10.bak', `f.${STAMP}.bak`, 'f.20251231T235959Z.bak'].sort(),
    );
    await backupFile(f, undefined, 1);
    expect(await ls(d)).toEqual(['f', `f.${STAMP}-1.bak`]);
  });
  it('keep larger than the count removes nothing', async () => {
    fixTime();
    const f = path.join(d, 'f');
    await fs.writeFile(f, 'x');
    await fs.writeFile(path.join(d, 'f.20250101T000000Z.bak'), 'o');
    await backupFile(f, undefined, 5);
    expect(await ls(d)).toEqual(['f', 'f.20250101T000000Z.bak', `f.${STAMP}.bak`]);
    await backupFile(f, undefined, 3);
    expect(await ls(d)).toEqual(
      ['f', `f.${STAMP}-1.bak`, 'f.20250101T000000Z.bak', `f.${STAMP}.bak`].sort(),
    );
  });
  it('without keep nothing is pruned', async () => {
    fixTime();
    const f = path.join(d, 'f');
    await fs.writeFile(f, 'x');
    await fs.writeFile(path.join(d, 'f.20250101T000000Z.bak'), 'o');
    await backupFile(f);
    expect(await ls(d)).toEqual(['f', 'f.20250101T000000Z.bak', `f.${STAMP}.bak`]);
  });
  it("keep prunes only this file's backup names, not others", async () => {
    fixTime();
    const f = path.join(d, 'f');
    await fs.writeFile(f, 'x');
    const others = [
      'g.20250101T000000Z.bak',
      'xf.20250101T000000Z.bak',
      'f.20250101T000000Z.bak.old',
      'f.2025.bak',
      'f.20250101T000000Z-a.bak',
      'f.20250101T000000.bak',
      'f.bak',
      'fx20250101T000000Z.bak',
    ];
    for (const n of others) await fs.writeFile(path.join(d, n), n);
    await backupFile(f, undefined, 1);
    expect(await ls(d)).toEqual(['f', `f.${STAMP}.bak`, ...others].sort());
  });
  it("keep: a name in the file's name is taken literally (dots escaped)", async () => {
    fixTime();
    const f = path.join(d, 'a.conf');
    await fs.writeFile(f, 'x');
    await fs.writeFile(path.join(d, 'aXconf.20250101T000000Z.bak'), 'o');
    await fs.writeFile(path.join(d, 'a.conf.20250101T000000Z.bak'), 'o');
    await backupFile(f, undefined, 1);
    expect(await ls(d)).toEqual(['a.conf', `a.conf.${STAMP}.bak`, 'aXconf.20250101T000000Z.bak']);
  });
  it.runIf(isRoot)(
    'keep leaves foreign-owned names and symlinks alone and does not count them',
    async () => {
      fixTime();
      const f = path.join(d, 'f');
      await fs.writeFile(f, 'x');
      const foreign = path.join(d, 'f.20991231T235959Z.bak');
      await fs.writeFile(foreign, 'planted');
      await fs.chown(foreign, NOBODY, NOBODY);
      await fs.writeFile(path.join(d, 'target'), 't');
      await fs.symlink('target', path.join(d, 'f.20250101T000000Z.bak'));
      await fs.mkdir(path.join(d, 'f.20250101T000001Z.bak'));
      await fs.writeFile(path.join(d, 'f.20250101T000002Z.bak'), 'mine, old');
      await backupFile(f, undefined, 1);
      expect(await ls(d)).toEqual(
        [
          'f',
          'f.20250101T000000Z.bak',
          'f.20250101T000001Z.bak',
          `f.${STAMP}.bak`,
          'f.20991231T235959Z.bak',
          'target',
        ].sort(),
      );
      expect(await fs.readFile(path.join(d, 'target'), 'utf8')).toBe('t');
    },
  );
  it.runIf(isRoot)("keep judges ownership by the new backup's owner", async () => {
    fixTime();
    const f = path.join(d, 'f');
    await fs.writeFile(f, 'x');
    await fs.chown(f, NOBODY, NOBODY);
    const rootOld = path.join(d, 'f.20250101T000000Z.bak');
    const nobodyOld = path.join(d, 'f.20250101T000001Z.bak');
    await fs.writeFile(rootOld, 'r');
    await fs.writeFile(nobodyOld, 'n');
    await fs.chown(nobodyOld, NOBODY, NOBODY);
    await backupFile(f, undefined, 1);
    expect(await ls(d)).toEqual(['f', 'f.20250101T000000Z.bak', `f.${STAMP}.bak`]);
  });
  it.runIf(isRoot)(
    'sweeps dead temps: only matching names, only regular files of this uid',
    async () => {
      fixTime();
      const f = path.join(d, 'f');
      await fs.writeFile(f, 'x');
      const dead = ['f.20250101T000000Z.bak.tmp', 'f.20250101T000000Z-3.bak.tmp'];
      const kept = [
        'g.20250101T000000Z.bak.tmp',
        'xf.20250101T000000Z.bak.tmp',
        'f.20250101T000000Z.bak.tmpx',
        'f.2025.bak.tmp',
        'f.20250101T000000Z.tmp',
        'f.20250101T000000Z-x.bak.tmp',
        'fX20250101T000000Z.bak.tmp',
      ];
      for (const n of [...dead, ...kept]) await fs.writeFile(path.join(d, n), n);
      const foreign = 'f.20250101T000001Z.bak.tmp';
      await fs.writeFile(path.join(d, foreign), 'other user');
      await fs.chown(path.join(d, foreign), NOBODY, NOBODY);
      const link = 'f.20250101T000002Z.bak.tmp';
      await fs.writeFile(path.join(d, 'target'), 't');
      await fs.symlink('target', path.join(d, link));
      const dir = 'f.20250101T000003Z.bak.tmp';
      await fs.mkdir(path.join(d, dir));
      await backupFile(f);
      expect(await ls(d)).toEqual(
        ['f', `f.${STAMP}.bak`, ...kept, foreign, link, dir, 'target'].sort(),
      );
    },
  );
  it("sweeps in the given backup dir, not the file's", async () => {
    fixTime();
    const f = path.join(d, 'f');
    await fs.writeFile(f, 'x');
    const bk = path.join(d, 'bk');
    await fs.mkdir(bk);
    await fs.writeFile(path.join(d, 'f.20250101T000000Z.bak.tmp'), 'beside');
    await fs.writeFile(path.join(bk, 'f.20250101T000000Z.bak.tmp'), 'in bk');
    await backupFile(f, bk);
    expect(await ls(bk)).toEqual([`f.${STAMP}.bak`]);
    expect(await ls(d)).toEqual(['bk', 'f', 'f.20250101T000000Z.bak.tmp']);
  });
});

describe('undo copies', () => {
  const ID = '123-deadbeef-4';
  it('undoCopyPath: beside the real target', async () => {
    const f = path.join(d, 'f');
    await fs.writeFile(f, 'x');
    expect(await undoCopyPath(f, ID)).toBe(path.join(d, `.f.apxs-ts-undo-${ID}`));
    await fs.mkdir(path.join(d, 'real'));
    await fs.writeFile(path.join(d, 'real', 't'), 'x');
    await fs.symlink('real/t', path.join(d, 'link'));
    expect(await undoCopyPath(path.join(d, 'link'), ID)).toBe(
      path.join(d, 'real', `.t.apxs-ts-undo-${ID}`),
    );
  });
  it('isUndoCopyOf: the table', async () => {
    const f = path.join(d, 'f');
    await fs.writeFile(f, 'x');
    const good = path.join(d, `.f.apxs-ts-undo-${ID}`);
    expect(await isUndoCopyOf(good, f)).toBe(true);
    expect(await isUndoCopyOf(await undoCopyPath(f, '9-0123abcd-0'), f)).toBe(true);
    expect(await isUndoCopyOf(path.join(d, '.f.apxs-ts-undo-9-0123abcd-12'), f)).toBe(true);
    // relative
    expect(await isUndoCopyOf(path.relative(process.cwd(), good), f)).toBe(false);
    expect(await isUndoCopyOf(`.f.apxs-ts-undo-${ID}`, f)).toBe(false);
    // another dir
    expect(await isUndoCopyOf(path.join(d, 'sub', `.f.apxs-ts-undo-${ID}`), f)).toBe(false);
    expect(await isUndoCopyOf(path.join('/etc', `.f.apxs-ts-undo-${ID}`), f)).toBe(false);
    // another file's copy
    expect(await isUndoCopyOf(path.join(d, `.g.apxs-ts-undo-${ID}`), f)).toBe(false);
    // wrong name patterns
    for (const n of [
      `f.apxs-ts-undo-${ID}`,
      `.f.apxs-ts-undo-123-DEADBEEF-4`,
      `.f.apxs-ts-undo-123-deadbee-4`,
      `.f.apxs-ts-undo-123-deadbeef0-4`,
      `.f.apxs-ts-undo-123-deadbeef-`,
      `.f.apxs-ts-undo--deadbeef-4`,
      `.f.apxs-ts-undo-${ID}x`,
      `x.f.apxs-ts-undo-${ID}`,
      `.f.apxs-ts-undo-a-deadbeef-4`,
      `.f.apxs-ts-undo-1-deadbeef-b`,
      `.f.apxs-ts-UNDO-${ID}`,
      `..apxs-ts-undo-${ID}`,
      `/shadow`,
      'shadow',
    ])
      expect(await isUndoCopyOf(path.join(d, n), f), n).toBe(false);
    // not normalized
    expect(await isUndoCopyOf(`${d}/./.f.apxs-ts-undo-${ID}`, f)).toBe(false);
    expect(await isUndoCopyOf(`${d}//.f.apxs-ts-undo-${ID}`, f)).toBe(false);
    expect(await isUndoCopyOf(`${d}/sub/../.f.apxs-ts-undo-${ID}`, f)).toBe(false);
  });
  it("isUndoCopyOf: the real target's dir, the real dir of a linked dir", async () => {
    await fs.mkdir(path.join(d, 'real'));
    await fs.writeFile(path.join(d, 'real', 't'), 'x');
    await fs.symlink('real/t', path.join(d, 'link'));
    const link = path.join(d, 'link');
    expect(await isUndoCopyOf(path.join(d, 'real', `.t.apxs-ts-undo-${ID}`), link)).toBe(true);
    expect(await isUndoCopyOf(path.join(d, `.link.apxs-ts-undo-${ID}`), link)).toBe(true);
    expect(await isUndoCopyOf(path.join(d, `.t.apxs-ts-undo-${ID}`), link)).toBe(false);
    // the file through a linked directory: its copy in the real directory
    await fs.symlink('real', path.join(d, 'ldir'));
    await fs.symlink('t', path.join(d, 'real', 'u'));
    const viaDir = path.join(d, 'ldir', 'u');
    expect(await isUndoCopyOf(path.join(d, 'real', `.u.apxs-ts-undo-${ID}`), viaDir)).toBe(true);
    expect(await isUndoCopyOf(path.join(d, 'ldir', `.u.apxs-ts-undo-${ID}`), viaDir)).toBe(true);
    expect(await isUndoCopyOf(path.join(d, 'real', `.t.apxs-ts-undo-${ID}`), viaDir)).toBe(true);
    // a file that does not exist, in a dir that does not
    expect(
      await isUndoCopyOf(
        path.join(d, 'nodir', `.n.apxs-ts-undo-${ID}`),
        path.join(d, 'nodir', 'n'),
      ),
    ).toBe(true);
    expect(
      await isUndoCopyOf(path.join(d, `.n.apxs-ts-undo-${ID}`), path.join(d, 'nodir', 'n')),
    ).toBe(false);
  });
  it('undoCopy: a verified copy with mode (and owner), EEXIST over an existing one', async () => {
    const f = path.join(d, 'f');
    await fs.writeFile(f, 'orig');
    await fs.chmod(f, 0o600);
    if (isRoot) await fs.chown(f, NOBODY, NOBODY);
    const copy = await undoCopyPath(f, ID);
    await undoCopy(f, copy);
    expect(await fs.readFile(copy, 'utf8')).toBe('orig');
    const st = await fs.stat(copy);
    expect(st.mode & 0o7777).toBe(0o600);
    if (isRoot) expect([st.uid, st.gid]).toEqual([NOBODY, NOBODY]);
    expect(st.ino).not.toBe((await fs.stat(f)).ino);
    const err = await caught(undoCopy(f, copy, Buffer.from('other')));
    expect(err.code).toBe('EEXIST');
    expect(await fs.readFile(copy, 'utf8')).toBe('orig');
    expect(await ls(d)).toEqual(['.f.apxs-ts-undo-123-deadbeef-4', 'f']);
  });
  it("undoCopy: the content given wins over the file's", async () => {
    const f = path.join(d, 'f');
    await fs.writeFile(f, 'on disk');
    const copy = path.join(d, 'copy');
    await undoCopy(f, copy, Buffer.from('read before'));
    expect(await fs.readFile(copy, 'utf8')).toBe('read before');
  });
  it('undoCopy through a symlink copies the target', async () => {
    await fs.writeFile(path.join(d, 'real'), 'target bytes');
    await fs.symlink('real', path.join(d, 'link'));
    const copy = path.join(d, 'c');
    await undoCopy(path.join(d, 'link'), copy);
    expect(await fs.readFile(copy, 'utf8')).toBe('target bytes');
  });
  it('restoreCopy: true and put back; false when the copy is gone', async () => {
    const f = path.join(d, 'f');
    await fs.writeFile(f, 'orig');
    const copy = await undoCopyPath(f, ID);
    await undoCopy(f, copy);
    await fs.writeFile(f, 'edited');
    expect(await restoreCopy(copy, f)).toBe(true);
    expect(await fs.readFile(f, 'utf8')).toBe('orig');
    expect(await ls(d)).toEqual(['f']);
    expect(await restoreCopy(copy, f)).toBe(false);
    expect(await fs.readFile(f, 'utf8')).toBe('orig');
  });
  it('restoreCopy through a symlink restores the target, keeps the link', async () => {
    await fs.writeFile(path.join(d, 'real'), 'orig');
    await fs.symlink('real', path.join(d, 'link'));
    const link = path.join(d, 'link');
    const copy = await undoCopyPath(link, ID);
    await undoCopy(link, copy);
    await fs.writeFile(path.join(d, 'real'), 'edited');
    expect(await restoreCopy(copy, link)).toBe(true);
    expect((await fs.lstat(link)).isSymbolicLink()).toBe(true);
    expect(await fs.readFile(path.join(d, 'real'), 'utf8')).toBe('orig');
    expect(await ls(d)).toEqual(['link', 'real']);
  });
  it('restoreCopy onto a directory: the error, copy kept', async () => {
    const copy = path.join(d, 'copy');
    await fs.writeFile(copy, 'c');
    await fs.mkdir(path.join(d, 'adir'));
    const err = await caught(restoreCopy(copy, path.join(d, 'adir')));
    expect(err.code).toBe('EISDIR');
    expect(await fs.readFile(copy, 'utf8')).toBe('c');
  });
  it('keepCopyAsBackup: moved into a 0700 dir as NAME.<stamp>.bak, then -1', async () => {
    fixTime();
    const f = path.join(d, 'httpd.conf');
    await fs.writeFile(f, 'x');
    const copy = path.join(d, 'c1');
    await fs.writeFile(copy, 'copy one');
    const ino = (await fs.stat(copy)).ino;
    const bk = path.join(d, 'bk');
    const b1 = await keepCopyAsBackup(copy, f, bk);
    expect(b1).toBe(path.join(bk, `httpd.conf.${STAMP}.bak`));
    expect(await fs.readFile(b1, 'utf8')).toBe('copy one');
    expect((await fs.stat(b1)).ino).toBe(ino);
    expect(await readIfExists(copy)).toBeUndefined();
    expect(await modeOf(bk)).toBe(0o700);
    await fs.writeFile(copy, 'copy two');
    const b2 = await keepCopyAsBackup(copy, f, bk);
    expect(b2).toBe(path.join(bk, `httpd.conf.${STAMP}-1.bak`));
    expect(await fs.readFile(b2, 'utf8')).toBe('copy two');
    expect(await fs.readFile(b1, 'utf8')).toBe('copy one');
    await fs.writeFile(copy, 'copy three');
    expect(await keepCopyAsBackup(copy, f, bk)).toBe(path.join(bk, `httpd.conf.${STAMP}-2.bak`));
    expect(await ls(bk)).toEqual([
      `httpd.conf.${STAMP}-1.bak`,
      `httpd.conf.${STAMP}-2.bak`,
      `httpd.conf.${STAMP}.bak`,
    ]);
  });
  it('keepCopyAsBackup: a missing copy fails, naming nothing kept', async () => {
    const bk = path.join(d, 'bk');
    const err = await caught(keepCopyAsBackup(path.join(d, 'none'), path.join(d, 'f'), bk));
    expect(err.code).toBe('ENOENT');
    expect(await ls(bk)).toEqual([]);
  });
  it('keepCopyAsBackup: a symlinked dir is refused', async () => {
    await fs.mkdir(path.join(d, 'real'));
    await fs.symlink('real', path.join(d, 'bk'));
    await fs.writeFile(path.join(d, 'c'), 'c');
    const err = await caught(
      keepCopyAsBackup(path.join(d, 'c'), path.join(d, 'f'), path.join(d, 'bk')),
    );
    expect(err.code).toBe('UNSAFE_CONFIG');
    expect(await ls(path.join(d, 'real'))).toEqual([]);
  });
});
