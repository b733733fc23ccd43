/**
 * EditTransaction (lib/core/edit-transaction.ts) by its public behaviour:
 * whatever mix of writes, removals, symlinks, created directories and
 * registered undos a command did, rollback gives back the directory as it
 * was, byte for byte, mode for mode, link for link; and nothing that was
 * not changed is reported or backed up. In-process, for mutation testing.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EditTransaction } from '../../lib/core/edit-transaction.js';
import { tmpDir } from '../helpers.js';

/** Every entry under `dir`: file bytes and mode, link targets, directories. */
async function tree(dir: string, rel = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await fs.readdir(path.join(dir, rel), { withFileTypes: true })) {
    const r = path.join(rel, e.name);
    const full = path.join(dir, r);
    if (e.isSymbolicLink()) out[r] = `link -> ${await fs.readlink(full)}`;
    else if (e.isDirectory()) Object.assign(out, { [r]: 'dir' }, await tree(dir, r));
    else
      out[r] =
        `${((await fs.stat(full)).mode & 0o7777).toString(8)} ${await fs.readFile(full, 'utf8')}`;
  }
  return out;
}

async function fixture(): Promise<{ dir: string; work: string; backups: string }> {
  const dir = await tmpDir('apxs-ts-tx-');
  const work = path.join(dir, 'work');
  await fs.mkdir(work);
  await fs.writeFile(path.join(work, 'a.conf'), 'a original\r\nno final newline');
  await fs.chmod(path.join(work, 'a.conf'), 0o600);
  await fs.writeFile(path.join(work, 'b.conf'), 'b original\n');
  await fs.writeFile(path.join(work, 'gone.conf'), 'to be removed\n');
  await fs.symlink('a.conf', path.join(work, 'link-a'));
  await fs.symlink('b.conf', path.join(work, 'link-removed'));
  await fs.writeFile(path.join(work, 'shared.txt'), 's original\n');
  return { dir, work, backups: path.join(dir, 'backups') };
}

describe('EditTransaction', () => {
  it('rollback of writes, a removal, links made, changed and removed, created directories and an undo gives back the tree exactly', async () => {
    const { work, backups } = await fixture();
    const before = await tree(work);
    const tx = new EditTransaction(backups);
    expect(tx.dirty).toBe(false);
    expect(await tx.write(path.join(work, 'a.conf'), 'a new')).toBe(true);
    expect(await tx.write(path.join(work, 'a.conf'), 'a newer')).toBe(true); // the original is still what is restored
    expect(await tx.write(path.join(work, 'new.conf'), 'brand new', 0o640)).toBe(true);
    expect((await fs.stat(path.join(work, 'new.conf'))).mode & 0o777).toBe(0o640);
    expect(await tx.remove(path.join(work, 'gone.conf'))).toBe(true);
    expect(await tx.remove(path.join(work, 'never-was.conf'))).toBe(false);
    expect(await tx.symlink('b.conf', path.join(work, 'link-a'))).toBe(true);
    expect(await tx.symlink('b.conf', path.join(work, 'link-a'))).toBe(false);
    expect(await tx.symlink('a.conf', path.join(work, 'link-new'))).toBe(true);
    expect(await tx.remove(path.join(work, 'link-removed'))).toBe(true);
    expect(await tx.mkdir(path.join(work, 'x', 'y', 'z'))).toBe(path.join(work, 'x'));
    expect(await tx.mkdir(path.join(work, 'x', 'y'))).toBeUndefined();
    // A file other processes edit under their own lock (the hosts file): undone too (#16 replaced onRollback by tx.shared).
    const shared = path.join(work, 'shared.txt');
    expect(
      await tx.shared(shared, `${shared}.lock`, 's new\n', () => fs.writeFile(shared, 's new\n')),
    ).toBe(true);
    expect(tx.dirty).toBe(true);
    expect(tx.changed).toEqual(
      expect.arrayContaining([
        path.join(work, 'a.conf'),
        path.join(work, 'new.conf'),
        path.join(work, 'gone.conf'),
        path.join(work, 'link-a'),
        path.join(work, 'link-new'),
        path.join(work, 'link-removed'),
      ]),
    );
    const restored = await tx.rollback();
    expect(await tree(work)).toEqual(before);
    expect(restored).toEqual(
      expect.arrayContaining([
        path.join(work, 'a.conf'),
        path.join(work, 'new.conf'),
        path.join(work, 'gone.conf'),
        path.join(work, 'link-a'),
      ]),
    );
    // A second rollback has nothing left to undo.
    expect(await tx.rollback()).toEqual([]);
    expect(await tree(work)).toEqual(before);
  });

  it('writing the bytes a file already holds is no change: not reported, not backed up, not dirty', async () => {
    const { work, backups } = await fixture();
    const tx = new EditTransaction(backups);
    expect(await tx.write(path.join(work, 'b.conf'), 'b original\n')).toBe(false);
    expect(await tx.write(path.join(work, 'b.conf'), Buffer.from('b original\n'))).toBe(false);
    expect(tx.changed).toEqual([]);
    expect(tx.backups).toEqual([]);
    expect(tx.dirty).toBe(false);
    // A shared file already holding the bytes is no change either.
    expect(
      await tx.shared(
        path.join(work, 'shared.txt'),
        path.join(work, 'shared.lock'),
        's original\n',
        async () => undefined,
      ),
    ).toBe(false);
    expect(tx.dirty).toBe(false);
  });

  it('kept changes stay: without rollback the new bytes and the backups remain', async () => {
    const { work, backups } = await fixture();
    const tx = new EditTransaction(backups);
    await tx.write(path.join(work, 'a.conf'), 'a kept\n');
    await tx.write(path.join(work, 'b.conf'), 'b kept\n');
    // The originals become backups at the commit (until then they are the undo copies beside each file).
    await tx.commit();
    expect(await fs.readFile(path.join(work, 'b.conf'), 'utf8')).toBe('b kept\n');
    expect(tx.backups).toHaveLength(2);
    const saved = await Promise.all(tx.backups.map((b) => fs.readFile(b, 'utf8')));
    expect(saved.sort()).toEqual(['a original\r\nno final newline', 'b original\n']);
    expect((await fs.readdir(work)).filter((f) => f.includes('apxs-ts-undo'))).toEqual([]);
    for (const b of tx.backups) expect(b.startsWith(backups + path.sep)).toBe(true);
  });
});
