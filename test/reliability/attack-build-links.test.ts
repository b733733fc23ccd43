/**
 * A module project is often someone else's (a cloned repository), and git
 * keeps symlinks: `.apxs-ts/build.log` and `.apxs-ts/build.json` planted as
 * links to the user's files made `apxs-ts build` overwrite them (the log with
 * compiler output the source chooses: `#warning "ssh-ed25519 AAAA…"` into an
 * authorized_keys). The log and the stamp replace their names, never follow
 * them; `.apxs-ts` or `.apxs-ts/obj` as a link is refused (UNSAFE_CONFIG), the
 * link's target untouched.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, tmpDir as newTmpDir } from '../helpers.js';

const made: string[] = [];
async function tmpDir(prefix: string): Promise<string> {
  const d = await newTmpDir(prefix);
  made.push(d);
  return d;
}
afterAll(async () => {
  for (const d of made) await fs.rm(d, { recursive: true, force: true });
});

/** A fresh module (system apxs), its dir, and a victims dir. */
async function project(): Promise<{ dir: string; victims: string }> {
  const base = await tmpDir('apxs-ts-atk-buildlinks-');
  const r = await cli(['new', 'mod_ev', '--dir', base], { cwd: base });
  expect(r.code, r.stderr).toBe(0);
  const victims = path.join(base, 'victims');
  await fs.mkdir(victims);
  return { dir: path.join(base, 'mod_ev'), victims };
}

describe("links planted in a module project's .apxs-ts", () => {
  it('build.log and build.json as links to other files: those files unchanged, the build done with its own log and stamp (2 builds)', async () => {
    const { dir, victims } = await project();
    const work = path.join(dir, '.apxs-ts');
    await fs.mkdir(work, { recursive: true });
    const keys = path.join(victims, 'authorized_keys');
    const other = path.join(victims, 'other');
    await fs.writeFile(keys, 'precious key\n');
    await fs.writeFile(other, 'precious\n');
    await fs.symlink(keys, path.join(work, 'build.log'));
    await fs.symlink(other, path.join(work, 'build.json'));
    const src = path.join(dir, 'mod_ev.c');
    await fs.writeFile(
      src,
      `#warning "ssh-ed25519 AAAAATTACKER attacker@evil"\n${await fs.readFile(src, 'utf8')}`,
    );
    for (let i = 0; i < 2; i++) {
      const r = await cli(['build'], { cwd: dir });
      expect(r.code, r.stderr).toBe(0);
      expect(await fs.readFile(keys, 'utf8')).toBe('precious key\n');
      expect(await fs.readFile(other, 'utf8')).toBe('precious\n');
      expect((await fs.lstat(path.join(work, 'build.log'))).isFile()).toBe(true);
      expect((await fs.lstat(path.join(work, 'build.json'))).isFile()).toBe(true);
    }
  }, 60_000);

  it('apxs-ts.mk as a link to another file: that file unchanged, apxs-ts.mk written as a file of its own', async () => {
    const { dir, victims } = await project();
    const mk = path.join(dir, 'apxs-ts.mk');
    const victim = path.join(victims, 'bashrc');
    await fs.writeFile(victim, 'precious\n');
    await fs.rm(mk, { force: true });
    await fs.symlink(victim, mk);
    const r = await cli(['build'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(await fs.readFile(victim, 'utf8')).toBe('precious\n');
    expect((await fs.lstat(mk)).isFile()).toBe(true);
    expect(await fs.readFile(mk, 'utf8')).toMatch(/^# Written by apxs-ts build/);
  }, 60_000);

  it.each(['.apxs-ts', '.apxs-ts/obj', '.apxs-ts/obj/sub'])(
    '%s as a link to another directory: UNSAFE_CONFIG, exit 2, that directory untouched',
    async (name) => {
      const { dir, victims } = await project();
      await fs.mkdir(path.dirname(path.join(dir, name)), { recursive: true });
      await fs.symlink(victims, path.join(dir, name));
      // Two sources, so objects go to .apxs-ts/obj.
      const manifest = path.join(dir, 'apxs-ts-module.json');
      const m = JSON.parse(await fs.readFile(manifest, 'utf8')) as { sources?: string[] };
      await fs.mkdir(path.join(dir, 'sub'));
      await fs.writeFile(path.join(dir, 'sub', 'extra.c'), 'int extra_fn(void) { return 1; }\n');
      await fs.writeFile(
        manifest,
        JSON.stringify({ ...m, sources: ['mod_ev.c', 'sub/extra.c'] }, null, 2),
      );
      const r = await cli(['--json', 'build'], { cwd: dir });
      expect(JSON.parse(r.stdout)).toMatchObject({ ok: false, error: { code: 'UNSAFE_CONFIG' } });
      expect(r.code).toBe(2);
      expect(await fs.readdir(victims)).toEqual([]);
    },
    60_000,
  );
});
