/**
 * Issue #18 item 10: the blog's C++ Makefile (space-indented recipes, a
 * placeholder -I/path/to/apache22/include, no apr include dir). `makefile
 * check` names both the spaces and the include directories the target needs;
 * its hint is run literally through sh; then make builds with g++ alone, the
 * .so is installed, and httpd serves the module.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, cli, get, newSandbox, tmpDir } from '../helpers.js';

const roots: string[] = [];
afterAll(async () => {
  for (const sr of roots) await cli(['ctl', 'stop', '--server-root', sr]);
});

function sh(line: string, cwd: string, bin: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      'sh',
      ['-c', line],
      { cwd, env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, APXS_TS_SERVER_ROOT: '' } },
      (err, stdout, stderr) =>
        resolve({
          code: err ? (typeof err.code === 'number' ? err.code : 1) : 0,
          out: stdout + stderr,
        }),
    );
  });
}

const BLOG_MAKEFILE = `# mod_binfo, the C++ way
CXX = g++
CXXFLAGS = -fPIC -Wall -I/path/to/apache22/include
LDFLAGS = -shared

mod_binfo.so: mod_binfo.cpp
    $(CXX) $(CXXFLAGS) $(LDFLAGS) -o mod_binfo.so mod_binfo.cpp

clean:
    rm -f mod_binfo.so
`;

describe('makefile check/fix --includes (#18 item 10)', () => {
  it("the blog's C++ Makefile: check names the spaces and the target's include dirs; the hint followed, make builds, httpd serves it", async () => {
    const { sr, port } = await newSandbox(roots);
    const work = await tmpDir('apxs-ts-advice-mk-');
    const made = await cli(
      ['new', 'binfo', '--cpp', '--template', 'info', '--server-root', sr, '--json'],
      { cwd: work },
    );
    expect(made.code, made.stderr).toBe(0);
    const dir = path.join(work, 'mod_binfo');
    await fs.writeFile(path.join(dir, 'Makefile'), BLOG_MAKEFILE);
    await fs.rm(path.join(dir, 'apxs-ts.mk'), { force: true });

    const check = await cli(['makefile', 'check', '--server-root', sr, '--json'], { cwd: dir });
    expect(check.code).toBe(1);
    expect(check.json.error.code).toBe('MAKEFILE_SPACES');
    const details: string[] = check.json.error.details;
    expect(details).toContain('Makefile:3: -I/path/to/apache22/include does not exist');
    const inc = (await cli(['query', 'INCLUDEDIR', '--server-root', sr])).stdout.trim();
    expect(details.some((d) => d.startsWith(`Makefile: no -I${inc}:`))).toBe(true);
    expect(details.some((d) => d.startsWith('Makefile: no -I/usr/include/apr-1.0:'))).toBe(true); // Debian's apr.h
    const hint: string = check.json.error.hint;
    expect(hint).toBe(
      `apxs-ts makefile fix Makefile, then apxs-ts makefile fix Makefile --includes --server-root ${sr}`,
    );

    const bin = await tmpDir('apxs-ts-advice-bin-');
    await fs.writeFile(
      path.join(bin, 'apxs-ts'),
      `#!/bin/sh\nexec ${process.execPath} ${CLI} "$@"\n`,
      { mode: 0o755 },
    );
    const followed = await sh(hint.split(', then ').join(' && '), dir, bin);
    expect(followed.code, followed.out).toBe(0);
    expect((await cli(['makefile', 'check', '--server-root', sr], { cwd: dir })).code).toBe(0);
    const fixed = await fs.readFile(path.join(dir, 'Makefile'), 'utf8');
    expect(fixed).not.toContain('/path/to/apache22');
    expect(fixed).toContain('\t$(CXX) $(CXXFLAGS)');

    const byMake = await sh('make', dir, bin);
    expect(byMake.code, byMake.out).toBe(0);
    expect(byMake.out).toContain('-I/usr/include/apr-1.0');
    const inst = await cli(['install', '--server-root', sr, '--json'], { cwd: dir });
    expect(inst.code, inst.stdout).toBe(0);
    expect((await cli(['ctl', 'start', '--server-root', sr])).code).toBe(0);
    const page = await get(`http://127.0.0.1:${port}/binfo`);
    expect(page.status).toBe(200);
    expect(page.body).toContain('mod_binfo');
  });

  it('a Makefile that builds through apxs, or compiles nothing, is not asked for -I flags', async () => {
    const work = await tmpDir('apxs-ts-advice-mk-');
    await fs.writeFile(path.join(work, 'Makefile'), 'all:\n\tapxs -c mod_x.c\n');
    expect((await cli(['makefile', 'check'], { cwd: work })).code).toBe(0);
    await fs.writeFile(path.join(work, 'Makefile'), 'out.txt: in.txt\n\tcp in.txt out.txt\n');
    expect((await cli(['makefile', 'check'], { cwd: work })).code).toBe(0);
  });
});
