/**
 * Modules on every httpd series (issue #10): for Apache 1.3.42, httpd 2.0.65
 * and 2.2.34 built from the shared archive (test/series-builds.ts) and the
 * system's httpd 2.4 (a sandbox), each template in C and C++ is scaffolded for
 * that server's module API, built with its apxs's flags (-Wall, no warning),
 * also built by its generated Makefile, installed, served over HTTP by the
 * started server, and uninstalled. A module of one API aimed at a server of
 * the other is refused before anything is compiled.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, get, newSandbox, tmpDir } from '../helpers.js';
import { SERIES_VERSIONS, builtHttpd, withBuiltHttpd } from '../series-builds.js';

const TEMPLATES = ['hello', 'handler', 'info'] as const;
type Template = (typeof TEMPLATES)[number];

interface Target {
  /** Server root: the built prefix, or a sandbox of the system httpd. */
  root: string;
  port: number;
  apxs: string;
  api: '1.3' | '2';
  /** The module directory, relative to the root: libexec/ on 1.3. */
  modulesDir: string;
}

const running: string[] = [];
afterAll(async () => {
  for (const root of running) await cli(['ctl', 'stop', '--server-root', root]);
});

function make(dir: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('make', ['-C', dir, ...args], (err, stdout, stderr) =>
      resolve({
        code: err ? (typeof err.code === 'number' ? err.code : 1) : 0,
        out: stdout + stderr,
      }),
    );
  });
}

/**
 * Two rounds on one server, each with one module per template, the languages
 * swapped between rounds: two hello modules in one server would both claim
 * every URL. hello is installed first: on 1.3 the module loaded last is asked
 * first among the wildcard handlers, so handler and info log their decline
 * before hello answers; on 2.x hello's hook is REALLY_FIRST anyway.
 */
const ROUNDS: Array<Record<Template, boolean>> = [
  { hello: false, handler: true, info: true },
  { hello: true, handler: false, info: false },
];

async function moduleRound(t: Target, work: string, cpp: Record<Template, boolean>): Promise<void> {
  const name = (tpl: Template) => `${tpl}${cpp[tpl] ? 'cc' : 'c'}`;
  const conf = path.join(t.root, 'conf', 'httpd.conf');
  const confBefore = await fs.readFile(conf, 'utf8');
  try {
    await serveRound(t, work, cpp, name, conf);
    for (const tpl of TEMPLATES) {
      const un = await cli(['uninstall', name(tpl), '--server-root', t.root]);
      expect(un.code, un.stderr).toBe(0);
      await expect(
        fs.stat(path.join(t.root, t.modulesDir, `mod_${name(tpl)}.so`)),
      ).rejects.toThrow();
    }
    expect(await fs.readFile(conf, 'utf8')).toBe(confBefore);
  } finally {
    // The built prefixes are shared with other test files: leave them as found, whatever failed.
    if (running.includes(t.root)) {
      await cli(['ctl', 'stop', '--server-root', t.root]);
      running.splice(running.indexOf(t.root), 1);
    }
    if ((await fs.readFile(conf, 'utf8')) !== confBefore) {
      for (const tpl of TEMPLATES) await cli(['uninstall', name(tpl), '--server-root', t.root]);
      await fs.writeFile(conf, confBefore);
    }
  }
}

async function serveRound(
  t: Target,
  work: string,
  cpp: Record<Template, boolean>,
  name: (tpl: Template) => string,
  conf: string,
): Promise<void> {
  for (const tpl of TEMPLATES) {
    const n = name(tpl);
    const made = await cli(
      [
        'new',
        n,
        '--template',
        tpl,
        ...(cpp[tpl] ? ['--cpp'] : []),
        '--server-root',
        t.root,
        '--json',
      ],
      { cwd: work },
    );
    expect(made.code, made.stderr).toBe(0);
    expect(made.json.api).toBe(t.api); // chosen from the server root's httpd series
    const dir = path.join(work, `mod_${n}`);
    expect(JSON.parse(await fs.readFile(path.join(dir, 'apxs-ts-module.json'), 'utf8')).api).toBe(
      t.api,
    );

    // The generated Makefile builds it with nothing but make and this server's apxs.
    const byMake = await make(dir, [`APXS=${t.apxs}`]);
    expect(byMake.code, byMake.out).toBe(0);
    expect((await fs.stat(path.join(dir, `mod_${n}.so`))).size).toBeGreaterThan(0);
    expect((await make(dir, ['clean'])).code).toBe(0);

    const built = await cli(['build', '--server-root', t.root, '--json'], { cwd: dir });
    expect(built.code, built.stderr).toBe(0);
    expect(built.json.linkedWith).toMatch(cpp[tpl] ? /(g|c)\+\+$/ : /(gcc|cc|clang)$/);
    expect(
      built.json.warnings,
      await fs.readFile(path.join(dir, '.apxs-ts', 'build.log'), 'utf8'),
    ).toBe(0);
    expect(await fs.readFile(path.join(dir, '.apxs-ts', 'build.log'), 'utf8')).toMatch(/ -Wall /);
    // The toolchain is cached and the stamp holds: nothing to do the second time.
    const again = await cli(['build', '--server-root', t.root, '--json'], { cwd: dir });
    expect(again.json.upToDate, again.stderr).toBe(true);

    const inst = await cli(['install', '--server-root', t.root, '--json'], { cwd: dir });
    expect(inst.code, inst.stderr + inst.stdout).toBe(0);
    expect(inst.json.installedSo).toBe(path.join(t.root, t.modulesDir, `mod_${n}.so`));
  }
  const text = await fs.readFile(conf, 'utf8');
  for (const tpl of TEMPLATES) {
    // LoadModule alone, on 1.3 too: an AddModule after it only warns "already added" (see SeriesTraits.loadModule).
    expect(text).toContain(
      `# BEGIN apxs-ts module ${name(tpl)}\nLoadModule ${name(tpl)}_module ${t.modulesDir}/mod_${name(tpl)}.so\n`,
    );
  }
  expect(text).not.toMatch(/^AddModule mod_(hello|handler|info)/m);
  // LogLevel debug for the declines (2.4's per-module form does not exist before it).
  await fs.appendFile(conf, 'LogLevel debug\n');
  const errorLog = path.join(t.root, 'logs', 'error_log');
  await fs.rm(errorLog, { force: true });

  const start = await cli(['ctl', 'start', '--server-root', t.root, '--json']);
  expect(start.code, start.stderr + start.stdout).toBe(0);
  running.push(t.root);
  try {
    const base = `http://127.0.0.1:${t.port}`;
    const hello = name('hello');
    const helloBody = `Hello from mod_${hello}${cpp.hello ? ' (C++)' : ''}\n`;
    expect(await get(`${base}/${hello}`)).toEqual({ status: 200, body: helloBody });
    // hello answers every request, not just its own URL.
    expect((await get(`${base}/anything/else`)).body).toBe(helloBody);

    const handler = name('handler');
    const page = await get(`${base}/${handler}`);
    expect(page.status).toBe(200);
    expect(page.body).toContain(`<h1>mod_${handler}${cpp.handler ? ' (C++)' : ''}</h1>`);
    expect(page.body).toContain(`<dt>handler</dt><dd>${handler}</dd>`);
    expect(page.body).toContain(`<dt>the_request</dt><dd>GET /${handler} HTTP/1.1</dd>`);
    expect(page.body).toContain('<dt>hostname</dt><dd>127.0.0.1</dd>');
    expect(page.body).toContain('<dt>header_only</dt><dd>0</dd>');

    const info = name('info');
    const headers = await get(`${base}/${info}`, { 'X-Apxs-Test': '42' });
    expect(headers.status).toBe(200);
    expect(headers.body).toContain(`Request headers for /${info}${cpp.info ? ' (C++)' : ''}</h1>`);
    expect(headers.body).toMatch(/<tr><th>x-apxs-test<\/th><td>42<\/td><\/tr>/i);
    expect(headers.body).toMatch(
      new RegExp(`<tr><th>host</th><td>127\\.0\\.0\\.1:${t.port}</td></tr>`, 'i'),
    );

    // Elsewhere handler declines, and says so at debug level, in its own source's name.
    await new Promise((r) => setTimeout(r, 200));
    expect(await fs.readFile(errorLog, 'utf8')).toMatch(
      new RegExp(`mod_${handler}\\.cp?p?\\(\\d+\\).*handling declined: `),
    );
  } finally {
    const stop = await cli(['ctl', 'stop', '--server-root', t.root]);
    running.splice(running.indexOf(t.root), 1);
    expect(stop.code, stop.stderr).toBe(0);
  }
  await fs.writeFile(conf, (await fs.readFile(conf, 'utf8')).replace(/LogLevel debug\n$/, ''));
}

describe.each(SERIES_VERSIONS)('httpd %s built from source', (version) => {
  beforeAll(async () => {
    await builtHttpd(version);
  }, 15 * 60_000);

  it('hello, handler and info in C and C++: scaffolded for its API, built, installed, served', async () => {
    await withBuiltHttpd(version, async ({ prefix, port }) => {
      const v13 = version.startsWith('1.3.');
      const t: Target = {
        root: prefix,
        port,
        apxs: path.join(prefix, 'bin', 'apxs'),
        api: v13 ? '1.3' : '2',
        modulesDir: v13 ? 'libexec' : 'modules',
      };
      const work = await tmpDir();
      for (const round of ROUNDS) await moduleRound(t, await tmp755(path.join(work, 'r')), round);
    });
  }, 300_000);
});

/** A new temp dir, 0755 (httpd's children run as www-data). */
const tmp755 = async (prefix: string) => {
  const d = await fs.mkdtemp(prefix);
  await fs.chmod(d, 0o755);
  return d;
};

describe('the system httpd 2.4 (sandbox)', () => {
  it('hello, handler and info in C and C++: scaffolded for its API, built, installed, served', async () => {
    const { sr, port, work } = await newSandbox();
    const t: Target = { root: sr, port, apxs: '/usr/bin/apxs', api: '2', modulesDir: 'modules' };
    for (const round of ROUNDS) await moduleRound(t, await tmp755(path.join(work, 'r')), round);
  }, 300_000);
});

describe('a module of one API aimed at a server of the other', () => {
  beforeAll(async () => {
    await Promise.all([builtHttpd('1.3.42'), builtHttpd('2.2.34')]);
  }, 15 * 60_000);

  it('new chooses 2 without a server root, and --api overrides; a bad --api is a usage error', async () => {
    const work = await tmpDir();
    const env = { APXS_TS_SERVER_ROOT: '' };
    const plain = await cli(['new', 'plain', '--json'], { cwd: work, env });
    expect(plain.code, plain.stderr).toBe(0);
    expect(plain.json.api).toBe('2');
    expect(await fs.readFile(path.join(work, 'mod_plain', 'mod_plain.c'), 'utf8')).toContain(
      'STANDARD20_MODULE_STUFF',
    );
    const old = await cli(['new', 'old', '--api', '1.3', '--cpp', '--json'], { cwd: work, env });
    expect(old.code, old.stderr).toBe(0);
    expect(old.json.api).toBe('1.3');
    const src = await fs.readFile(path.join(work, 'mod_old', 'mod_old.cpp'), 'utf8');
    expect(src).toContain('module MODULE_VAR_EXPORT old_module');
    expect(src).toContain('handler_rec');
    const bad = await cli(['new', 'bad', '--api', '3'], { cwd: work, env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('unknown module API "3"');
    await expect(fs.stat(path.join(work, 'mod_bad'))).rejects.toThrow();
  });

  it('is refused with exit 2 before anything is compiled, naming both APIs', async () => {
    const work = await tmpDir();
    const p13 = (await builtHttpd('1.3.42')).prefix;
    const p22 = (await builtHttpd('2.2.34')).prefix;

    // A 2.x module installed into the 1.3 prefix.
    expect(
      (await cli(['new', 'twox', '--api', '2', '--template', 'info'], { cwd: work })).code,
    ).toBe(0);
    const dir2 = path.join(work, 'mod_twox');
    const before = {
      conf: await fs.readFile(path.join(p13, 'conf', 'httpd.conf'), 'utf8'),
      libexec: await fs.readdir(path.join(p13, 'libexec')),
    };
    const inst = await cli(['install', dir2, '--server-root', p13, '--json']);
    expect(inst.code).toBe(2);
    expect(inst.json.error.code).toBe('API_MISMATCH');
    expect(inst.json.error.message).toBe(
      `mod_twox is written for the httpd 2.x module API, not the Apache 1.3 module API of httpd 1.3.42 at ${p13}`,
    );
    expect(inst.json.error.hint).toContain('--api 1.3');
    expect(await fs.readdir(dir2)).not.toContain('.apxs-ts'); // no compiler was run
    expect(await fs.readdir(dir2)).not.toContain('mod_twox.so');
    expect(await fs.readFile(path.join(p13, 'conf', 'httpd.conf'), 'utf8')).toBe(before.conf);
    expect(await fs.readdir(path.join(p13, 'libexec'))).toEqual(before.libexec);

    // A 1.3 module built against the 2.2 prefix.
    expect(
      (await cli(['new', 'onethree', '--server-root', p13, '--cpp'], { cwd: work })).code,
    ).toBe(0);
    const dir13 = path.join(work, 'mod_onethree');
    const build = await cli(['build', dir13, '--server-root', p22]);
    expect(build.code).toBe(2);
    expect(build.stderr).toContain(
      `apxs-ts: error: mod_onethree is written for the Apache 1.3 module API, not the httpd 2.x module API of httpd 2.2.34 at ${p22}`,
    );
    expect(await fs.readdir(dir13)).not.toContain('.apxs-ts');

    // A module scaffolded before the manifest recorded its API: its source says.
    const manifest = path.join(dir13, 'apxs-ts-module.json');
    const m = JSON.parse(await fs.readFile(manifest, 'utf8'));
    delete m.api;
    await fs.writeFile(manifest, JSON.stringify(m));
    const sniffed = await cli(['build', dir13, '--server-root', p22, '--json']);
    expect(sniffed.code).toBe(2);
    expect(sniffed.json.error.code).toBe('API_MISMATCH');
  });
});
