/**
 * Issue #18 item 5: `ctl loglevel debug --module NAME` for a module whose
 * source (the blog's 2.2-era handler, in blog_handler.c) declares no
 * APLOG_USE_MODULE: apxs-ts says so and what to add. Both pieces of advice
 * are followed on the system 2.4, and the error log is read after each:
 * the per-module level alone gives no line; the global level gives lines that
 * `ctl logs --module` finds by the source file name; the added
 * APLOG_USE_MODULE makes the per-module level work, lines tagged [NAME:debug].
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, get, newSandbox, tmpDir } from '../helpers.js';

const roots: string[] = [];
afterAll(async () => {
  for (const sr of roots) await cli(['ctl', 'stop', '--server-root', sr]);
});

describe('per-module log levels, read from the module sources (#18 item 5)', () => {
  it('no APLOG_USE_MODULE: said, with the line to add or the global level; both followed and checked in the error log', async () => {
    const { sr, port } = await newSandbox(roots);
    const work = await tmpDir('apxs-ts-advice-log-');
    expect(
      (await cli(['new', 'blogh', '--template', 'handler', '--server-root', sr], { cwd: work }))
        .code,
    ).toBe(0);
    const dir = path.join(work, 'mod_blogh');
    const tpl = await fs.readFile(path.join(dir, 'mod_blogh.c'), 'utf8');
    // The 2.2-era handler: no APLOG_USE_MODULE at all, in a file not named mod_NAME.c.
    const blog = tpl.replace(/#ifdef APLOG_USE_MODULE.*\nAPLOG_USE_MODULE\(blogh\);\n#endif\n/, '');
    expect(blog).not.toContain('APLOG_USE_MODULE');
    await fs.rm(path.join(dir, 'mod_blogh.c'));
    const src = path.join(dir, 'blog_handler.c');
    await fs.writeFile(src, blog);
    const ctl = (...a: string[]) => cli(['ctl', ...a, '--server-root', sr], { cwd: dir });
    expect((await cli(['build', '--server-root', sr], { cwd: dir })).code).toBe(0);
    expect((await cli(['install', '--server-root', sr], { cwd: dir })).code).toBe(0);
    expect((await ctl('start')).code).toBe(0);
    const declined = async () => {
      expect((await get(`http://127.0.0.1:${port}/`)).status).toBe(200); // the handler declines it
      const log = await fs.readFile(path.join(sr, 'logs', 'error_log'), 'utf8');
      return log.split('\n').filter((l) => l.includes('handling declined'));
    };

    const set = await ctl('loglevel', 'debug', '--module', 'blogh', '--json');
    expect(set.code, set.stdout).toBe(0);
    const warning: string = set.json.warnings.find((w: string) => w.includes('APLOG_USE_MODULE'));
    expect(warning).toContain(
      'blog_handler.c declares neither APLOG_USE_MODULE(blogh) nor AP_DECLARE_MODULE(blogh)',
    );
    expect(warning).toContain(
      `Add the line "APLOG_USE_MODULE(blogh);" after the #include lines of ${src}`,
    );
    const globalCmd = /set the global level: `([^`]+)`/.exec(warning)![1]!;
    expect(globalCmd).toBe(`apxs-ts ctl loglevel debug --server-root ${sr}`);
    // As said: the per-module level changes nothing for it.
    expect(await declined()).toEqual([]);

    // Advice one: the global level. The lines come, and logs --module finds them by the source file name.
    expect((await ctl(...globalCmd.split(' ').slice(2, 4))).code).toBe(0);
    const lines = await declined();
    expect(lines.length).toBeGreaterThan(0);
    expect(lines[0]).toMatch(/blog_handler\.c\(\d+\)/);
    expect(lines[0]).not.toContain('[blogh:debug]');
    const found = await ctl('logs', '--module', 'blogh', '--json');
    expect(found.json.lines.some((l: string) => l.includes('handling declined'))).toBe(true);

    // Advice two: APLOG_USE_MODULE after the #includes, rebuild, install; the per-module level alone then works.
    expect((await ctl('loglevel', '--reset')).code).toBe(0);
    const text = (await fs.readFile(src, 'utf8')).split('\n');
    const last = text
      .map((l, i) => (l.startsWith('#include') ? i : -1))
      .reduce((a, b) => Math.max(a, b));
    text.splice(last + 1, 0, 'APLOG_USE_MODULE(blogh);');
    await fs.writeFile(src, text.join('\n'));
    expect((await cli(['build', '--server-root', sr], { cwd: dir })).code).toBe(0);
    expect((await cli(['install', '--server-root', sr], { cwd: dir })).code).toBe(0);
    const again = await ctl('loglevel', 'debug', '--module', 'blogh', '--json');
    expect(again.json.warnings.filter((w: string) => w.includes('APLOG_USE_MODULE'))).toEqual([]);
    const before = (await declined()).length;
    const tagged = (await declined()).slice(before);
    expect(tagged.length).toBeGreaterThan(0);
    expect(tagged.every((l) => l.includes('[blogh:debug]'))).toBe(true);
  });
});
