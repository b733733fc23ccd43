/**
 * Attacks on a build with nothing to do, now answered without the build lock (RELIABILITY.md,
 * "Threat model: no-op runs without a lock (attack)"): a source edited while the compiler runs,
 * no-op builds racing real ones, and stamps that are links, FIFOs, huge or not JSON.
 */
import { execFileSync, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { CLI, cli, tmpDir } from '../helpers.js';

let work = '';
let dir = '';
let so = '';
let env: Record<string, string> = {};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  work = await tmpDir('apxs-ts-atk2-build-');
  // A compiler that, when asked (a flag file), edits the source after compiling it: a user
  // saving the file while the build runs, the compiler having read the earlier text.
  const cc = path.join(work, 'edit-gcc');
  await fs.writeFile(
    cc,
    [
      '#!/bin/sh',
      'gcc "$@" || exit $?',
      `flag=${path.join(work, 'edit-next')}`,
      'if [ -f "$flag" ]; then cat "$flag" >> "$(cat "$flag.src")"; rm -f "$flag"; fi',
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  env = { APXS_TS_SERVER_ROOT: '', CC: cc };
  const made = await cli(['new', 'eb', '--template', 'hello'], { cwd: work, env });
  expect(made.code, made.stderr).toBe(0);
  dir = path.join(work, 'mod_eb');
  so = path.join(dir, 'mod_eb.so');
  const first = await cli(['build', '--json'], { cwd: dir, env });
  expect(first.code, first.stdout + first.stderr).toBe(0);
});

const tag = (s: string) =>
  `\nstatic const char eb_tag_${s}[] __attribute__((used)) = "EBTAG-${s}";\n`;

describe('a build whose source is edited while it compiles', () => {
  it('5 rounds: the build after an edit made during the compile is never "up to date"; the .so it leaves holds the edit', async () => {
    const src = path.join(dir, 'mod_eb.c');
    let rounds = 0;
    for (let round = 0; round < 5; round++) {
      await fs.appendFile(src, tag(`a${round}`));
      await fs.writeFile(path.join(work, 'edit-next.src'), src);
      await fs.writeFile(path.join(work, 'edit-next'), tag(`b${round}`));
      const edited = await cli(['build', '--json'], { cwd: dir, env });
      expect(edited.code, edited.stdout + edited.stderr).toBe(0);
      expect(edited.json.upToDate).toBe(false);
      // The compiler read the source before the edit: this .so lacks it.
      expect((await fs.readFile(so)).includes(`EBTAG-b${round}`)).toBe(false);
      const next = await cli(['build', '--json'], { cwd: dir, env });
      expect(next.code, next.stdout + next.stderr).toBe(0);
      expect(next.json.upToDate, `round ${round}: the .so lacks the edit`).toBe(false);
      expect((await fs.readFile(so)).includes(`EBTAG-b${round}`)).toBe(true);
      expect((await cli(['build', '--json'], { cwd: dir, env })).json.upToDate).toBe(true);
      rounds++;
    }
    expect(rounds).toBe(5);
  }, 180_000);
});

describe('no-op builds racing a real build of the same module', () => {
  it('8 builds at once x 8 rounds, the source edited before each (a build paused before its rename in odd rounds): every build exits 0, at least one compiles, the .so holds the edit, the next build is up to date, no temp .so or lock left', async () => {
    const src = path.join(dir, 'mod_eb.c');
    const ROUNDS = 8;
    const N = 8;
    let runs = 0;
    let upToDateSeen = 0;
    for (let round = 0; round < ROUNDS; round++) {
      await fs.appendFile(src, tag(`r${round}`));
      // Odd rounds: one build compiles and stops before its rename (its temp .so made, the lock
      // held); the others start then, and it is killed.
      let paused: ReturnType<typeof spawn> | undefined;
      let exited: Promise<unknown> = Promise.resolve();
      if (round % 2 === 1) {
        const mark = path.join(work, `mark${round}`);
        paused = spawn(process.execPath, [CLI, 'build', '--json'], {
          cwd: dir,
          stdio: 'ignore',
          env: {
            ...process.env,
            ...env,
            APXS_TS_FAILPOINT: 'build:before-rename',
            APXS_TS_FAILPOINT_MARK: mark,
            APXS_TS_FAILPOINT_MODE: 'wait',
          },
        });
        exited = new Promise((r) => paused?.on('exit', r));
        while (!(await fs.readFile(mark, 'utf8').catch(() => ''))) await sleep(20);
        expect((await fs.readFile(mark, 'utf8')).trim()).toBe('build:before-rename');
      }
      const runsNow = Array.from({ length: N }, () => cli(['build', '--json'], { cwd: dir, env }));
      if (paused) {
        await sleep(200);
        paused.kill('SIGKILL');
        await exited;
      }
      const rs = await Promise.all(runsNow);
      for (const r of rs) {
        expect(r.code, `round ${round}: ${r.stdout}${r.stderr}`).toBe(0);
        if (r.json.upToDate) upToDateSeen++;
      }
      // At least one compiled the edit; all saw it.
      expect(rs.filter((r) => !r.json.upToDate).length, `round ${round}`).toBeGreaterThan(0);
      expect((await fs.readFile(so)).includes(`EBTAG-r${round}`), `round ${round}`).toBe(true);
      const again = await cli(['build', '--json'], { cwd: dir, env });
      expect(again.json.upToDate, `round ${round}`).toBe(true);
      const left = (await fs.readdir(dir)).filter((f) => f.endsWith('.tmp') || f.includes('.lock'));
      expect(left, `round ${round}`).toEqual([]);
      runs += rs.length;
    }
    expect(runs).toBe(ROUNDS * N);
    console.log(`no-op race: ${runs} builds, ${upToDateSeen} said up to date`);
  }, 300_000);
});

describe('a stamp that is not what a build wrote', () => {
  it('a stamp that is a symlink to a valid stamp elsewhere, a FIFO, 64 MiB, not JSON, empty, or a .so replaced by hand: each build exits 0 within 60 s and compiles (never "up to date"); a symlink\'s target is left as it was (6 cases)', async () => {
    const stamp = path.join(dir, '.apxs-ts', 'build.json');
    const good = async () => {
      const r = await cli(['build', '--json'], { cwd: dir, env });
      expect(r.json.upToDate).toBe(true);
      return fs.readFile(stamp);
    };
    const cases: [string, () => Promise<void>][] = [
      [
        'symlink',
        async () => {
          const elsewhere = path.join(work, 'stamp-elsewhere.json');
          await fs.writeFile(elsewhere, await good());
          await fs.rm(stamp);
          await fs.symlink(elsewhere, stamp);
        },
      ],
      [
        'fifo',
        async () => {
          await fs.rm(stamp);
          execFileSync('mkfifo', [stamp]);
        },
      ],
      ['huge', async () => fs.writeFile(stamp, Buffer.alloc(64 * 1024 * 1024, 0x20))],
      ['not-json', async () => fs.writeFile(stamp, '{"version": 2, "toolchain": ')],
      ['empty', async () => fs.writeFile(stamp, '')],
      [
        'so-by-hand',
        async () => {
          await good();
          const st = await fs.stat(so);
          await fs.copyFile('/usr/lib/apache2/modules/mod_status.so', so);
          // A hand copy keeps neither: the stamp's mtime and size of the .so no longer hold.
          expect((await fs.stat(so)).size).not.toBe(st.size);
        },
      ],
    ];
    let runs = 0;
    for (const [name, plant] of cases) {
      await good();
      await plant();
      const r = await cli(['build', '--json'], { cwd: dir, env, timeoutMs: 60_000 });
      expect(r.code, `${name}: ${r.stdout}${r.stderr}`).toBe(0);
      expect(r.json.upToDate, name).toBe(false);
      expect((await fs.lstat(stamp)).isFile(), name).toBe(true);
      expect((await fs.readFile(so)).includes('eb_module'), name).toBe(true);
      if (name === 'symlink') {
        const kept = await fs.readFile(path.join(work, 'stamp-elsewhere.json'), 'utf8');
        expect(JSON.parse(kept).version, name).toBe(2);
      }
      runs++;
    }
    expect(runs).toBe(cases.length);
  }, 300_000);
});

describe("the build's temp .so name taken by a planted symlink", () => {
  it("Math.random fixed and a symlink planted at the temp .so name the build will use (3 rounds): the link's target keeps its bytes, the .so is a regular file that exports the module", async () => {
    const target = path.join(work, 'precious');
    const preload = path.join(work, 'plant-tmp-so.cjs');
    // Runs in the build's own process before apxs-ts: knows its pid, and fixes the random part
    // (0.5 is "8" in hex), so the name is the one the build will compile into.
    await fs.writeFile(
      preload,
      [
        "const fs = require('node:fs');",
        'Math.random = () => 0.5;',
        `const at = ${JSON.stringify(dir)} + '/.mod_eb.so.apxs-ts-' + process.pid + '-8.tmp';`,
        `fs.symlinkSync(${JSON.stringify(target)}, at);`,
        `fs.appendFileSync(${JSON.stringify(`${preload}.log`)}, at + '\\n');`,
        '',
      ].join('\n'),
    );
    const src = path.join(dir, 'mod_eb.c');
    let rounds = 0;
    for (let round = 0; round < 3; round++) {
      await fs.writeFile(target, 'precious\n');
      await fs.appendFile(src, tag(`s${round}`));
      const r = await cli(['build', '--json'], {
        cwd: dir,
        env: { ...env, NODE_OPTIONS: `--require ${preload}` },
      });
      expect(r.code, `round ${round}: ${r.stdout}${r.stderr}`).toBe(0);
      expect(r.json.upToDate).toBe(false);
      expect(await fs.readFile(target, 'utf8'), `round ${round}`).toBe('precious\n');
      expect((await fs.lstat(so)).isFile(), `round ${round}`).toBe(true);
      expect((await fs.readFile(so)).includes(`EBTAG-s${round}`)).toBe(true);
      const left = (await fs.readdir(dir)).filter((f) => f.endsWith('.tmp'));
      expect(left, `round ${round}`).toEqual([]);
      rounds++;
    }
    expect(rounds).toBe(3);
    // Planted once a build, before the build looked.
    expect((await fs.readFile(`${preload}.log`, 'utf8')).trim().split('\n')).toHaveLength(3);
  }, 120_000);
});

describe('apxs-ts.mk or the Makefile not a regular file (a cloned project can hold links)', () => {
  it('apxs-ts.mk a FIFO or a link to /dev/zero: build says BAD_INPUT naming it within 30 s, never hangs; a FIFO Makefile: build exits 0 (3 cases)', async () => {
    const mk = path.join(dir, 'apxs-ts.mk');
    const makefile = path.join(dir, 'Makefile');
    const keptMk = await fs.readFile(mk);
    const keptMakefile = await fs.readFile(makefile);
    const cases: [string, string, () => void][] = [
      ['mk-fifo', mk, () => execFileSync('mkfifo', [mk])],
      ['mk-zero', mk, () => execFileSync('ln', ['-s', '/dev/zero', mk])],
      ['makefile-fifo', makefile, () => execFileSync('mkfifo', [makefile])],
    ];
    let runs = 0;
    for (const [name, file, plant] of cases) {
      await fs.rm(file);
      plant();
      const r = await cli(['build', '--json'], { cwd: dir, env, timeoutMs: 30_000 });
      await fs.rm(file);
      await fs.writeFile(mk, keptMk);
      await fs.writeFile(makefile, keptMakefile);
      expect(r.killed, `${name}: hung`).toBe(false);
      if (file === mk) {
        expect(r.json?.error?.code, `${name}: ${r.stdout}${r.stderr}`).toBe('BAD_INPUT');
        expect(r.json.error.message).toContain(mk);
      } else expect(r.code, `${name}: ${r.stdout}${r.stderr}`).toBe(0);
      runs++;
    }
    expect(runs).toBe(3);
  }, 180_000);
});
