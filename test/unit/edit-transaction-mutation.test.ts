/**
 * lib/core/edit-transaction.ts, what the other tests left open (issue #16
 * mutation testing): a directory given to removeAfterCommit is removed with
 * everything in it, and only at the commit; a file written and then removed
 * in one edit is gone; a symlink or directory that cannot be made is an
 * error, not a change.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EditTransaction } from '../../lib/core/edit-transaction.js';
import { tmpDir } from '../helpers.js';

describe('removeAfterCommit', () => {
  it('a directory with files in it: still there before the commit, gone after it, no warning', async () => {
    const d = await tmpDir('apxs-ts-txmut-');
    const dir = path.join(d, 'docroot');
    await fs.mkdir(path.join(dir, 'sub'), { recursive: true });
    await fs.writeFile(path.join(dir, 'sub', 'index.html'), 'x');
    const tx = new EditTransaction(path.join(d, 'backups'), {
      file: path.join(d, 'journal.json'),
      what: 'purge test',
    });
    await tx.removeAfterCommit(dir);
    expect((await fs.stat(dir)).isDirectory()).toBe(true);
    await tx.commit();
    await expect(fs.stat(dir)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(tx.warnings).toEqual([]);
  });
});

describe('what cannot be done is an error, what is done is done', () => {
  const newTx = async () => {
    const d = await tmpDir('apxs-ts-txmut-');
    return {
      d,
      tx: new EditTransaction(path.join(d, 'backups'), {
        file: path.join(d, 'journal.json'),
        what: 'test',
      }),
    };
  };

  it('a file written and then removed in the same edit is gone', async () => {
    const { d, tx } = await newTx();
    const f = path.join(d, 'new.conf');
    expect(await tx.write(f, 'a\n')).toBe(true);
    expect(await tx.remove(f)).toBe(true);
    await expect(fs.stat(f)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('a symlink in a directory that does not exist: ENOENT, nothing reported changed', async () => {
    const { d, tx } = await newTx();
    await expect(
      tx.symlink('/etc/hostname', path.join(d, 'missing', 'link')),
    ).rejects.toMatchObject({ code: 'ENOENT' });
    expect(tx.changed).toEqual([]);
  });

  it('a directory below a regular file: the errno (ENOTDIR), nothing reported changed', async () => {
    const { d, tx } = await newTx();
    await fs.writeFile(path.join(d, 'file'), 'x');
    await expect(tx.mkdir(path.join(d, 'file', 'sub'))).rejects.toMatchObject({ code: 'ENOTDIR' });
    expect(tx.changed).toEqual([]);
  });
});
