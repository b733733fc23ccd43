/**
 * The whole source workflow on the real release in shared/mirror, served by
 * a sandbox httpd's mod_autoindex over loopback: list, build 2.4.68 (system
 * APR and PCRE2), start the installed prefix with ctl, and build and install
 * a module into it.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { SHARED_MIRROR, cli, freePort, get, tmpDir } from '../helpers.js';

const toStop: string[] = [];
afterAll(async () => {
  for (const sr of toStop) await cli(['ctl', 'stop', '--server-root', sr]);
});

it('lists, builds and installs httpd 2.4.68 from a loopback mirror, then serves a module from it', async () => {
  const work = await tmpDir();
  const mirrorPort = await freePort();
  const mirrorRoot = path.join(work, 'mirror-srv');
  expect(
    (await cli(['sandbox', 'create', mirrorRoot, '--port', String(mirrorPort), '--no-project']))
      .code,
  ).toBe(0);
  const shared = await fs.realpath(SHARED_MIRROR);
  await fs.appendFile(
    path.join(mirrorRoot, 'conf', 'httpd.conf'),
    [
      'LoadModule alias_module /usr/lib/apache2/modules/mod_alias.so',
      'LoadModule autoindex_module /usr/lib/apache2/modules/mod_autoindex.so',
      `Alias /dist/ "${shared}/"`,
      `<Directory "${shared}">`,
      '    Options Indexes',
      '    Require all granted',
      '</Directory>',
      '',
    ].join('\n'),
  );
  expect((await cli(['ctl', 'start', '--server-root', mirrorRoot])).code).toBe(0);
  toStop.push(mirrorRoot);
  const mirror = `http://127.0.0.1:${mirrorPort}/dist/httpd/`;
  expect((await get(mirror)).body).toContain('Index of /dist/httpd');

  const list = await cli(['source', 'list', '--mirror', mirror, '--json']);
  expect(list.code, list.stderr).toBe(0);
  expect(list.json.series).toEqual([{ series: '2.4', versions: ['2.4.68'] }]);

  const prefix = path.join(work, 'httpd-2.4.68');
  const port = await freePort();
  const keys = path.join(SHARED_MIRROR, 'httpd', 'KEYS');
  const dry = await cli([
    'source',
    'build',
    '2.4',
    '--prefix',
    prefix,
    '--port',
    String(port),
    '--mirror',
    mirror,
    '--keys',
    keys,
    '--cache-dir',
    path.join(work, 'cache'),
    '--dry-run',
  ]);
  expect(dry.code).toBe(0);
  expect(dry.stdout).toContain(`./configure --prefix=${prefix} --enable-so`);
  await expect(fs.stat(prefix)).rejects.toThrow(); // a dry run runs nothing

  const build = await cli([
    'source',
    'build',
    '2.4.68',
    '--prefix',
    prefix,
    '--port',
    String(port),
    '--mirror',
    mirror,
    '--keys',
    keys,
    '--cache-dir',
    path.join(work, 'cache'),
    '--json',
  ]);
  expect(build.code, JSON.stringify(build.json?.error ?? build.stderr)).toBe(0);
  const receipt = JSON.parse(await fs.readFile(path.join(prefix, 'apxs-ts-receipt.json'), 'utf8'));
  expect(receipt).toMatchObject({
    version: '2.4.68',
    url: `${mirror}httpd-2.4.68.tar.gz`,
    checksum: { algorithm: 'sha512' },
  });
  expect(receipt.signer.fingerprint).toBe('65B2 D44F E74B D5E3 DE3A C3F0 8278 1DE4 6D59 54FA');
  expect(await fs.readFile(path.join(prefix, 'conf', 'httpd.conf'), 'utf8')).toContain(
    `# BEGIN apxs-ts listen\nListen localhost:${port}\n`,
  );

  const start = await cli(['ctl', 'start', '--server-root', prefix, '--json']);
  expect(start.code, start.stdout).toBe(0);
  toStop.push(prefix);
  expect((await get(`http://127.0.0.1:${port}/`)).body).toContain('It works!');

  // A module built against this prefix's own apxs and headers.
  await cli(['new', 'fromsrc', '--template', 'handler', '--dir', work]);
  const inst = await cli([
    'install',
    path.join(work, 'mod_fromsrc'),
    '--server-root',
    prefix,
    '--json',
  ]);
  expect(inst.code, JSON.stringify(inst.json?.error)).toBe(0);
  expect(inst.json.kind).toBe('prefix');
  expect(inst.json.installedSo).toBe(path.join(prefix, 'modules', 'mod_fromsrc.so'));
  expect((await cli(['ctl', 'graceful', '--server-root', prefix])).code).toBe(0);
  expect((await get(`http://127.0.0.1:${port}/fromsrc`)).body).toContain(
    '<dt>handler</dt><dd>fromsrc</dd>',
  );
  expect((await cli(['ctl', 'stop', '--server-root', prefix])).code).toBe(0);
}, 900_000);

it('a failing phase names the phase, the exit code, the error lines and the log, and keeps the work dir', async () => {
  const work = await tmpDir();
  const prefix = path.join(work, 'prefix');
  const cache = path.join(work, 'cache');
  const r = await cli([
    'source',
    'build',
    '2.4.68',
    '--prefix',
    prefix,
    '--mirror',
    path.join(SHARED_MIRROR, 'httpd'),
    '--keys',
    path.join(SHARED_MIRROR, 'httpd', 'KEYS'),
    '--cache-dir',
    cache,
    '--json',
    '--',
    '--with-apr=/nonexistent/apr-1-config',
  ]);
  expect(r.code).toBe(1);
  expect(r.json.error.message).toMatch(
    /^configure failed: \.\/configure --prefix=.* exited with 1$/,
  );
  expect(r.json.error.details.join('\n')).toMatch(/configure: error: .*APR/i);
  expect(r.json.error.hint).toMatch(/libapr1-dev/);
  expect(r.json.phase).toBe('configure');
  const log = await fs.readFile(r.json.log, 'utf8');
  expect(log).toContain('--with-apr=/nonexistent/apr-1-config');
  expect((await fs.stat(r.json.workDir)).isDirectory()).toBe(true);
  await expect(fs.stat(path.join(prefix, 'bin', 'httpd'))).rejects.toThrow();
}, 300_000);

it('plans each series the way it must be built (dry run: nothing downloaded, nothing run)', async () => {
  const work = await tmpDir();
  const mirror = path.join(work, 'mirror');
  await fs.mkdir(mirror);
  for (const f of [
    'apache_1.3.42.tar.gz',
    'httpd-2.0.65.tar.gz',
    'httpd-2.2.34.tar.bz2',
    'httpd-2.2.34-deps.tar.bz2',
    'httpd-2.4.68.tar.gz',
  ])
    await fs.writeFile(path.join(mirror, f), '');
  const plan = async (v: string) => {
    const r = await cli([
      'source',
      'build',
      v,
      '--prefix',
      path.join(work, `p${v}`),
      '--port',
      '8081',
      '--jobs',
      '3',
      '--mirror',
      mirror,
      '--dry-run',
      '--json',
    ]);
    expect(r.code, r.stdout).toBe(0);
    return (r.json.steps as string[]).join('\n');
  };
  const v13 = await plan('1.3');
  expect(v13).toContain(`bash ./configure --prefix=${path.join(work, 'p1.3')} --enable-module=so`);
  expect(v13).toContain('CFLAGS=-fgnu89-inline');
  expect(v13).toMatch(
    /rename getline in src\/support\/\{htdigest,htpasswd,logresolve\}\.c, drop SYS_SIGLIST/,
  );
  const v22 = await plan('2.2');
  expect(v22).toContain('httpd-2.2.34.tar.bz2');
  expect(v22).toContain('httpd-2.2.34-deps.tar.bz2 and unpack it over the tree');
  expect(v22).toContain('--enable-so --with-included-apr');
  const v20 = await plan('2.0');
  expect(v20).toContain(`./configure --prefix=${path.join(work, 'p2.0')} --enable-so\n`);
  expect(v20).toContain('make -j3');
  expect(v20).toContain('"Group #-1" in the installed httpd.conf becomes a real group');
  expect(await plan('latest')).toContain('set Listen localhost:8081');
  expect((await fs.readdir(work)).sort()).toEqual(['mirror']);
});

it('names missing prerequisites in one apt-get line before downloading anything', async () => {
  const work = await tmpDir();
  const cache = path.join(work, 'cache');
  const r = await cli(
    [
      'source',
      'build',
      '2.4.68',
      '--prefix',
      path.join(work, 'p'),
      '--mirror',
      path.join(SHARED_MIRROR, 'httpd'),
      '--cache-dir',
      cache,
      '--json',
    ],
    {
      env: { PATH: '/nonexistent' },
    },
  );
  expect(r.code).toBe(1);
  expect(r.json.error.code).toBe('TOOL_MISSING');
  expect(r.json.error.hint).toBe(
    'as root: apt-get install -y gcc make perl libapr1-dev libaprutil1-dev libpcre2-dev',
  );
  await expect(fs.stat(cache)).rejects.toThrow(); // nothing was downloaded
});
