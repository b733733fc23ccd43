/**
 * A save that lands between dev's build and its install (the defect: install
 * found the source newer than the .so and rebuilt it with the target's
 * release flags, so the cycle served a -O2 build of the new source while it
 * reported the -O0 build of the old one). The failpoint `dev:before-install`
 * in pause mode holds dev at exactly that step while the test saves; the
 * module's page says which source it was built from and whether the
 * compiler optimised (__OPTIMIZE__), and readelf's DW_AT_producer shows the
 * flags of the .so installed. Real gcc, the system httpd in a sandbox.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, cli, newSandbox } from '../helpers.js';

const started: string[] = [];
const children: ChildProcess[] = [];
afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const sr of started) await cli(['ctl', 'stop', '--server-root', sr]);
});

/** The hello template's page, saying which version of the source and which optimisation. */
const page = (version: string) => (src: string) =>
  src
    .replace(
      '#include <string.h>',
      '#include <string.h>\n#ifdef __OPTIMIZE__\n#define BUILT "optimised"\n#else\n' +
        '#define BUILT "O0"\n#endif',
    )
    .replace('ap_rputs("Hello from mod_devf\\n", r);', `ap_rputs("${version} " BUILT "\\n", r);`);

async function waitFor(what: string, ok: () => Promise<boolean>, out: () => string) {
  for (const end = Date.now() + 60_000; Date.now() < end; ) {
    if (await ok()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`no ${what}:\n${out()}`);
}

describe('apxs-ts dev: a save between the build and the install', () => {
  it('installs the build dev made with its flags; the save makes the next cycle', async () => {
    const { work, sr } = await newSandbox();
    started.push(sr);
    const made = await cli(['new', 'devf', '--template', 'hello'], { cwd: work });
    expect(made.code, made.stderr).toBe(0);
    const dir = path.join(work, 'mod_devf');
    const src = path.join(dir, 'mod_devf.c');
    const template = await fs.readFile(src, 'utf8');
    await fs.writeFile(src, page('v1')(template));
    expect(await fs.readFile(src, 'utf8')).toContain('ap_rputs("v1 " BUILT');

    const mark = path.join(work, 'fp-mark');
    const resume = path.join(work, 'fp-resume');
    const child = spawn(process.execPath, [CLI, 'dev', '--server-root', sr, '--json'], {
      cwd: dir,
      env: {
        ...process.env,
        CI: 'true',
        // The first cycle's arrival: dev holds there, its build done, its install not begun.
        APXS_TS_FAILPOINT: 'dev:before-install@1',
        APXS_TS_FAILPOINT_MARK: mark,
        APXS_TS_FAILPOINT_MODE: 'pause',
        APXS_TS_FAILPOINT_RESUME: resume,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
    const out = () => stdout + stderr;
    const exit = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
    const cycle = async (n: number) => {
      const find = () =>
        stdout
          .split('\n')
          .filter(Boolean)
          .map((l) => JSON.parse(l))
          .find((j) => j.cycle === n);
      await waitFor(`cycle ${n}`, async () => !!find() || child.exitCode !== null, out);
      const line = find();
      if (!line) throw new Error(`dev ended before cycle ${n}:\n${out()}`);
      return line;
    };

    await waitFor(
      'failpoint mark',
      () =>
        fs.access(mark).then(
          () => true,
          () => false,
        ),
      out,
    );
    expect(await fs.readFile(mark, 'utf8')).toBe('dev:before-install@1\n');
    // dev's .so is built (debug) and nothing of the cycle was printed yet.
    const so = path.join(dir, 'mod_devf.so');
    const builtSo = await fs.readFile(so);
    expect(stdout).toBe('');
    // The save, at that instant: a new file renamed over the source, its time after the .so's (a
    // second later, so that a coarse file system cannot make them equal).
    await fs.writeFile(`${src}.tmp-save`, page('v2')(template));
    await fs.rename(`${src}.tmp-save`, src);
    const soTime = (await fs.stat(so)).mtime;
    await fs.utimes(src, new Date(soTime.getTime() + 1000), new Date(soTime.getTime() + 1000));
    await fs.writeFile(resume, '');

    // The cycle reports the build it made, and serves that build: v1, unoptimised.
    const first = await cycle(1);
    expect(first, out()).toMatchObject({
      ok: true,
      changed: [],
      build: { upToDate: false, compiled: ['mod_devf.c'] },
      server: { action: 'start' },
    });
    expect(first.request.body, out()).toEqual(['v1 O0']);
    // The save is the next cycle's: built with dev's flags again and served.
    const second = await cycle(2);
    expect(second, out()).toMatchObject({
      ok: true,
      changed: ['mod_devf.c'],
      build: { upToDate: false, compiled: ['mod_devf.c'] },
    });
    expect(second.request.body, out()).toEqual(['v2 O0']);
    child.kill('SIGINT');
    expect(await exit).toBe(0);

    // The installed .so is byte for byte the one dev's last build made, and its compile line ends
    // with dev's -O0 (the target's -O2 comes earlier: the last -O wins).
    const installed = path.join(sr, 'modules', 'mod_devf.so');
    const finalSo = await fs.readFile(so);
    expect((await fs.readFile(installed)).equals(finalSo)).toBe(true);
    expect(finalSo.equals(builtSo)).toBe(false); // the v2 build, not the held cycle's v1
    const producers = execFileSync('readelf', ['--debug-dump=info', installed], {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    })
      .split('\n')
      .filter((l) => l.includes('DW_AT_producer'));
    expect(producers.length).toBeGreaterThan(0);
    for (const p of producers) {
      const levels = p.match(/ -O\w*/g) ?? [];
      expect(levels.at(-1), p).toBe(' -O0');
      expect(p).toMatch(/ -g3 /); // dev's C debug info, macros too
    }
  });
});
