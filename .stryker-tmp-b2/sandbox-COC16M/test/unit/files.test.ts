/** Marked blocks, atomic writes and transactions: every byte outside our block stays as it was. */
// @ts-nocheck

import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../../lib/core/atomic-file.js';
import { FileTransaction } from '../../lib/core/edit-transaction.js';
import { findBlock, listBlockIds, offsetOutsideBlocks, removeBlock, upsertBlock } from '../../lib/core/marked-block.js';
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
    expect(upsertBlock(text, 'm', ['new'], 0)).toBe('head\r\n# BEGIN apxs-ts m\r\nnew\r\n# END apxs-ts m\r\ntail\r\n');
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
    const tx = new FileTransaction(path.join(dir, 'backups'));
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
    const tx = new FileTransaction();
    expect(await tx.write(f, 'same')).toBe(false);
    expect(tx.changed).toEqual([]);
  });
});
