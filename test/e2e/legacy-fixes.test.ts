/**
 * The legacy fixes on small fixture trees that reproduce each failure of
 * httpd 1.3 and 2.0 on a modern Debian: the unfixed tree fails with the real
 * tools, the fixed tree builds with the system gcc.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fixGroupMinusOne, renameGetline, dropSysSiglist } from '../../lib/source/legacy-fixes.js';
import { applyTreeFixes, configurePlan } from '../../lib/source/recipes.js';
import { runPhase } from '../../lib/source/phase.js';
import { ROOT, tmpDir } from '../helpers.js';

async function tree(): Promise<string> {
  const dir = path.join(await tmpDir(), 'apache_1.3-mini');
  execFileSync('cp', ['-a', path.join(ROOT, 'fixtures', 'legacy-1.3'), dir]);
  return dir;
}

function gcc(args: string[], cwd: string): { ok: boolean; out: string } {
  try {
    execFileSync('gcc', args, { cwd, stdio: 'pipe', encoding: 'utf8' });
    return { ok: true, out: '' };
  } catch (e) {
    return { ok: false, out: String((e as { stderr?: string }).stderr ?? '') };
  }
}

describe('httpd 1.3 legacy fixes', () => {
  it('configure corrupts its sed script under dash and works under bash, as configurePlan runs it', async () => {
    const dir = await tree();
    const plan = configurePlan('1.3', '/opt/apache13', []);
    expect(plan.shell).toBe('bash');
    expect(plan.args).toEqual(['--prefix=/opt/apache13', '--enable-module=so']);
    await expect(
      runPhase('configure', 'dash', ['./configure'], {
        cwd: dir,
        logFile: path.join(dir, 'dash.log'),
      }),
    ).rejects.toThrow(/configure failed/);
    expect(await fs.readFile(path.join(dir, 'dash.log'), 'utf8')).toContain(
      'generated sed script is corrupt',
    );
    await runPhase('configure', plan.shell!, ['./configure', ...plan.args], {
      cwd: dir,
      env: plan.env,
      logFile: path.join(dir, 'bash.log'),
    });
    expect(await fs.readFile(path.join(dir, 'bash.log'), 'utf8')).toContain('configure: ok');
  });

  it('renames the getline of htdigest.c, htpasswd.c and logresolve.c so they compile against glibc', async () => {
    const dir = await tree();
    for (const f of ['htdigest', 'htpasswd', 'logresolve']) {
      expect(gcc(['-c', `src/support/${f}.c`, '-o', '/dev/null'], dir).out).toMatch(
        /conflicting types for .getline/,
      );
    }
    const fix = await renameGetline(dir);
    expect(fix?.files.map((f) => path.basename(f))).toEqual([
      'htdigest.c',
      'htpasswd.c',
      'logresolve.c',
    ]);
    for (const f of ['htdigest', 'htpasswd', 'logresolve']) {
      expect(gcc([`src/support/${f}.c`, '-o', path.join(dir, f)], dir).ok).toBe(true);
      expect(execFileSync(path.join(dir, f), { input: 'one\ntwo\n', encoding: 'utf8' })).toBe(
        'one\ntwo\n',
      );
    }
    expect(await renameGetline(dir)).toBeUndefined(); // safe to run twice
  });

  it('drops the _sys_siglist define glibc 2.32 made fatal', async () => {
    const dir = await tree();
    expect(gcc(['-c', 'src/main/signals.c', '-o', '/dev/null'], dir).out).toMatch(/_sys_siglist/);
    expect((await dropSysSiglist(dir))?.id).toBe('sys_siglist');
    expect(gcc(['src/main/signals.c', '-o', path.join(dir, 'sig')], dir).ok).toBe(true);
    expect(execFileSync(path.join(dir, 'sig'), { encoding: 'utf8' })).toMatch(/Terminated/);
    expect(await dropSysSiglist(dir)).toBeUndefined();
  });

  it("builds with -fgnu89-inline: without it, os.h's extern inline is a multiple definition", async () => {
    const dir = await tree();
    const files = ['src/main/util_a.c', 'src/main/util_b.c', 'src/main/http_main.c'];
    expect(gcc(['-O2', ...files, '-o', path.join(dir, 'httpd')], dir).out).toMatch(
      /multiple definition of .ap_os_is_path_absolute/,
    );
    const cflags = configurePlan('1.3', '/p', []).env.CFLAGS!.split(' ');
    expect(gcc([...cflags, ...files, '-o', path.join(dir, 'httpd')], dir).ok).toBe(true);
  });

  it('applyTreeFixes does the source fixes for 1.3 only, and records them', async () => {
    const dir = await tree();
    expect(await applyTreeFixes('2.4', dir)).toEqual([]);
    expect((await applyTreeFixes('1.3', dir)).map((f) => f.id)).toEqual(['getline', 'sys_siglist']);
    expect(await applyTreeFixes('1.3', dir)).toEqual([]);
  });
});

describe('httpd 2.0 legacy fix', () => {
  it('replaces Group #-1 with a real group, once', async () => {
    const dir = await tmpDir();
    const conf = path.join(dir, 'httpd.conf');
    await fs.writeFile(conf, 'User nobody\nGroup #-1\n# Group #-1 in a comment stays\n');
    expect((await fixGroupMinusOne(conf, 'nogroup'))?.id).toBe('group-minus-one');
    expect(await fs.readFile(conf, 'utf8')).toBe(
      'User nobody\nGroup nogroup\n# Group #-1 in a comment stays\n',
    );
    expect(await fixGroupMinusOne(conf, 'nogroup')).toBeUndefined();
  });
});
