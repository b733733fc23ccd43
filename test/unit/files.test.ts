/** Marked blocks, atomic writes and transactions: every byte outside our block stays as it was. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../lib/core/atomic-file.js';
import { EditTransaction } from '../../lib/core/edit-transaction.js';
import {
  findBlock,
  listBlockIds,
  offsetOutsideBlocks,
  removeBlock,
  upsertBlock,
} from '../../lib/core/marked-block.js';
import { tmpDir } from '../helpers.js';

describe('marked blocks', () => {
  const originals = [
    'a\nb\n',
    'a\r\nb\r\n',
    'a\nno final newline',
    '\ufeff# bom\n\tTabbed  # inline comment\n',
    '',
  ];
  it.each(originals)('insert then remove gives back %j exactly', (text) => {
    for (const at of [0, text.length, text.indexOf('\n') + 1]) {
      const added = upsertBlock(text, 'x', ['one', 'two'], at);
      expect(findBlock(added, 'x')?.body).toEqual(['one', 'two']);
      expect(removeBlock(added, 'x')).toBe(text);
    }
  });
  it('replaces a block in place and keeps its line endings', () => {
    const text = 'head\r\n# BEGIN apxs-ts m\r\nold\r\n# END apxs-ts m\r\ntail\r\n';
    expect(upsertBlock(text, 'm', ['new'], 0)).toBe(
      'head\r\n# BEGIN apxs-ts m\r\nnew\r\n# END apxs-ts m\r\ntail\r\n',
    );
    expect(listBlockIds(text, '')).toEqual(['m']);
  });
  it('moves an insertion point out of one of our blocks', () => {
    const text = 'a\n# BEGIN apxs-ts m\nLoadModule x\n# END apxs-ts m\nb\n';
    const inside = text.indexOf('# END');
    expect(offsetOutsideBlocks(text, inside)).toBe(text.indexOf('b\n'));
    expect(offsetOutsideBlocks(text, 2)).toBe(2);
  });
});

describe('atomic writes and transactions', () => {
  it('keeps the mode, writes through a symlink to its target, and rolls back byte for byte', async () => {
    const dir = await tmpDir();
    const real = path.join(dir, 'real.conf');
    const link = path.join(dir, 'link.conf');
    await fs.writeFile(real, 'original\r\nbytes');
    await fs.chmod(real, 0o640);
    await fs.symlink('real.conf', link);
    const tx = new EditTransaction(path.join(dir, 'backups'));
    await tx.write(link, 'changed');
    await tx.write(path.join(dir, 'new.conf'), 'brand new');
    expect((await fs.lstat(link)).isSymbolicLink()).toBe(true);
    expect(await fs.readFile(real, 'utf8')).toBe('changed');
    expect((await fs.stat(real)).mode & 0o777).toBe(0o640);
    expect(tx.backups).toHaveLength(1);
    expect(await fs.readFile(tx.backups[0]!, 'utf8')).toBe('original\r\nbytes');
    await tx.rollback();
    expect(await fs.readFile(real, 'utf8')).toBe('original\r\nbytes');
    expect((await fs.stat(real)).mode & 0o777).toBe(0o640);
    await expect(fs.stat(path.join(dir, 'new.conf'))).rejects.toThrow();
    expect((await fs.readdir(dir)).filter((f) => f.includes('.tmp'))).toEqual([]);
  });
  it('writing the same bytes is not a change', async () => {
    const dir = await tmpDir();
    const f = path.join(dir, 'f');
    await writeFileAtomic(f, 'same');
    const tx = new EditTransaction();
    expect(await tx.write(f, 'same')).toBe(false);
    expect(tx.changed).toEqual([]);
  });

  it('an edit abandoned half way (as by kill -9) is undone by recover from its journal: bytes, modes, created files and dirs', async () => {
    const dir = await tmpDir();
    const journal = path.join(dir, 'journal.json');
    const conf = path.join(dir, 'a.conf');
    await fs.writeFile(conf, 'before\n', { mode: 0o600 });
    await fs.chmod(conf, 0o600);
    const tx = new EditTransaction(path.join(dir, 'backups'), { file: journal, what: 'test edit' });
    await tx.write(conf, 'after\n');
    await tx.mkdir(path.join(dir, 'made', 'deep'));
    await tx.write(path.join(dir, 'made', 'deep', 'new.txt'), 'new');
    await tx.remove(conf);
    // Abandoned here: no rollback, no commit.
    expect(
      JSON.parse(await fs.readFile(journal, 'utf8')).steps.map((s: { kind: string }) => s.kind),
    ).toEqual(['file', 'dir', 'file']);
    const said = await EditTransaction.recover(journal, path.join(dir, 'backups'));
    expect(said[0]).toMatch(/^undid "test edit"/);
    expect(await fs.readFile(conf, 'utf8')).toBe('before\n');
    expect((await fs.stat(conf)).mode & 0o777).toBe(0o600);
    expect((await fs.readdir(dir)).sort()).toEqual(['a.conf']);
    expect(await EditTransaction.recover(journal)).toEqual([]);
  });

  it('a committed edit whose finish was interrupted is finished by recover: backups kept (0700 dir, mode kept), the removal done', async () => {
    const dir = await tmpDir();
    const journal = path.join(dir, 'journal.json');
    const conf = path.join(dir, 'a.conf');
    const doomed = path.join(dir, 'docroot');
    await fs.mkdir(doomed);
    await fs.writeFile(conf, 'before\n', { mode: 0o600 });
    await fs.chmod(conf, 0o600);
    const tx = new EditTransaction(path.join(dir, 'backups'), {
      file: journal,
      what: 'purging edit',
    });
    await tx.write(conf, 'after\n');
    await tx.removeAfterCommit(doomed);
    // The commit's rename, then a kill before the finish.
    await fs.rename(journal, path.join(dir, 'journal.committed.json'));
    const said = await EditTransaction.recover(journal, path.join(dir, 'backups'));
    expect(said[0]).toMatch(/^finished "purging edit".*removed .*docroot/);
    expect(await fs.readFile(conf, 'utf8')).toBe('after\n');
    await expect(fs.stat(doomed)).rejects.toThrow();
    const backups = await fs.readdir(path.join(dir, 'backups'));
    expect(backups).toHaveLength(1);
    expect(await fs.readFile(path.join(dir, 'backups', backups[0]!), 'utf8')).toBe('before\n');
    expect((await fs.stat(path.join(dir, 'backups', backups[0]!))).mode & 0o777).toBe(0o600);
    expect((await fs.stat(path.join(dir, 'backups'))).mode & 0o777).toBe(0o700);
    expect((await fs.readdir(dir)).sort()).toEqual(['a.conf', 'backups']);
  });

  it('a regular file where a symlink goes is put back by rollback, bytes and all', async () => {
    const dir = await tmpDir();
    const link = path.join(dir, 'site.conf');
    await fs.writeFile(link, "the user's own file\n");
    const tx = new EditTransaction();
    expect(await tx.symlink('../elsewhere.conf', link)).toBe(true);
    expect(await fs.readlink(link)).toBe('../elsewhere.conf');
    await tx.rollback();
    expect((await fs.lstat(link)).isFile()).toBe(true);
    expect(await fs.readFile(link, 'utf8')).toBe("the user's own file\n");
    expect(await fs.readdir(dir)).toEqual(['site.conf']);
  });
});
