/**
 * Attacks on the plain launcher and on how templates/ is found (#19): the
 * package laid out as npm installs it (bin/, dist/apxs-ts.cjs, templates/,
 * package.json; node_modules linked in) in a path with spaces, run through a
 * symlink as npm's bin link is, from a working directory that is another
 * project with its own package.json and a planted templates/ (every file
 * marked EVIL), with NODE_OPTIONS set. `new` must use the package's own
 * templates or fail saying so, never another project's; a working copy with
 * no dist/ fails with one line, not a stack trace.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT, tmpDir as newTmpDir } from '../helpers.js';

const made: string[] = [];
async function tmpDir(prefix: string): Promise<string> {
  const d = await newTmpDir(prefix);
  made.push(d);
  return d;
}
afterAll(async () => {
  for (const d of made) await fs.rm(d, { recursive: true, force: true });
});

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
function run(
  file: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      {
        cwd,
        env: { ...process.env, CI: 'true', NO_COLOR: '1', APXS_TS_SERVER_ROOT: '', ...env },
        timeout: 60_000,
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

/** A project of someone else's: package.json and a templates/ that is apxs-ts's with every file marked EVIL. */
async function hostileProject(): Promise<string> {
  const dir = path.join(await tmpDir('apxs-ts-atk-launch-'), 'other project');
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, 'package.json'), '{"name":"other-project"}\n');
  await fs.cp(path.join(ROOT, 'templates'), path.join(dir, 'templates'), { recursive: true });
  const mark = async (d: string): Promise<void> => {
    for (const e of await fs.readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await mark(p);
      else await fs.appendFile(p, '\n/* EVIL */\n');
    }
  };
  await mark(path.join(dir, 'templates'));
  return dir;
}

/** apxs-ts as npm installs it, at `dir`/node_modules/apxs-ts (with or without templates/), and a bin link to it. */
async function installedAt(dir: string, withTemplates: boolean): Promise<string> {
  const pkg = path.join(dir, 'node_modules', 'apxs-ts');
  await fs.mkdir(path.join(pkg, 'dist'), { recursive: true });
  await fs.cp(path.join(ROOT, 'bin'), path.join(pkg, 'bin'), { recursive: true });
  await fs.copyFile(path.join(ROOT, 'dist', 'apxs-ts.cjs'), path.join(pkg, 'dist', 'apxs-ts.cjs'));
  await fs.copyFile(path.join(ROOT, 'package.json'), path.join(pkg, 'package.json'));
  if (withTemplates)
    await fs.cp(path.join(ROOT, 'templates'), path.join(pkg, 'templates'), { recursive: true });
  await fs.symlink(path.join(ROOT, 'node_modules'), path.join(pkg, 'node_modules'));
  const bin = path.join(dir, 'node_modules', '.bin');
  await fs.mkdir(bin, { recursive: true });
  await fs.symlink('../apxs-ts/bin/apxs-ts.js', path.join(bin, 'apxs-ts'));
  return path.join(bin, 'apxs-ts');
}

async function filesUnder(d: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fs.readdir(d, { withFileTypes: true }).catch(() => [])) {
    const p = path.join(d, e.name);
    if (e.isDirectory()) out.push(...(await filesUnder(p)));
    else out.push(p);
  }
  return out;
}

describe('the launcher and templates/', () => {
  it('installed under another project (path with spaces, bin symlink, NODE_OPTIONS): `new` uses its own templates, none of the planted ones', async () => {
    const project = await hostileProject();
    const bin = await installedAt(project, true);
    const r = await run(bin, ['new', 'mod_foo'], project, {
      NODE_OPTIONS: '--no-warnings --max-old-space-size=256',
    });
    expect(r.code, r.stderr).toBe(0);
    const files = await filesUnder(path.join(project, 'mod_foo'));
    expect(files.length).toBeGreaterThan(3);
    for (const f of files) expect(await fs.readFile(f, 'utf8'), f).not.toContain('EVIL');
  });

  it("its own templates/ missing: `new` fails saying so (one error line), and never takes the enclosing project's", async () => {
    const project = await hostileProject();
    const bin = await installedAt(project, false);
    const r = await run(bin, ['new', 'mod_foo'], project);
    expect(r.code).not.toBe(0);
    expect(r.stderr.split('\n').filter((l) => l.startsWith('apxs-ts: error:'))).toHaveLength(1);
    expect(r.stderr).toMatch(/templates/);
    expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    for (const f of await filesUnder(path.join(project, 'mod_foo')))
      expect(await fs.readFile(f, 'utf8'), f).not.toContain('EVIL');
  });

  it('a working copy with no dist/: one error line naming the missing build and `npm run build`, exit 1, no stack trace', async () => {
    const wc = path.join(await tmpDir('apxs-ts-atk-wc-'), 'working copy');
    await fs.mkdir(wc, { recursive: true });
    await fs.cp(path.join(ROOT, 'bin'), path.join(wc, 'bin'), { recursive: true });
    await fs.copyFile(path.join(ROOT, 'package.json'), path.join(wc, 'package.json'));
    const r = await run(process.execPath, [path.join(wc, 'bin', 'apxs-ts.js'), '--version'], wc);
    expect(r.code).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^apxs-ts: error: .*dist.*npm run build/);
  });
});

describe('new into a directory that is not there', () => {
  it('--dir names a missing directory: exit 2 naming it, never the temp dir apxs-ts would have made there', async () => {
    const base = await tmpDir('apxs-ts-atk-newdir-');
    const missing = path.join(base, 'not there');
    const r = await run(
      process.execPath,
      [path.join(ROOT, 'bin', 'apxs-ts.js'), 'new', '--dir', missing, 'mod_q'],
      base,
    );
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(missing);
    expect(r.stderr).not.toMatch(/\.tmp-/);
  });
});

describe('two runs of new in one directory at once', () => {
  it('6 concurrent `new mod_same` x 3 rounds: one creates it, every other says DIR_EXISTS (--json), no temp dir left', async () => {
    for (let round = 0; round < 3; round++) {
      const base = await tmpDir('apxs-ts-atk-newrace-');
      const runs = await Promise.all(
        Array.from({ length: 6 }, () =>
          run(
            process.execPath,
            [path.join(ROOT, 'bin', 'apxs-ts.js'), '--json', 'new', 'mod_same'],
            base,
          ),
        ),
      );
      const codes = runs.map(
        (r) =>
          (JSON.parse(r.stdout) as { ok: boolean; error?: { code: string } }).error?.code ?? 'ok',
      );
      expect(
        codes.filter((c) => c === 'ok'),
        `round ${round}`,
      ).toHaveLength(1);
      expect(
        codes.filter((c) => c !== 'ok'),
        `round ${round}`,
      ).toEqual(Array.from({ length: 5 }, () => 'DIR_EXISTS'));
      expect(await fs.readdir(base)).toEqual(['mod_same']);
    }
  }, 60_000);
});

describe('new --force into a directory with planted links', () => {
  it('a template file name that is a link to another file: that file unchanged, the template written in its place', async () => {
    const base = await tmpDir('apxs-ts-atk-newforce-');
    const dir = path.join(base, 'mod_f');
    await fs.mkdir(dir);
    const victim = path.join(base, 'bashrc');
    await fs.writeFile(victim, 'precious\n');
    await fs.symlink(victim, path.join(dir, 'Makefile'));
    const r = await run(
      process.execPath,
      [path.join(ROOT, 'bin', 'apxs-ts.js'), 'new', 'mod_f', '--force'],
      base,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(await fs.readFile(victim, 'utf8')).toBe('precious\n');
    expect((await fs.lstat(path.join(dir, 'Makefile'))).isFile()).toBe(true);
  });
});
