/**
 * Two or more builds of one module directory (#16, defect 6): they take turns
 * on a per-directory lock and each compiles into a temp name of its own, so
 * every run exits 0 and the .so is whole; a build killed between the compile
 * and the rename leaves the previous .so as it was, and its temp file is
 * swept by the next build. A small C module and the system httpd's apxs
 * toolchain keep it fast (~0.2 s a compile).
 */
import { spawn } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, cli, tmpDir } from '../helpers.js';
import { readDynamic } from '../../lib/module/elf.js';

// No server root: the system httpd's toolchain.
const env = { APXS_TS_SERVER_ROOT: '' };
let work = '';
let dir = '';
let so = '';

beforeAll(async () => {
  work = await tmpDir('apxs-ts-builds-');
  const made = await cli(['new', 'pb', '--template', 'hello'], { cwd: work, env });
  expect(made.code, made.stderr).toBe(0);
  dir = path.join(work, 'mod_pb');
  so = path.join(dir, 'mod_pb.so');
});

/** httpd itself loads the .so: whole, exports pb_module, every symbol resolved. */
async function httpdLoads(file: string): Promise<void> {
  const conf = path.join(work, 'load.conf');
  await fs.writeFile(
    conf,
    [
      `ServerRoot ${work}`,
      'LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so',
      `LoadModule pb_module ${file}`,
      'ServerName localhost',
      'Listen 127.0.0.1:1',
      'ErrorLog /dev/null',
      '',
    ].join('\n'),
  );
  execFileSync('apache2', ['-t', '-f', conf], { stdio: 'pipe' });
  expect((await readDynamic(file)).defined.has('pb_module')).toBe(true);
}

/** What a build may leave in the directory besides its outputs: nothing (no temp .so, no lock). */
async function leftovers(): Promise<string[]> {
  return (await fs.readdir(dir)).filter(
    (f) => f.endsWith('.tmp') || f.includes('.lock') || f.includes('apxs-ts-tmp'),
  );
}

describe('builds in one module directory', () => {
  it('3 parallel builds x 15 rounds: 45 of 45 exit 0, the .so loads in httpd after every round, nothing left over', async () => {
    const ROUNDS = 15;
    const PARALLEL = 3;
    const failures: string[] = [];
    let ok = 0;
    for (let round = 0; round < ROUNDS; round++) {
      // Odd rounds change the source (one build compiles, the others find it up to date
      // or compile again); even rounds --force, so all three compile and link.
      const force = round % 2 === 0;
      if (!force) await fs.appendFile(path.join(dir, 'mod_pb.c'), `\n/* round ${round} */\n`);
      const runs = await Promise.all(
        Array.from({ length: PARALLEL }, () =>
          cli(['build', ...(force ? ['--force'] : []), '--json'], {
            cwd: dir,
            env,
            timeoutMs: 120_000,
          }),
        ),
      );
      for (const r of runs) {
        if (r.code === 0 && r.json?.ok) ok++;
        else failures.push(`round ${round}: exit ${r.code} ${r.stdout.trim()} ${r.stderr.trim()}`);
      }
      await httpdLoads(so);
      expect(await leftovers()).toEqual([]);
    }
    expect(failures).toEqual([]);
    expect(ok).toBe(ROUNDS * PARALLEL);
    // Per-run temp names do not leak into what the stamp compares: the next build has nothing to do.
    const again = await cli(['build', '--json'], { cwd: dir, env });
    expect(again.json?.upToDate, again.stdout).toBe(true);
  });

  it('a build killed between the compile and the rename keeps the previous .so; the next build sweeps its temp file', async () => {
    const build = await cli(['build', '--json'], { cwd: dir, env });
    expect(build.code, build.stdout).toBe(0);
    const before = await fs.readFile(so);
    const mark = path.join(work, 'mark');
    await fs.rm(mark, { force: true });
    await fs.appendFile(path.join(dir, 'mod_pb.c'), '\n/* killed build */\n');
    const killed = await new Promise<NodeJS.Signals | null>((resolve) => {
      const child = spawn(process.execPath, [CLI, 'build', '--json'], {
        cwd: dir,
        env: {
          ...process.env,
          ...env,
          CI: 'true',
          APXS_TS_FAILPOINT: 'build:before-rename',
          APXS_TS_FAILPOINT_MARK: mark,
        },
        stdio: 'ignore',
      });
      child.on('exit', (_code, signal) => resolve(signal));
    });
    expect(killed).toBe('SIGKILL');
    expect((await fs.readFile(mark, 'utf8')).trim()).toBe('build:before-rename');
    // Killed with its temp .so (and its lock) in the directory; the .so it replaces untouched.
    const left = await leftovers();
    expect(left.some((f) => /^\.mod_pb\.so\.apxs-ts-\d+-[0-9a-f]+\.tmp$/.test(f))).toBe(true);
    expect((await fs.readFile(so)).equals(before)).toBe(true);
    await httpdLoads(so);

    // The next build: takes over the dead build's lock, removes its temp file, builds.
    const next = await cli(['build', '--json'], { cwd: dir, env, timeoutMs: 60_000 });
    expect(next.code, next.stdout + next.stderr).toBe(0);
    expect(next.json.upToDate).toBe(false);
    expect(await leftovers()).toEqual([]);
    await httpdLoads(so);
  });
});
