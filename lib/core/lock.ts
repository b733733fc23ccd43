/**
 * A lock file beside the file being edited: created with O_EXCL, holding the
 * owner's pid; a lock whose owner is dead is taken over. Temp files a killed
 * writer left beside the target are cleaned up while the lock is held.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ApxsError, isErrno, permissionError } from './errors.js';
import { isAlive, sleep } from './proc.js';

export async function withLock<T>(lockFile: string, fn: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let delay = 2;
  for (;;) {
    try {
      const h = await fs.open(lockFile, 'wx', 0o644);
      await h.writeFile(`${process.pid}\n`);
      await h.close();
      break;
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw permissionError(lockFile, err) ?? err;
      const owner = Number((await fs.readFile(lockFile, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(owner) && owner > 0 && !(await isAlive(owner))) {
        // The owner died holding it (killed mid-write): take it over, unless
        // another waiter already did and the file now names a live owner.
        const again = Number((await fs.readFile(lockFile, 'utf8').catch(() => '')).trim());
        if (again === owner) await fs.rm(lockFile, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new ApxsError('LOCKED', `${lockFile} is held by pid ${owner || '?'}`, { hint: 'another apxs-ts is editing this file; try again, or remove the lock if that process is gone' });
      }
      await sleep(delay + Math.random() * delay);
      delay = Math.min(delay * 2, 50);
    }
  }
  try {
    await removeDeadWritersTemps(lockFile.replace(/\.apxs-ts\.lock$/, ''));
    return await fn();
  } finally {
    await fs.rm(lockFile, { force: true });
  }
}

/** `.NAME.apxs-ts-PID-*.tmp` files of writers that no longer run. */
async function removeDeadWritersTemps(target: string): Promise<void> {
  const dir = path.dirname(target);
  const prefix = `.${path.basename(target)}.apxs-ts-`;
  for (const f of await fs.readdir(dir).catch(() => [] as string[])) {
    const m = f.startsWith(prefix) ? /^(\d+)-/.exec(f.slice(prefix.length)) : null;
    if (m && f.endsWith('.tmp') && !(await isAlive(Number(m[1])))) await fs.rm(path.join(dir, f), { force: true });
  }
}
