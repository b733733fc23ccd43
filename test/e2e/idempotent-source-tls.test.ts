/**
 * The #23 contract for `source build` / `source uninstall` (against prefixes
 * holding a receipt: the decision is the receipt's, no real build) and the
 * TLS commands (`tls ca`, `tls trust`/`untrust` on a scratch copy of the
 * system store driven by the real update-ca-certificates, `tls renew` on a
 * sandbox TLS vhost): first run changed, second run `changed: false` with no
 * byte or mtime changed in the temp tree, `--check` changes nothing and
 * reports what the real run then reports. Never the machine's trust store.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { setListen } from '../../lib/source/build.js';
import { RECIPES } from '../../lib/source/recipes.js';
import { cli, freePort, scratchStore, tmpDir } from '../helpers.js';
import { mirrorOf, SERIES_BUILDS_DIR, SERIES_VERSIONS, withBuiltHttpd } from '../series-builds.js';

const started: string[] = [];
afterAll(async () => {
  for (const sr of started) await cli(['ctl', 'stop', '--server-root', sr]);
});

/** Every entry below `dir` (directories too): size, mtime, sha256. */
async function tree(dir: string) {
  const out: Record<string, string> = {};
  for (const e of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    const p = path.join(e.parentPath, e.name);
    const st = await fs.lstat(p);
    out[path.relative(dir, p)] = e.isFile()
      ? `${st.size} ${st.mtimeMs} ${createHash('sha256')
          .update(await fs.readFile(p))
          .digest('hex')}`
      : e.isSymbolicLink()
        ? `-> ${await fs.readlink(p)}`
        : `dir ${st.mtimeMs}`;
  }
  return out;
}

/** A prefix as `source build 2.4.68 --prefix PREFIX --port PORT` leaves it, as far as the no-op decision reads. */
async function builtPrefix(prefix: string, port: number, configureExtra: string[] = []) {
  await fs.mkdir(path.join(prefix, 'bin'), { recursive: true });
  await fs.mkdir(path.join(prefix, 'conf'), { recursive: true });
  await fs.writeFile(path.join(prefix, 'bin', 'httpd'), '#!/bin/sh\n', { mode: 0o755 });
  const shipped = 'ServerRoot "/x"\n#\nListen 80\n\nLoadModule foo_module modules/mod_foo.so\n';
  await fs.writeFile(path.join(prefix, 'conf', 'httpd.conf'), setListen(shipped, '2.4', port));
  const plan = RECIPES['2.4'].configure(prefix, configureExtra);
  await fs.writeFile(
    path.join(prefix, 'apxs-ts-receipt.json'),
    JSON.stringify({
      version: '2.4.68',
      series: '2.4',
      url: 'http://mirror/httpd-2.4.68.tar.gz',
      configure: [...(plan.shell ? [plan.shell] : []), './configure', ...plan.args],
      fixes: [],
      jobs: 2,
      builtAt: '2025-01-01T00:00:00.000Z',
      phasesMs: {},
    }),
  );
}

describe('source build / uninstall: idempotent from the receipt', () => {
  it('the same version, options and port built there: changed false, nothing downloaded or touched; another port or --with-ssl: changed true', async () => {
    const work = await tmpDir('apxs-ts-idem-src-');
    const env = {
      XDG_DATA_HOME: path.join(work, 'data'),
      XDG_CACHE_HOME: path.join(work, 'cache'),
    };
    // A mirror whose tarball is empty: a build that downloaded or unpacked it would fail.
    const mirror = path.join(work, 'mirror');
    await fs.mkdir(mirror);
    await fs.writeFile(path.join(mirror, 'httpd-2.4.68.tar.gz'), '');
    const cacheDir = path.join(work, 'sources');
    await fs.mkdir(cacheDir);
    const prefix = path.join(work, 'httpd-2.4');
    const port = await freePort();
    await builtPrefix(prefix, port);
    const build = (...more: string[]) =>
      cli(
        [
          'source',
          'build',
          '2.4.68',
          '--prefix',
          prefix,
          '--mirror',
          mirror,
          '--cache-dir',
          cacheDir,
          '--insecure',
          '--json',
          ...more,
        ],
        { env, timeoutMs: 60_000 },
      );
    const before = await tree(work);
    for (const more of [['--check'], ['--dry-run'], []]) {
      const r = await build('--port', String(port), ...more);
      expect(r.code, `${more}: ${r.stdout}`).toBe(0);
      expect(r.json, String(more)).toMatchObject({ changed: false, prefix, version: '2.4.68' });
      expect(r.json.receipt.builtAt).toBe('2025-01-01T00:00:00.000Z');
    }
    expect(await tree(work)).toEqual(before);

    // What differs is a build (checked only: a real one is test/e2e/source-build.test.ts's).
    const otherPort = await build('--check', '--port', String(port + 1));
    expect(otherPort.json).toMatchObject({ changed: true, check: true, dryRun: true });
    expect(otherPort.json.steps.join('\n')).toContain(`set Listen localhost:${port + 1}`);
    const ssl = await build('--check', '--port', String(port), '--with-ssl');
    expect(ssl.json.changed).toBe(true);
    expect(await tree(work)).toEqual(before);
  }, 60_000);

  it(
    'real receipts (the shared builds of 1.3, 2.0, 2.2, 2.4, and 2.4 --with-ssl): --check with their options and port is changed false, another port changed true; only --check, so a shared prefix is never rebuilt',
    async () => {
      const rows: string[] = [];
      for (const [version, ssl] of [
        ...SERIES_VERSIONS.map((v) => [v, false] as const),
        ['2.4.68', true] as const,
      ]) {
        await withBuiltHttpd(
          version,
          async (h) => {
            const conf = await tree(path.join(h.prefix, 'conf'));
            const check = (port: number) =>
              cli(
                [
                  'source',
                  'build',
                  version,
                  '--mirror',
                  mirrorOf(version),
                  '--prefix',
                  h.prefix,
                  '--port',
                  String(port),
                  '--cache-dir',
                  path.join(SERIES_BUILDS_DIR, 'cache'),
                  ...(ssl ? ['--with-ssl'] : []),
                  '--check',
                  '--json',
                ],
                { timeoutMs: 60_000 },
              );
            const same = await check(h.port);
            const other = await check(h.port === 65535 ? 65534 : h.port + 1);
            rows.push(
              `${version}${ssl ? ' ssl' : ''}: ${same.json?.changed} ${other.json?.changed}`,
            );
            expect(await tree(path.join(h.prefix, 'conf'))).toEqual(conf);
          },
          15 * 60_000,
          { ssl },
        );
      }
      expect(rows).toEqual([
        '1.3.42: false true',
        '2.0.65: false true',
        '2.2.34: false true',
        '2.4.68: false true',
        '2.4.68 ssl: false true',
      ]);
    },
    20 * 60_000,
  );

  it('uninstall: --check deletes nothing; the real run deletes; again: exit 0, changed false; a --prefix holding no receipt is still refused', async () => {
    const work = await tmpDir('apxs-ts-idem-unin-');
    const env = {
      XDG_DATA_HOME: path.join(work, 'data'),
      XDG_CACHE_HOME: path.join(work, 'cache'),
    };
    const prefix = path.join(work, 'data', 'apxs-ts', 'httpd', '2.4.68');
    await builtPrefix(prefix, 8080);
    const run = (...args: string[]) =>
      cli(['source', 'uninstall', '2.4.68', '--json', ...args], { env });
    const before = await tree(work);
    const check = await run('--check', '--diff');
    expect(check.code, check.stdout).toBe(0);
    expect(check.json).toMatchObject({ changed: true, check: true, prefix });
    const conf = path.join(prefix, 'conf', 'httpd.conf');
    expect(check.json.diff).toEqual([
      {
        before_header: conf,
        after_header: '/dev/null',
        before: await fs.readFile(conf, 'utf8'),
        after: '',
      },
    ]);
    expect(await tree(work)).toEqual(before);
    const real = await run('--diff');
    expect(real.json).toMatchObject({ changed: true, prefix });
    expect(real.json.diff).toEqual(check.json.diff);
    await expect(fs.lstat(prefix)).rejects.toThrow();
    const settled = await tree(work);
    for (const more of [[], ['--check']]) {
      const again = await run(...more);
      expect(again.code, again.stdout).toBe(0);
      expect(again.json).toMatchObject({ changed: false, prefix: null });
    }
    expect(await tree(work)).toEqual(settled);
    const mine = path.join(work, 'mine');
    await fs.mkdir(mine);
    const refused = await run('--prefix', mine);
    expect(refused.code).toBe(2);
    expect(refused.json.error.code).toBe('BAD_INPUT');
  });
});

describe('tls ca / trust / untrust / renew: idempotent, --check', () => {
  it('tls ca: --check makes nothing; made once; again (and --check): changed false, the CA dir untouched', async () => {
    const work = await tmpDir('apxs-ts-idem-ca-');
    const caDir = path.join(work, 'ca');
    const ca = (...more: string[]) => cli(['tls', 'ca', '--ca-dir', caDir, '--json', ...more]);
    const check = await ca('--check');
    expect(check.json).toMatchObject({ changed: true, check: true });
    await expect(fs.lstat(caDir)).rejects.toThrow();
    expect((await ca()).json.changed).toBe(true);
    const settled = await tree(work);
    for (const more of [[], ['--check']]) expect((await ca(...more)).json.changed).toBe(false);
    expect(await tree(work)).toEqual(settled);
  });

  it('trust/untrust on a scratch store: --check writes nothing and runs no update; each second run is changed false with the store untouched', async () => {
    const work = await tmpDir('apxs-ts-idem-trust-');
    const caDir = path.join(work, 'ca');
    expect((await cli(['tls', 'ca', '--ca-dir', caDir])).code).toBe(0);
    const storeRoot = path.join(work, 'store');
    const store = await scratchStore(storeRoot);
    const run = (verb: string, ...more: string[]) =>
      cli(['tls', verb, '--ca-dir', caDir, ...store.args, '--no-nss', '--json', ...more]);
    for (const verb of ['trust', 'untrust']) {
      const before = await tree(storeRoot);
      const check = await run(verb, '--check', '--diff');
      expect(check.code, check.stdout).toBe(0);
      expect(check.json, verb).toMatchObject({ changed: true, check: true });
      expect(check.json.diff).toHaveLength(1);
      expect(await tree(storeRoot), verb).toEqual(before);
      const real = await run(verb, '--diff');
      expect(real.json, verb).toMatchObject({ changed: true });
      expect(real.json.diff, verb).toEqual(check.json.diff);
      const settled = await tree(storeRoot);
      for (const more of [[], ['--check']]) {
        const again = await run(verb, ...more);
        expect(again.code, again.stdout).toBe(0);
        expect(again.json.changed, `${verb} again ${more}`).toBe(false);
      }
      expect(await tree(storeRoot), verb).toEqual(settled);
    }
  }, 60_000);

  it('renew --expiring 30 with nothing due: changed false, nothing touched; renew NAME on a running server: changed, reloaded; --no-reload: restart_required', async () => {
    const work = await tmpDir('apxs-ts-idem-renew-');
    const port = await freePort();
    let tlsPort = await freePort();
    while (tlsPort === port) tlsPort = await freePort();
    const sr = path.join(work, 'srv');
    const env = { APXS_TS_CA_DIR: path.join(work, 'ca'), XDG_CACHE_HOME: path.join(work, 'cache') };
    const hosts = path.join(work, 'hosts');
    await fs.writeFile(hosts, '127.0.0.1 localhost\n');
    const run = (args: string[]) => cli([...args, '--json'], { env, timeoutMs: 60_000 });
    const made = await run([
      'sandbox',
      'create',
      sr,
      '--port',
      String(port),
      '--tls-port',
      String(tlsPort),
      '--no-project',
    ]);
    expect(made.code, made.stdout).toBe(0);
    const add = await run([
      'vhost',
      'add',
      'one.test',
      '--tls',
      '--server-root',
      sr,
      '--hosts-file',
      hosts,
    ]);
    expect(add.code, add.stdout).toBe(0);
    const renew = (...more: string[]) => run(['tls', 'renew', '--server-root', sr, ...more]);

    const before = await tree(work);
    for (const more of [['--check'], []]) {
      const r = await renew('--expiring', '30', ...more);
      expect(r.code, r.stdout).toBe(0);
      expect(r.json).toMatchObject({ changed: false, due: [], msg: 'nothing to renew' });
    }
    expect(await tree(work)).toEqual(before);

    started.push(sr);
    const up = await run(['ctl', 'start', '--server-root', sr]);
    expect(up.code, up.stdout).toBe(0);
    const running = await tree(path.join(sr, 'conf'));
    const check = await renew('one.test', '--check');
    expect(check.json).toMatchObject({ changed: true, check: true, due: ['one.test'] });
    expect(check.json.restart_required).toBe(false);
    expect(await tree(path.join(sr, 'conf'))).toEqual(running);
    const real = await renew('one.test');
    expect(real.json).toMatchObject({ changed: true, reloaded: true, restart_required: false });
    expect(real.json.files.length).toBeGreaterThan(0);
    const noReload = await renew('one.test', '--no-reload');
    expect(noReload.json).toMatchObject({ changed: true, reloaded: false, restart_required: true });
    expect((await run(['ctl', 'stop', '--server-root', sr])).json.changed).toBe(true);
  }, 90_000);
});
