/**
 * new's default template, and install's choices (issue #11, items 3, 4 and
 * 8): the <Location> from what the sources register, --handler, --location
 * and --no-location kept in apxs-ts-module.json, and the .so that was built
 * (by apxs-ts build or by the Makefile) installed as it is.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, newSandbox, tmpDir } from '../helpers.js';

const block = (conf: string, name: string) => {
  const m = new RegExp(
    `# BEGIN apxs-ts module ${name}\\n([\\s\\S]*?)# END apxs-ts module ${name}\\n`,
  ).exec(conf);
  return m?.[1];
};
const readConf = (sr: string) => fs.readFile(path.join(sr, 'conf', 'httpd.conf'), 'utf8');
const manifest = async (dir: string) =>
  JSON.parse(await fs.readFile(path.join(dir, 'apxs-ts-module.json'), 'utf8')) as Record<
    string,
    unknown
  >;

describe('new: the template the name names is the default', () => {
  it.each([
    [['new', 'mod_info', '--cpp'], 'mod_info', 'info', 'mod_info.cpp'],
    [['new', 'mod_hello'], 'mod_hello', 'hello', 'mod_hello.c'],
    [['new', 'info'], 'mod_info', 'info', 'mod_info.c'],
    [['new', 'mod_widget'], 'mod_widget', 'handler', 'mod_widget.c'],
    [['new', 'mod_info', '--template', 'hello'], 'mod_info', 'hello', 'mod_info.c'],
    // The README's example, as it is typed there.
    [['new', 'mod_info', '--cpp', '--template', 'info'], 'mod_info', 'info', 'mod_info.cpp'],
  ])('%j', async (args, stem, template, file) => {
    const work = await tmpDir();
    const r = await cli([...args, '--api', '2', '--json'], { cwd: work });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.template).toBe(template);
    expect((await manifest(path.join(work, stem))).template).toBe(template);
    const src = await fs.readFile(path.join(work, stem, file), 'utf8');
    // Each template's own words: the info page lists headers, hello says hello, handler describes the request.
    const marks = {
      info: /headers_in/,
      hello: /Hello from mod_/,
      handler: /<dt>the_request<\/dt>/,
    } as const;
    for (const [t, re] of Object.entries(marks))
      expect(re.test(src), `${t} in ${file}`).toBe(t === template);
  });
});

/** What every <Location> of a 2.4 install ends with unless --public: this machine only (issue #17 item 10). */
const LOCAL_ONLY = `\n    <IfModule authz_host_module>\n        Require local\n    </IfModule>\n    <IfModule !authz_host_module>\n        Require expr "-R '127.0.0.0/8' || -R '::1'"\n    </IfModule>`;

describe('install writes the <Location> the sources register', () => {
  it('hello answers everywhere: no <Location>; a renamed handler is read from the source', async () => {
    const { work, sr } = await newSandbox();
    expect((await cli(['new', 'mod_hello'], { cwd: work })).code).toBe(0);
    const hello = await cli([
      'install',
      path.join(work, 'mod_hello'),
      '--server-root',
      sr,
      '--json',
    ]);
    expect(hello.code, hello.stderr).toBe(0);
    expect(hello.json.location).toBe(null);
    expect(block(await readConf(sr), 'hello')).toBe(
      'LoadModule hello_module modules/mod_hello.so\n',
    );

    expect((await cli(['new', 'mod_ren'], { cwd: work })).code).toBe(0);
    const dir = path.join(work, 'mod_ren');
    const src = path.join(dir, 'mod_ren.c');
    await fs.writeFile(
      src,
      (await fs.readFile(src, 'utf8')).replace(
        'strcmp(r->handler, "ren")',
        'strcmp(r->handler, "ren-page")',
      ),
    );
    const r = await cli(['install', dir, '--server-root', sr, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.registers.handlers).toEqual(['ren-page']);
    expect(block(await readConf(sr), 'ren')).toBe(
      `LoadModule ren_module modules/mod_ren.so\n<Location /ren>\n    SetHandler ren-page${LOCAL_ONLY}\n</Location>\n`,
    );
  });

  it('--handler, --location and --no-location override, and are kept for the next install', async () => {
    const { work, sr } = await newSandbox();
    expect((await cli(['new', 'mod_ovr'], { cwd: work })).code).toBe(0);
    const dir = path.join(work, 'mod_ovr');
    const install = (...a: string[]) => cli(['install', dir, '--server-root', sr, '--json', ...a]);

    const r1 = await install('--handler', 'ovr-page', '--location', '/here');
    expect(r1.code, r1.stderr).toBe(0);
    expect(r1.json.locationFrom).toBe('flags');
    expect(block(await readConf(sr), 'ovr')).toContain(
      `<Location /here>\n    SetHandler ovr-page${LOCAL_ONLY}\n</Location>`,
    );
    expect(await manifest(dir)).toMatchObject({ name: 'ovr', handler: 'ovr-page', url: '/here' });

    // No flags: the kept ones again, nothing changes.
    const r2 = await install();
    expect(r2.code, r2.stderr).toBe(0);
    expect(r2.json).toMatchObject({ changed: false, files: [] });
    expect(r2.json.locationFrom).toBe('apxs-ts-module.json');

    const r3 = await install('--no-location');
    expect(r3.code, r3.stderr).toBe(0);
    expect(block(await readConf(sr), 'ovr')).toBe('LoadModule ovr_module modules/mod_ovr.so\n');
    expect((await manifest(dir)).location).toBe(false);
    const r4 = await install();
    expect(r4.json).toMatchObject({ changed: false, files: [] });
    expect(r4.json.location).toBe(null);

    // A --location lifts the kept --no-location; the kept handler stays.
    const r5 = await install('--location', '/back');
    expect(r5.code, r5.stderr).toBe(0);
    expect(block(await readConf(sr), 'ovr')).toContain(
      `<Location /back>\n    SetHandler ovr-page${LOCAL_ONLY}\n</Location>`,
    );
    expect((await manifest(dir)).location).toBeUndefined();
  });

  it('refuses contradictory or bad flags before anything is built or written', async () => {
    const { work, sr } = await newSandbox();
    expect((await cli(['new', 'mod_bad'], { cwd: work })).code).toBe(0);
    const dir = path.join(work, 'mod_bad');
    const before = await fs.readFile(path.join(dir, 'apxs-ts-module.json'), 'utf8');
    const conf = await readConf(sr);
    for (const args of [
      ['--no-location', '--handler', 'x'],
      ['--handler', 'bad name'],
      ['--location', 'no-slash'],
      ['--location', '/x\n</Location>'],
    ]) {
      const r = await cli(['install', dir, '--server-root', sr, '--json', ...args]);
      expect(r.code, JSON.stringify(args)).toBe(2);
    }
    await expect(fs.stat(path.join(dir, 'mod_bad.so'))).rejects.toThrow();
    expect(await fs.readFile(path.join(dir, 'apxs-ts-module.json'), 'utf8')).toBe(before);
    expect(await readConf(sr)).toBe(conf);
  });
});

describe('install installs the .so that was built, and builds only when it must', () => {
  it('a .so made by the generated Makefile is installed as it is, and said so', async () => {
    const { work, sr } = await newSandbox();
    expect((await cli(['new', 'mod_mk'], { cwd: work })).code).toBe(0);
    const dir = path.join(work, 'mod_mk');
    const so = path.join(dir, 'mod_mk.so');
    execFileSync('make', ['-C', dir], { stdio: 'pipe' });
    const made = await fs.readFile(so);
    const madeAt = (await fs.stat(so)).mtimeMs;

    const r = await cli(['install', dir, '--server-root', sr]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      `installing ${so}: mod_mk.so was made by another tool than apxs-ts build (make, apxs -c) and is newer than the sources: installed as it is, not rebuilt`,
    );
    expect(r.stderr).not.toMatch(/nothing changed/);
    expect((await fs.stat(so)).mtimeMs).toBe(madeAt);
    expect(await fs.readFile(so)).toEqual(made);
    expect(await fs.readFile(path.join(sr, 'modules', 'mod_mk.so'))).toEqual(made);
    await expect(fs.stat(path.join(dir, '.apxs-ts', 'build.json'))).rejects.toThrow(); // build never ran

    // Edited after make: the sources are newer than every .so, so install builds (with build's flags) and says why.
    await fs.appendFile(path.join(dir, 'mod_mk.c'), '/* edited */\n');
    const again = await cli(['install', dir, '--server-root', sr, '--json']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.json.so).toMatchObject({
      so,
      madeBy: 'apxs-ts build',
      built: true,
      reason: 'mod_mk.c is newer than mod_mk.so',
    });

    // And make after apxs-ts build: make's .so wins again.
    await fs.appendFile(path.join(dir, 'mod_mk.c'), '/* edited again */\n');
    execFileSync('make', ['-C', dir], { stdio: 'pipe' });
    const third = await cli(['install', dir, '--server-root', sr, '--json']);
    expect(third.json.so).toMatchObject({ so, madeBy: 'another tool', built: false });
    expect(await fs.readFile(path.join(sr, 'modules', 'mod_mk.so'))).toEqual(await fs.readFile(so));
  });

  it("a .so from apxs -c (.libs/) newer than build's is the one installed", async () => {
    const { work, sr } = await newSandbox();
    expect((await cli(['new', 'mod_lt'], { cwd: work })).code).toBe(0);
    const dir = path.join(work, 'mod_lt');
    expect((await cli(['build', dir, '--server-root', sr])).code).toBe(0);
    await new Promise((r) => setTimeout(r, 20));
    execFileSync('apxs', ['-c', 'mod_lt.c'], { cwd: dir, stdio: 'pipe' });
    const r = await cli(['install', dir, '--server-root', sr, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.so).toMatchObject({
      so: path.join(dir, '.libs', 'mod_lt.so'),
      madeBy: 'another tool',
      built: false,
    });
    expect(await fs.readFile(path.join(sr, 'modules', 'mod_lt.so'))).toEqual(
      await fs.readFile(path.join(dir, '.libs', 'mod_lt.so')),
    );
  });

  it("build's own .so is installed without building again", async () => {
    const { work, sr } = await newSandbox();
    expect((await cli(['new', 'mod_own'], { cwd: work })).code).toBe(0);
    const dir = path.join(work, 'mod_own');
    expect((await cli(['build', dir, '--server-root', sr])).code).toBe(0);
    const stamp = await fs.stat(path.join(dir, '.apxs-ts', 'build.json'));
    const r = await cli(['install', dir, '--server-root', sr, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.so).toMatchObject({ madeBy: 'apxs-ts build', built: false });
    expect((await fs.stat(path.join(dir, '.apxs-ts', 'build.json'))).mtimeMs).toBe(stamp.mtimeMs);
  });
});
