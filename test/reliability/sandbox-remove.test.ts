/**
 * `sandbox remove` deletes what apxs-ts (and httpd) made in a sandbox and
 * nothing of the user's: files in a new directory, a new conf file, a file
 * create made that the user edited by hand, a page in htdocs, symlinks
 * pointing outside (never followed) are all kept byte for byte; everything
 * create, vhost add, ctl loglevel, ctl start and httpd made goes. A remove
 * killed (failpoints) at any of its steps is finished by the next one.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, freePort, tmpDir } from '../helpers.js';

const started: string[] = [];
afterAll(async () => {
  for (const sr of started) await cli(['ctl', 'stop', '--server-root', sr]);
});

/** Every path below `dir` (lstat, symlinks not entered), relative, with what it is. */
async function tree(dir: string, rel = ''): Promise<string[]> {
  const out: string[] = [];
  for (const n of (await fs.readdir(path.join(dir, rel)).catch(() => [] as string[])).sort()) {
    const r = rel ? `${rel}/${n}` : n;
    const st = await fs.lstat(path.join(dir, r));
    if (st.isDirectory()) out.push(`${r}/`, ...(await tree(dir, r)));
    else out.push(st.isSymbolicLink() ? `${r}@` : r);
  }
  return out;
}

/** The user's additions: relative path -> bytes (a symlink: its target text). */
const USER_FILES: Record<string, string> = {
  'mywork/notes.txt': 'my notes\n',
  'mywork/deep/er/plan.md': '# plan\n',
  'conf/my-extra.conf': '# mine\nHeader set X-Mine 1\n',
  'htdocs/page.html': '<p>mine</p>\n',
  'logs/keep/mine.log': 'a subdirectory of logs/ the user made\n',
};

/** A sandbox used the way a developer does, plus the user's own things; returns what to check after. */
async function scenario(
  work: string,
  env: Record<string, string>,
  opts: { start: boolean; module?: boolean },
) {
  const sr = path.join(work, 'srv');
  const hosts = path.join(work, 'hosts');
  await fs.writeFile(hosts, '127.0.0.1 localhost\n');
  const port = await freePort();
  const run = (args: string[]) => cli([...args, '--json'], { env, cwd: work });
  expect((await run(['sandbox', 'create', sr, '--port', String(port), '--no-project'])).code).toBe(
    0,
  );
  const add = await run(['vhost', 'add', 'keep.dd', '--server-root', sr, '--hosts-file', hosts]);
  expect(add.code, add.stdout).toBe(0);
  expect((await run(['ctl', 'loglevel', 'info', '--server-root', sr, '--no-reload'])).code).toBe(0);
  if (opts.module) {
    // A module installed into the sandbox: its .so (in the ledger) and its block in httpd.conf are apxs-ts's.
    expect((await cli(['new', 'rmtest', '--template', 'handler'], { env, cwd: work })).code).toBe(
      0,
    );
    const inst = await run(['install', path.join(work, 'mod_rmtest'), '--server-root', sr]);
    expect(inst.code, inst.stdout).toBe(0);
  }
  if (opts.start) {
    expect((await run(['ctl', 'start', '--server-root', sr])).code).toBe(0);
    started.push(sr);
  }
  for (const [rel, text] of Object.entries(USER_FILES)) {
    await fs.mkdir(path.dirname(path.join(sr, rel)), { recursive: true });
    await fs.writeFile(path.join(sr, rel), text);
  }
  // A file create made, edited by hand: the user's now.
  const edited = path.join(sr, 'conf', 'mime.types');
  await fs.appendFile(edited, 'text/x-mine mine\n');
  // Symlinks pointing outside, to a file and to a directory: kept, and never followed.
  const outside = path.join(work, 'outside');
  await fs.mkdir(outside);
  await fs.writeFile(path.join(outside, 'precious.txt'), 'outside\n');
  await fs.symlink(path.join(outside, 'precious.txt'), path.join(sr, 'htdocs', 'link-to-file'));
  await fs.symlink(outside, path.join(sr, 'conf', 'link-to-dir'));
  const userBytes: Record<string, string> = {
    ...USER_FILES,
    'conf/mime.types': await fs.readFile(edited, 'utf8'),
  };
  const links = ['htdocs/link-to-file', 'conf/link-to-dir'];
  return { sr, run, userBytes, links, outside };
}

/** After a finished remove: exactly the user's files (and the directories holding them) are left, byte for byte. */
async function expectOnlyUsersLeft(
  sr: string,
  userBytes: Record<string, string>,
  links: string[],
  outside: string,
) {
  const dirsOf = (rel: string) =>
    rel
      .split('/')
      .slice(0, -1)
      .map((_, i, a) => `${a.slice(0, i + 1).join('/')}/`);
  const expected = new Set([
    ...Object.keys(userBytes),
    ...links.map((l) => `${l}@`),
    ...[...Object.keys(userBytes), ...links].flatMap(dirsOf),
  ]);
  expect((await tree(sr)).sort()).toEqual([...expected].sort());
  for (const [rel, text] of Object.entries(userBytes))
    expect(await fs.readFile(path.join(sr, rel), 'utf8'), rel).toBe(text);
  expect(await fs.readFile(path.join(outside, 'precious.txt'), 'utf8')).toBe('outside\n');
}

describe("sandbox remove keeps the user's files", () => {
  it("8 user entries in 5 places (new dirs, new conf file, edited file, page in htdocs, 2 symlinks out) kept byte for byte; all of apxs-ts's (vhost, loglevel, an installed module) and httpd's gone", async () => {
    const work = await tmpDir('apxs-ts-sbrm-');
    const env = { XDG_CACHE_HOME: path.join(work, 'cache') };
    const { sr, run, userBytes, links, outside } = await scenario(work, env, {
      start: true,
      module: true,
    });
    const before = await tree(sr);
    expect(before).toContain('modules/mod_rmtest.so');
    expect(await fs.readFile(path.join(sr, 'conf', 'httpd.conf'), 'utf8')).toContain(
      '# BEGIN apxs-ts module rmtest',
    );
    // What apxs-ts and httpd made is there to be removed: the vhost's site, its conf, the state dir, logs, the pid file.
    for (const p of [
      'sites/keep.dd/index.html',
      'conf/apxs-ts-vhosts.conf',
      'conf/httpd.conf',
      '.apxs-ts/created.json',
      'logs/error_log',
      'logs/httpd.pid',
      'htdocs/index.html',
    ]) {
      expect(before, p).toContain(p);
    }
    const r = await run(['sandbox', 'remove', sr]);
    expect(r.code, r.stdout).toBe(0);
    expect(r.json.stopped).toEqual(expect.any(Number));
    await expectOnlyUsersLeft(sr, userBytes, links, outside);
    // kept names each of them, and nothing else.
    const keptRel = (r.json.kept as string[]).map((k) => path.relative(sr, k)).sort();
    expect(keptRel).toEqual([...Object.keys(userBytes), ...links].sort());
    expect(r.json.removed).toContain(path.join(sr, 'conf', 'httpd.conf'));
    // Listed no more.
    expect((await run(['sandbox', 'list'])).json.sandboxes).toEqual([]);
    // Human form says what was kept.
    expect((await cli(['sandbox', 'remove', sr], { env })).code).toBe(2); // no longer a sandbox
  }, 60_000);

  it('a sandbox nobody added to is removed whole, the directory too', async () => {
    const work = await tmpDir('apxs-ts-sbrm-');
    const env = { XDG_CACHE_HOME: path.join(work, 'cache') };
    const sr = path.join(work, 'plain');
    expect(
      (
        await cli(['sandbox', 'create', sr, '--port', String(await freePort()), '--no-project'], {
          env,
        })
      ).code,
    ).toBe(0);
    await fs.writeFile(path.join(work, 'h'), '');
    expect(
      (
        await cli(
          ['vhost', 'add', 'gone.dd', '--server-root', sr, '--hosts-file', path.join(work, 'h')],
          { env },
        )
      ).code,
    ).toBe(0);
    const r = await cli(['sandbox', 'remove', sr], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`removed ${sr}`);
    await expect(fs.lstat(sr)).rejects.toThrow();
  }, 30_000);

  // The kill lands at each step of the remove (asserted by the failpoint's mark); a second remove finishes it.
  const POINTS = [
    'sandbox-remove:after-file',
    'sandbox-remove:after-file@4',
    'sandbox-remove:after-file@6',
    'sandbox-remove:before-marker',
    'sandbox-remove:after-marker',
    'sandbox-remove:before-list',
  ];
  it(`kill -9 at ${POINTS.length} steps of remove: each time a second remove exits 0 and leaves exactly the user's files`, async () => {
    let finished = 0;
    for (const point of POINTS) {
      const work = await tmpDir('apxs-ts-sbrm-');
      const env = { XDG_CACHE_HOME: path.join(work, 'cache') };
      const { sr, userBytes, links, outside } = await scenario(work, env, { start: false });
      const mark = path.join(work, 'mark');
      const killed = await cli(['sandbox', 'remove', sr, '--json'], {
        env: { ...env, APXS_TS_FAILPOINT: point, APXS_TS_FAILPOINT_MARK: mark },
      });
      expect(killed.stdout, point).toBe(''); // died before printing
      expect((await fs.readFile(mark, 'utf8')).trim(), point).toBe(point);
      const again = await cli(['sandbox', 'remove', sr, '--json'], { env });
      expect(again.code, `${point}: ${again.stdout}`).toBe(0);
      await expectOnlyUsersLeft(sr, userBytes, links, outside);
      const list = JSON.parse(
        await fs.readFile(path.join(work, 'cache', 'apxs-ts', 'sandboxes.json'), 'utf8'),
      );
      expect(list.entries, point).toEqual([]);
      finished++;
    }
    expect(finished).toBe(POINTS.length);
  }, 120_000);

  // create writes its record (the marker) before anything else: killed at any later step, remove deletes it all.
  const CREATE_POINTS = [
    'sandbox-create:after-marker',
    'sandbox-create:after-file',
    'sandbox-create:after-file@2',
    'sandbox-create:after-file@3',
  ];
  it(`kill -9 at ${CREATE_POINTS.length} steps of sandbox create: each time sandbox remove exits 0 and the new directory is gone`, async () => {
    let removed = 0;
    for (const point of CREATE_POINTS) {
      const work = await tmpDir('apxs-ts-sbrm-');
      const env = { XDG_CACHE_HOME: path.join(work, 'cache') };
      const sr = path.join(work, 'half');
      const mark = path.join(work, 'mark');
      const killed = await cli(
        ['sandbox', 'create', sr, '--port', String(await freePort()), '--no-project', '--json'],
        { env: { ...env, APXS_TS_FAILPOINT: point, APXS_TS_FAILPOINT_MARK: mark } },
      );
      expect(killed.stdout, point).toBe('');
      expect((await fs.readFile(mark, 'utf8')).trim(), point).toBe(point);
      const r = await cli(['sandbox', 'remove', sr, '--json'], { env });
      expect(r.code, `${point}: ${r.stdout}`).toBe(0);
      expect(r.json.kept, point).toEqual([]);
      await expect(fs.lstat(sr), point).rejects.toThrow();
      removed++;
    }
    expect(removed).toBe(CREATE_POINTS.length);
  }, 60_000);
});
