/**
 * lib/core/edit-transaction.ts, what the other tests left open (issue #16
 * mutation testing): a directory given to removeAfterCommit is removed with
 * everything in it, and only at the commit.
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
    const tx = new EditTransaction(path.join(d, 'backups'), { file: path.join(d, 'journal.json'), what: 'purge test' });
    await tx.removeAfterCommit(dir);
    expect((await fs.stat(dir)).isDirectory()).toBe(true);
    await tx.commit();
    await expect(fs.stat(dir)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(tx.warnings).toEqual([]);
  });
});
