/** The #23 contract checked for one command (shared by the e2e tests of the commands that edit files). */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { cli, type CliResult } from '../helpers.js';

export const ok = (r: CliResult) => {
  expect(r.code, `${r.stderr}\n${r.stdout}`).toBe(0);
  return r.json as Record<string, any>;
};

/**
 * Every entry under `dirs` (and each file among them): kind, bytes or link
 * target, mode, mtime. `dirMtimes: false` leaves out directories' mtimes: a
 * real run takes the root's lock, a file made and removed in the state dir.
 */
export async function treeState(
  paths: string[],
  dirMtimes = true,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(abs: string): Promise<void> {
    const st = await fs.lstat(abs);
    const stamp = `${(st.mode & 0o7777).toString(8)} ${st.mtimeMs}`;
    if (st.isSymbolicLink()) out[abs] = `link ${await fs.readlink(abs)} ${stamp}`;
    else if (st.isDirectory()) {
      out[abs] = `dir ${dirMtimes ? stamp : ''}`;
      for (const n of (await fs.readdir(abs)).sort()) await walk(path.join(abs, n));
    } else out[abs] = `file ${(await fs.readFile(abs)).toString('base64')} ${stamp}`;
  }
  for (const p of paths) await walk(p);
  return out;
}

/**
 * The contract for one command: check (changes nothing, same changed and
 * diff as the real run), real run (changed), again (changed false, no mtime
 * changed), check again (changed false).
 */
export async function changeContract(
  watched: string[],
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<Record<string, any>> {
  const run = (a: string[]) => cli(a, opts);
  const before = await treeState(watched);
  const check = ok(await run([...args, '--check', '--diff', '--json']));
  expect(check).toMatchObject({ changed: true, check: true });
  expect(typeof check.msg).toBe('string');
  expect(Array.isArray(check.warnings)).toBe(true);
  expect(check.diff.length).toBeGreaterThan(0);
  expect(await treeState(watched)).toEqual(before);

  const real = ok(await run([...args, '--diff', '--json']));
  expect(real.changed).toBe(true);
  expect(real.check).toBeUndefined();
  expect(real.diff).toEqual(check.diff);
  expect(real.files).toEqual(check.files);
  // What the edit decided on the way (a --purge kept or done, a name left to the user) is the same too.
  expect(real.warnings).toEqual(check.warnings);
  expect(real.purged).toEqual(check.purged);

  const after = await treeState(watched, false);
  const again = ok(await run([...args, '--json']));
  expect(again.changed).toBe(false);
  expect(again.diff).toBeUndefined(); // only under --diff
  expect(await treeState(watched, false)).toEqual(after);
  const checkAgain = ok(await run([...args, '--check', '--diff', '--json']));
  expect(checkAgain).toMatchObject({ changed: false, diff: [], check: true });
  return real;
}
