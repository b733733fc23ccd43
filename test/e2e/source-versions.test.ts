/**
 * Source builds without bookkeeping: --prefix defaults to a per-user
 * directory per version, `source versions` lists what was built (from the
 * receipts), `source uninstall` removes one. Against fake prefixes holding a
 * receipt (no real build); the running one is a sandbox's config run by the
 * system httpd through bin/httpd, as a prefix.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { recordBuild } from '../../lib/source/receipts.js';
import { SHARED_MIRROR, cli, freePort, tmpDir } from '../helpers.js';

const started: string[] = [];
afterAll(async () => {
  for (const sr of started) await cli(['ctl', 'stop', '--server-root', sr]);
});

async function setup() {
  const work = await tmpDir();
  const env = { XDG_DATA_HOME: path.join(work, 'data'), XDG_CACHE_HOME: path.join(work, 'cache') };
  const home = path.join(work, 'data', 'apxs-ts', 'httpd');
  const run = (args: string[]) => cli([...args, '--json'], { env });
  return { work, env, home, run };
}

/** A prefix as `source build` leaves it, as far as versions/uninstall look: a receipt and some files. */
async function fakePrefix(prefix: string, version: string): Promise<string> {
  await fs.mkdir(path.join(prefix, 'bin'), { recursive: true });
  await fs.writeFile(path.join(prefix, 'bin', 'apachectl'), '#!/bin/sh\n');
  await fs.writeFile(
    path.join(prefix, 'apxs-ts-receipt.json'),
    JSON.stringify({
      version,
      series: version.split('.').slice(0, 2).join('.'),
      url: `http://mirror/httpd-${version}.tar.gz`,
      builtAt: '2025-01-01T00:00:00.000Z',
    }),
  );
  return prefix;
}

describe('source build without --prefix', () => {
  it('goes to $XDG_DATA_HOME/apxs-ts/httpd/VERSION, or ~/.local/share/apxs-ts/httpd/VERSION', async () => {
    const { work, env } = await setup();
    const mirror = path.join(work, 'mirror');
    await fs.mkdir(mirror);
    await fs.writeFile(path.join(mirror, 'httpd-2.4.68.tar.gz'), '');
    const dry = await cli(['source', 'build', '2.4', '--mirror', mirror, '--dry-run', '--json'], {
      env,
    });
    expect(dry.code, dry.stdout).toBe(0);
    const prefix = path.join(work, 'data', 'apxs-ts', 'httpd', '2.4.68');
    expect(dry.json.prefix).toBe(prefix);
    expect(dry.json.steps.join('\n')).toContain(`./configure --prefix=${prefix} --enable-so`);
    const homeDir = path.join(work, 'home');
    const viaHome = await cli(
      ['source', 'build', '2.4.68', '--mirror', mirror, '--dry-run', '--json'],
      { env: { HOME: homeDir, XDG_DATA_HOME: '' } },
    );
    expect(viaHome.json.prefix).toBe(
      path.join(homeDir, '.local', 'share', 'apxs-ts', 'httpd', '2.4.68'),
    );
    // A dry run makes no prefix, nor the directory it would go in.
    await expect(fs.stat(path.join(work, 'data'))).rejects.toThrow();
    await expect(fs.stat(path.join(homeDir, '.local'))).rejects.toThrow();
  });

  it('the default prefix is checked like a given one: a directory of other things there is refused before any download', async () => {
    const { work, env, home } = await setup();
    await fs.mkdir(path.join(home, '2.4.68'), { recursive: true });
    await fs.writeFile(path.join(home, '2.4.68', 'notes.txt'), 'mine');
    const r = await cli(
      [
        'source',
        'build',
        '2.4.68',
        '--mirror',
        path.join(SHARED_MIRROR, 'httpd'),
        '--cache-dir',
        path.join(work, 'c'),
        '--json',
      ],
      { env },
    );
    expect([r.code, r.json?.error?.code]).toEqual([2, 'BAD_INPUT']);
    expect(r.json.error.message).toContain(`--prefix ${path.join(home, '2.4.68')} is not empty`);
    await expect(fs.stat(path.join(work, 'c'))).rejects.toThrow();
  });
});

describe('source versions', () => {
  it('lists the receipts in the per-user directory and the prefixes recorded elsewhere, newest first; drops a recorded one that is gone', async () => {
    const { work, env, home, run } = await setup();
    await fakePrefix(path.join(home, '2.2.34'), '2.2.34');
    await fakePrefix(path.join(home, '2.4.68'), '2.4.68');
    await fs.mkdir(path.join(home, 'junk', 'bin'), { recursive: true }); // no receipt: not listed
    const elsewhere = await fakePrefix(path.join(work, 'opt', 'httpd13'), '1.3.42');
    const vanished = await fakePrefix(path.join(work, 'opt', 'gone'), '2.0.65');
    await recordBuild(elsewhere, { version: '1.3.42', builtAt: 'x' }, env);
    await recordBuild(vanished, { version: '2.0.65', builtAt: 'x' }, env);
    await recordBuild(path.join(home, '2.4.68'), { version: '2.4.68', builtAt: 'x' }, env); // found by listing: not recorded
    expect(
      JSON.parse(
        await fs.readFile(path.join(work, 'cache', 'apxs-ts', 'prefixes.json'), 'utf8'),
      ).entries.map((e: { prefix: string }) => e.prefix),
    ).toEqual([elsewhere, vanished]);
    await fs.rm(vanished, { recursive: true });

    const r = await run(['source', 'versions']);
    expect(r.code, r.stdout).toBe(0);
    expect(
      r.json.installs.map((i: { version: string; prefix: string; where: string }) => [
        i.version,
        i.prefix,
        i.where,
      ]),
    ).toEqual([
      ['2.4.68', path.join(home, '2.4.68'), 'default'],
      ['2.2.34', path.join(home, '2.2.34'), 'default'],
      ['1.3.42', elsewhere, 'elsewhere'],
    ]);
    expect(r.json.dropped).toEqual([vanished]);
    expect(
      JSON.parse(
        await fs.readFile(path.join(work, 'cache', 'apxs-ts', 'prefixes.json'), 'utf8'),
      ).entries.map((e: { prefix: string }) => e.prefix),
    ).toEqual([elsewhere]);
    const human = await cli(['source', 'versions'], { env });
    expect(human.stdout).toBe(
      `2.4.68\t${path.join(home, '2.4.68')}\n2.2.34\t${path.join(home, '2.2.34')}\n1.3.42\t${elsewhere}\n`,
    );
  });

  it('nothing built: an empty list, and where builds go', async () => {
    const { env, home } = await setup();
    const r = await cli(['source', 'versions'], { env });
    expect([r.code, r.stdout]).toEqual([0, '']);
    expect(r.stderr).toContain(
      `nothing built yet (apxs-ts source build VERSION installs into ${home}/VERSION)`,
    );
  });
});

describe('source uninstall', () => {
  it('removes the prefix of a version built by apxs-ts, and only that', async () => {
    const { home, run } = await setup();
    await fakePrefix(path.join(home, '2.2.34'), '2.2.34');
    await fakePrefix(path.join(home, '2.4.68'), '2.4.68');
    const r = await run(['source', 'uninstall', '2.2.34']);
    expect(r.code, r.stdout).toBe(0);
    expect(r.json).toMatchObject({ version: '2.2.34', prefix: path.join(home, '2.2.34') });
    expect(await fs.readdir(home)).toEqual(['2.4.68']);
    expect(
      (await run(['source', 'versions'])).json.installs.map((i: { version: string }) => i.version),
    ).toEqual(['2.4.68']);
  });

  it('refuses (exit 2) a version whose prefix holds no receipt, deleting nothing; one not there at all is changed false (#23); asks which when a version is in two prefixes', async () => {
    const { work, env, home, run } = await setup();
    await fs.mkdir(path.join(home, '2.0.65', 'bin'), { recursive: true }); // made by hand: no receipt
    const r = await run(['source', 'uninstall', '2.0.65']);
    expect([r.code, r.json?.error?.code]).toEqual([2, 'BAD_INPUT']);
    expect(r.json.error.message).toBe('httpd 2.0.65 was not built by apxs-ts (no receipt for it)');
    // Absent is what uninstall is asked to reach: exit 0, nothing done.
    const absent = await run(['source', 'uninstall', '9.9.9']);
    expect(absent.code, absent.stdout).toBe(0);
    expect(absent.json).toMatchObject({ changed: false, prefix: null });
    expect(await fs.readdir(path.join(home, '2.0.65'))).toEqual(['bin']);

    const a = await fakePrefix(path.join(home, '2.4.68'), '2.4.68');
    const b = await fakePrefix(path.join(work, 'opt', '2.4.68'), '2.4.68');
    await recordBuild(b, { version: '2.4.68', builtAt: 'x' }, env);
    const both = await run(['source', 'uninstall', '2.4.68']);
    expect([both.code, both.json.error.code]).toEqual([2, 'BAD_INPUT']);
    expect(both.json.error.message).toBe(`httpd 2.4.68 is installed in 2 prefixes: ${a}, ${b}`);
    expect(both.json.error.hint).toBe('say which one with --prefix');
    const one = await run(['source', 'uninstall', '2.4.68', '--prefix', b]);
    expect(one.code, one.stdout).toBe(0);
    await expect(fs.stat(b)).rejects.toThrow();
    expect((await fs.stat(a)).isDirectory()).toBe(true);
    expect(
      JSON.parse(await fs.readFile(path.join(work, 'cache', 'apxs-ts', 'prefixes.json'), 'utf8'))
        .entries,
    ).toEqual([]);
  });

  it("refuses while the version's httpd runs, and removes it once stopped", async () => {
    const { work, home, run } = await setup();
    // A prefix that really runs: a sandbox's config, its marker swapped for a receipt, the system httpd as bin/httpd.
    const prefix = path.join(home, '2.4.68');
    const port = await freePort();
    expect(
      (
        await cli(['sandbox', 'create', prefix, '--port', String(port), '--no-project'], {
          env: { XDG_CACHE_HOME: path.join(work, 'cache') },
        })
      ).code,
    ).toBe(0);
    await fs.rm(path.join(prefix, 'apxs-ts-sandbox.json'));
    await fakePrefix(prefix, '2.4.68');
    await fs.rm(path.join(prefix, 'bin', 'apachectl'));
    await fs.symlink('/usr/sbin/apache2', path.join(prefix, 'bin', 'httpd'));
    const start = await run(['ctl', 'start', '--server-root', prefix]);
    expect(start.code, start.stdout).toBe(0);
    started.push(prefix);

    const refused = await run(['source', 'uninstall', '2.4.68']);
    expect([refused.code, refused.json.error.code]).toEqual([1, 'IN_USE']);
    expect(refused.json.error.message).toBe(
      `httpd 2.4.68 in ${prefix} is running (pid ${start.json.pid}): not removed`,
    );
    expect(refused.json.error.hint).toBe(`stop it first: apxs-ts ctl stop --server-root ${prefix}`);
    expect((await fs.stat(path.join(prefix, 'conf', 'httpd.conf'))).isFile()).toBe(true);

    expect((await run(['ctl', 'stop', '--server-root', prefix])).code).toBe(0);
    const removed = await run(['source', 'uninstall', '2.4.68']);
    expect(removed.code, removed.stdout).toBe(0);
    await expect(fs.stat(prefix)).rejects.toThrow();
  });
});
