/**
 * The lock's temp file name is random by Math.random now (no node:crypto): a name that is already
 * there (forced here by fixing the random part once) must be left alone, and another name tried;
 * O_EXCL keeps the open from following a link planted at the name.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { withLock } from '../../lib/core/lock.js';
import { startTicks } from '../../lib/core/proc.js';
import { tmpDir } from '../helpers.js';

afterEach(() => {
  vi.restoreAllMocks();
});

describe('a lock temp file name that is already taken', () => {
  it("a file and a symlink at the name the lock's first random part gives (2 kinds x 3 rounds): the lock is taken, the file and the link's target are left as they were", async () => {
    let runs = 0;
    for (const kind of ['file', 'symlink']) {
      for (let round = 0; round < 3; round++) {
        const dir = await tmpDir('apxs-ts-atk2-locktmp-');
        const lockFile = path.join(dir, 'x.apxs-ts.lock');
        // Math.random() = 0.5 is "0.8" in hex: the random part "8".
        const name = `.x.apxs-ts.lock.${process.pid}-${startTicks(process.pid)}-8.tmp`;
        const planted = path.join(dir, name);
        const target = path.join(dir, 'target');
        await fs.writeFile(target, 'someone else\n');
        if (kind === 'file') await fs.writeFile(planted, 'someone else\n');
        else await fs.symlink(target, planted);
        vi.spyOn(Math, 'random').mockReturnValueOnce(0.5);
        const ran = await withLock(lockFile, async () => 'ran');
        expect(ran, `${kind} round ${round}`).toBe('ran');
        expect((await fs.lstat(planted)).isSymbolicLink(), kind).toBe(kind === 'symlink');
        expect(await fs.readFile(planted, 'utf8'), kind).toBe('someone else\n');
        expect(await fs.readFile(target, 'utf8'), kind).toBe('someone else\n');
        expect((await fs.readdir(dir)).sort(), kind).toEqual([name, 'target'].sort());
        vi.restoreAllMocks();
        runs++;
      }
    }
    expect(runs).toBe(6);
  });
});
