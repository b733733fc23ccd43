/**
 * lib/core/foreign-file.ts in-process (issue #16 mutation testing): a file
 * apxs-ts does not own is replaced (rename, owner and mode kept) only by
 * root; a user writing another user's writable file rewrites it in place
 * (inode, owner, mode kept); another user's symlink in a sticky directory
 * is refused. The non-root case switches this worker's effective uid to
 * nobody for the one call (process.seteuid) and back.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeForeignFile } from '../../lib/core/foreign-file.js';
import { tmpDir } from '../helpers.js';
import { runChildScript } from '../stryker-child.js';

const NOBODY = 65534;
const root = process.geteuid?.() === 0;

describe.runIf(root)('writeForeignFile', () => {
  it("as root: a new file and another user's file are replaced by rename, owner and mode kept", async () => {
    const d = await tmpDir('apxs-ts-foreignmut-');
    const created = path.join(d, 'new-hosts');
    expect(await writeForeignFile(created, 'a\n')).toEqual({ path: created, method: 'rename' });
    expect(await fs.readFile(created, 'utf8')).toBe('a\n');
    const f = path.join(d, 'hosts');
    await fs.writeFile(f, 'old\n');
    await fs.chown(f, NOBODY, NOBODY);
    await fs.chmod(f, 0o640);
    const ino = (await fs.stat(f)).ino;
    expect(await writeForeignFile(f, 'new\n')).toEqual({ path: f, method: 'rename' });
    const st = await fs.stat(f);
    expect([st.uid, st.gid, st.mode & 0o7777, st.ino !== ino]).toEqual([
      NOBODY,
      NOBODY,
      0o640,
      true,
    ]);
    expect(await fs.readFile(f, 'utf8')).toBe('new\n');
  });

  it("through a symlink of root's: the target is written; another user's link in a sticky dir is refused", async () => {
    const d = await tmpDir('apxs-ts-foreignmut-');
    const f = path.join(d, 'hosts');
    await fs.writeFile(f, 'old\n');
    const sticky = await tmpDir('apxs-ts-foreignmut-');
    await fs.chmod(sticky, 0o1777);
    const link = path.join(sticky, 'hosts');
    await fs.symlink(f, link);
    expect(await writeForeignFile(link, 'via link\n')).toEqual({ path: f, method: 'rename' });
    expect((await fs.lstat(link)).isSymbolicLink()).toBe(true);
    await fs.lchown(link, NOBODY, NOBODY);
    await expect(writeForeignFile(link, 'x\n')).rejects.toMatchObject({
      code: 'UNSAFE_CONFIG',
      message: expect.stringMatching(/^refusing to write /),
    });
    expect(await fs.readFile(f, 'utf8')).toBe('via link\n');
  });

  it("as another user: a file of root's that user may write is rewritten in place (inode, owner, mode kept)", async (ctx) => {
    // seteuid is per process: not available in a worker thread (Stryker's vitest pool runs tests in threads).
    try {
      process.seteuid!(0);
    } catch (err) {
      console.warn(
        `foreign-file-mutation: ${(err as Error).message}: the non-root case is not run here`,
      );
      return ctx.skip();
    }
    const d = await tmpDir('apxs-ts-foreignmut-');
    const f = path.join(d, 'hosts');
    await fs.writeFile(f, 'a longer old content\n');
    await fs.chmod(f, 0o666);
    const ino = (await fs.stat(f)).ino;
    let result: unknown;
    process.seteuid!(NOBODY);
    try {
      result = await writeForeignFile(f, 'new\n');
    } finally {
      process.seteuid!(0);
    }
    expect(result).toEqual({ path: f, method: 'in-place' });
    const st = await fs.stat(f);
    expect([st.ino, st.uid, st.mode & 0o7777]).toEqual([ino, 0, 0o666]);
    expect(await fs.readFile(f, 'utf8')).toBe('new\n');
    // (PERMISSION_DENIED cannot be shown this way: access(2) checks the real uid, which seteuid leaves root;
    // trust-mutation.test.ts shows it with chattr +i.)
  });
  // The same as another user in a child process (test/stryker-child.ts): runs under Stryker too, where the
  // test above skips (seteuid is refused in its worker threads), so Stryker sees the non-root branch.
  it("as another user, in a child process: in place when the file is not the user's; by rename when it is; a new file by rename", async () => {
    const d = await tmpDir('apxs-ts-foreignmut-');
    await fs.chmod(d, 0o777);
    const f = path.join(d, 'hosts');
    await fs.writeFile(f, 'a longer old content\n');
    await fs.chmod(f, 0o666);
    const ino = (await fs.stat(f)).ino;
    const asNobody = (file: string, data: string) =>
      runChildScript('unit/foreign-file-as-user.child.ts', {
        FF_FILE: file,
        FF_DATA: data,
        FF_UID: String(NOBODY),
      });
    expect(await asNobody(f, 'new\n')).toEqual({ result: { path: f, method: 'in-place' } });
    let st = await fs.stat(f);
    expect([st.ino, st.uid, st.mode & 0o7777]).toEqual([ino, 0, 0o666]);
    expect(await fs.readFile(f, 'utf8')).toBe('new\n');
    // nobody's own file: replaced by rename (a new inode), still nobody's
    await fs.chown(f, NOBODY, NOBODY);
    expect(await asNobody(f, 'own\n')).toEqual({ result: { path: f, method: 'rename' } });
    st = await fs.stat(f);
    expect([st.ino !== ino, st.uid]).toEqual([true, NOBODY]);
    expect(await fs.readFile(f, 'utf8')).toBe('own\n');
    const created = path.join(d, 'new-hosts');
    expect(await asNobody(created, 'n\n')).toEqual({ result: { path: created, method: 'rename' } });
    expect((await fs.stat(created)).uid).toBe(NOBODY);
    // a directory where the file should be: the stat's error is not ENOENT and is passed on (no write)
    expect(await asNobody(d, 'x')).toMatchObject({ error: { code: expect.any(String) } });
  });
});
