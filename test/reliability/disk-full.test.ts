/**
 * A full disk during an edit (issue #16, defect 5): a sandbox and its hosts
 * file on a 2 MB tmpfs, filled to leave 4 to 128 KB free, then `vhost add`,
 * `vhost remove --purge`, `install` and `uninstall`. Every failure is NO_SPACE naming a path on that file
 * system, and every file and directory there is byte-identical (content and
 * mode) to before: no 0-byte backup, no half-undone rollback, no journal or
 * undo copy left. Needs root (mount); when the mount is refused, the test
 * says why and fails instead of skipping.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, freePort, tmpDir, type CliResult } from '../helpers.js';

const FREE_KB = [4, 8, 12, 16, 24, 32, 48, 64, 96, 128];
const mounts: string[] = [];

afterAll(() => {
  for (const m of mounts) {
    try {
      execFileSync('umount', [m]);
    } catch {
      /* already gone */
    }
  }
});

/** A 2 MB tmpfs, or an Error saying why there is none. */
async function smallTmpfs(): Promise<string | Error> {
  const dir = await tmpDir('apxs-ts-diskfull-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0755', 'tmpfs', dir], {
      stdio: 'pipe',
    });
  } catch (err) {
    return new Error(
      `cannot mount a 2 MB tmpfs at ${dir} (needs root and CAP_SYS_ADMIN; uid ${process.getuid?.()}): ${String((err as { stderr?: Buffer }).stderr ?? err).trim()}`,
    );
  }
  mounts.push(dir);
  return dir;
}

/** Every path under `dir` with its type, mode and bytes: a byte-for-byte picture. */
async function picture(dir: string, skip: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(rel: string): Promise<void> {
    for (const e of await fs.readdir(path.join(dir, rel), { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      if (r === skip) continue;
      const p = path.join(dir, r);
      const st = await fs.lstat(p);
      const mode = (st.mode & 0o7777).toString(8);
      if (e.isDirectory()) {
        out[r] = `dir ${mode}`;
        await walk(r);
      } else if (e.isSymbolicLink()) {
        out[r] = `link ${await fs.readlink(p)}`;
      } else {
        out[r] = `file ${mode} ${(await fs.readFile(p)).toString('base64')}`;
      }
    }
  }
  await walk('');
  return out;
}

/** Fills the file system of `mnt` so that `kb` KB stay free. */
async function fillTo(mnt: string, filler: string, kb: number): Promise<number> {
  await fs.rm(filler, { force: true });
  const st = await fs.statfs(mnt);
  const free = st.bavail * st.bsize;
  await fs.writeFile(filler, Buffer.alloc(Math.max(0, free - kb * 1024)));
  const after = await fs.statfs(mnt);
  return Math.round((after.bavail * after.bsize) / 1024);
}

function httpdAccepts(sr: string): boolean {
  try {
    execFileSync('/usr/sbin/apache2', ['-d', sr, '-f', 'conf/httpd.conf', '-t'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

describe('a full disk during an edit', () => {
  it('vhost add, vhost remove --purge, install and uninstall at 10 fill levels (4-128 KB free on a 2 MB tmpfs): each failure NO_SPACE with a path, every file byte-identical', async () => {
    const mnt = await smallTmpfs();
    if (mnt instanceof Error) {
      console.error(`disk-full test NOT RUN: ${mnt.message}`);
      throw mnt;
    }
    const work = await tmpDir('apxs-ts-diskfull-work-');
    const sr = path.join(mnt, 'srv');
    const hosts = path.join(mnt, 'hosts');
    const filler = path.join(mnt, 'filler');
    expect(
      (await cli(['sandbox', 'create', sr, '--port', String(await freePort()), '--no-project']))
        .code,
    ).toBe(0);
    await fs.writeFile(hosts, '127.0.0.1 localhost\n');
    expect((await cli(['new', 'full', '--template', 'handler'], { cwd: work })).code).toBe(0);
    const mod = path.join(work, 'mod_full');
    expect((await cli(['build', mod, '--server-root', sr])).code).toBe(0);

    const add = ['vhost', 'add', 'v.dd', '--server-root', sr, '--hosts-file', hosts, '--json'];
    const remove = [
      'vhost',
      'remove',
      'v.dd',
      '--purge',
      '--server-root',
      sr,
      '--hosts-file',
      hosts,
      '--json',
    ];
    const install = ['install', mod, '--server-root', sr, '--json'];
    const uninstall = ['uninstall', 'full', '--server-root', sr, '--json'];
    // [name, what brings the root to where the command starts, the command, what undoes it when it worked]
    const commands: [string, string[] | undefined, string[], string[] | undefined][] = [
      ['vhost add', undefined, add, remove],
      ['vhost remove --purge', add, remove, undefined],
      ['install', undefined, install, uninstall],
      ['uninstall', install, uninstall, undefined],
    ];
    // One add and remove first: the state dir, its ledger and backups dir exist, as after any first edit.
    for (const args of [add, remove, install, uninstall]) expect((await cli(args)).code).toBe(0);
    const outcomes: string[] = [];
    for (const kb of FREE_KB) {
      for (const [name, setup, args, undo] of commands) {
        await fs.rm(filler, { force: true });
        if (setup) expect((await cli(setup)).code).toBe(0);
        const free = await fillTo(mnt, filler, kb);
        const before = await picture(mnt, 'filler');
        const r: CliResult = await cli(args);
        await fs.rm(filler);
        if (r.code === 0) {
          outcomes.push(`${kb} KB ${name}: ok`);
          expect(httpdAccepts(sr)).toBe(true);
          if (undo) expect((await cli(undo)).code).toBe(0);
          continue;
        }
        outcomes.push(
          `${kb} KB (${free} free) ${name}: ${r.json?.error?.code} ${r.json?.error?.message}`,
        );
        expect(r.json?.error?.code, `${name} at ${kb} KB free: ${r.stdout}`).toBe('NO_SPACE');
        expect(r.json.error.message, 'names a path on the full file system').toContain(mnt);
        expect(await picture(mnt, 'filler'), `${name} at ${kb} KB free`).toEqual(before);
        expect(httpdAccepts(sr)).toBe(true);
        // Back to the start: what setup made is undone with space again.
        if (setup) expect((await cli(undo ?? (args === remove ? remove : uninstall))).code).toBe(0);
      }
    }
    console.log(outcomes.join('\n'));
    // The levels must reach both sides: failures to check, and the edit fitting.
    expect(outcomes.filter((o) => o.includes('NO_SPACE')).length).toBeGreaterThanOrEqual(5);
    expect(outcomes.filter((o) => o.endsWith(': ok')).length).toBeGreaterThanOrEqual(1);
  }, 300_000);
});
