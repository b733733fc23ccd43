/**
 * The #23 contract of the commands that edit files (install, uninstall,
 * vhost add/remove, hosts add/remove, ctl loglevel), on a sandbox run by
 * the system httpd 2.4:
 *
 * - `--check --diff` changes nothing at all (every entry's bytes, mode and
 *   mtime, directories included) and reports `changed: true` and the diff
 *   the real run then reports, byte for byte;
 * - the real run reports `changed: true`; the same command again exits 0,
 *   `changed: false`, and no file's mtime changes (nor any byte);
 * - `--diff` prints unified diffs on stdout, the msg on stderr;
 * - restart_required is true only while a running server has not reloaded;
 * - 8 checks running during 5 real edits of one root write nothing, and
 *   every real edit lands.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, freePort, sandbox } from '../helpers.js';
import { changeContract, ok, treeState } from './change-contract.js';

const roots: string[] = [];
afterAll(async () => {
  for (const sr of roots) await cli(['ctl', 'stop', '--server-root', sr]);
});

let s: Awaited<ReturnType<typeof sandbox>>;
let mod: string;
beforeAll(async () => {
  s = await sandbox(roots);
  const made = await cli(['new', 'ckfiles', '--dir', s.work]);
  expect(made.code, made.stderr).toBe(0);
  mod = path.join(s.work, 'mod_ckfiles');
  const built = await cli(['build', '--server-root', s.sr], { cwd: mod });
  expect(built.code, built.stderr).toBe(0);
}, 120_000);

const run = (args: string[], cwd?: string) => cli(args, cwd ? { cwd } : {});
const contract = (args: string[], cwd?: string) => changeContract([s.work], args, { cwd });

describe('--check, --diff and idempotency of the commands that edit files', () => {
  it('hosts add, then hosts remove (and --dry-run still checks)', async () => {
    const add = await contract(['hosts', 'add', 'ck1.dd', '--hosts-file', s.hosts]);
    expect(add.diff).toEqual([
      {
        before_header: s.hosts,
        after_header: s.hosts,
        before: '127.0.0.1 localhost\n',
        after: '127.0.0.1 localhost\n# BEGIN apxs-ts\n127.0.0.1 ck1.dd\n# END apxs-ts\n',
      },
    ]);
    expect(add.restart_required).toBeUndefined(); // no server reads the hosts file
    const dry = ok(
      await run(['hosts', 'remove', 'ck1.dd', '--hosts-file', s.hosts, '--dry-run', '--json']),
    );
    expect(dry).toMatchObject({ changed: true, check: true, dryRun: true });
    await contract(['hosts', 'remove', 'ck1.dd', '--hosts-file', s.hosts]);
    expect(await fs.readFile(s.hosts, 'utf8')).toBe('127.0.0.1 localhost\n');
  }, 60_000);

  it('vhost add, then vhost remove; remove of a vhost already gone exits 0, changed false, said absent', async () => {
    const v = (...a: string[]) => ['vhost', ...a, '--server-root', s.sr, '--hosts-file', s.hosts];
    const add = await contract(v('add', 'ck.dd', '--alias', 'www.ck.dd'));
    expect(add.restart_required).toBe(false); // not running
    expect(add.diff.map((d: any) => d.after_header)).toEqual([
      path.join(s.sr, 'sites', 'ck.dd', 'index.html'),
      path.join(s.sr, 'conf', 'apxs-ts-vhosts.conf'),
      s.conf,
      s.hosts,
    ]);
    // apxs-ts's own state (the ledger) is not shown.
    expect(JSON.stringify(add.diff)).not.toContain('.apxs-ts/');
    const rm = await contract(v('remove', 'ck.dd', '--purge'));
    expect(rm.purged).toBe(path.join(s.sr, 'sites', 'ck.dd'));
    const gone = ok(await run([...v('remove', 'ck.dd'), '--json']));
    expect(gone).toMatchObject({ changed: false, alreadyAbsent: true, files: [] });
    expect(gone.msg).toContain('already absent');
    // A bad name is still an error (exit 2), not "absent".
    expect((await run([...v('remove', 'bad name!'), '--json'])).code).toBe(2);
  }, 90_000);

  it('install, then uninstall: state read back (installed, enabled, loaded, the identifier from the .so); uninstall of a module not installed exits 0, changed false', async () => {
    const ins = await contract(['install', '--server-root', s.sr], mod);
    const so = path.join(s.sr, 'modules', 'mod_ckfiles.so');
    expect(ins.diff.find((d: any) => d.after_header === so)?.after).toMatch(
      /^\(binary content, \d+ bytes\)\n$/,
    );
    expect(ins.state).toMatchObject({
      module: 'mod_ckfiles',
      so,
      installed: true,
      identifier: 'ckfiles_module',
      enabled: true,
      loaded: true,
      loadedNote: 'httpd -t -D DUMP_MODULES',
    });
    const un = await contract(['uninstall', 'ckfiles', '--server-root', s.sr]);
    expect(un.state).toMatchObject({ installed: false, enabled: false, loaded: false });
    const absent = ok(await run(['uninstall', 'ckfiles', '--server-root', s.sr, '--json']));
    expect(absent).toMatchObject({ changed: false, alreadyAbsent: true });
    expect(absent.msg).toContain('already absent');
    expect((await run(['uninstall', 'bad/name', '--server-root', s.sr, '--json'])).code).toBe(2);
  }, 120_000);

  it('ctl loglevel debug, then --reset', async () => {
    const set = await contract(['ctl', 'loglevel', 'debug', '--server-root', s.sr]);
    expect(set.diff[0].after).toContain('LogLevel debug');
    await contract(['ctl', 'loglevel', '--reset', '--server-root', s.sr]);
  }, 60_000);

  it('--diff prints unified diffs on stdout and the msg on stderr', async () => {
    const r = await run([
      'vhost',
      'add',
      'human.dd',
      '--server-root',
      s.sr,
      '--hosts-file',
      s.hosts,
      '--check',
      '--diff',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(
      `--- /dev/null\n+++ ${path.join(s.sr, 'conf', 'apxs-ts-vhosts.conf')}\n@@`,
    );
    expect(r.stdout).toContain('+    ServerName human.dd');
    expect(r.stdout).toContain(`--- ${s.hosts}\n+++ ${s.hosts}\n`);
    expect(r.stderr).toContain('would add vhost human.dd');
    expect(r.stdout).not.toContain('would add');
  }, 30_000);

  it('restart_required: true while the running server has not reloaded; ctl loglevel reloads it itself', async () => {
    const started = await cli(['ctl', 'start', '--server-root', s.sr]);
    expect(started.code, started.stderr).toBe(0);
    try {
      const v = ['--server-root', s.sr, '--hosts-file', s.hosts, '--json'];
      expect(ok(await run(['vhost', 'add', 'live.dd', ...v, '--check'])).restart_required).toBe(
        true,
      );
      expect(ok(await run(['vhost', 'add', 'live.dd', ...v])).restart_required).toBe(true);
      expect(ok(await run(['vhost', 'add', 'live.dd', ...v])).restart_required).toBe(false); // nothing changed
      const quiet = ok(
        await run(['ctl', 'loglevel', 'info', '--no-reload', '--server-root', s.sr, '--json']),
      );
      expect(quiet).toMatchObject({ changed: true, reloaded: false, restart_required: true });
      const loud = ok(await run(['ctl', 'loglevel', 'notice', '--server-root', s.sr, '--json']));
      expect(loud).toMatchObject({ changed: true, reloaded: true, restart_required: false });
    } finally {
      await cli(['ctl', 'stop', '--server-root', s.sr]);
    }
  }, 90_000);
});

describe('--check of vhost add --tls', () => {
  it('makes no local CA (a throwaway one signs the plan, then is removed) and writes nothing; with the CA there it only reads it; a second real run changes nothing', async () => {
    const t = await sandbox(roots);
    const ca = path.join(t.work, 'ca');
    const tlsPort = String(await freePort());
    const args = [
      'vhost',
      'add',
      'sec.test',
      '--tls',
      '--tls-port',
      tlsPort,
      '--server-root',
      t.sr,
      '--hosts-file',
      t.hosts,
      '--json',
    ];
    const env = { APXS_TS_CA_DIR: ca };
    const throwaways = async () =>
      (await fs.readdir(os.tmpdir())).filter((n) => n.startsWith('apxs-ts-check-ca-')).length;
    const tmpBefore = await throwaways();
    const before = await treeState([t.work]);
    const check = ok(await cli([...args, '--check', '--diff'], { env }));
    expect(check).toMatchObject({ changed: true, check: true });
    expect(JSON.stringify(check.diff)).toContain('SSLEngine on');
    expect(await treeState([t.work])).toEqual(before);
    expect(await throwaways()).toBe(tmpBefore);

    expect(ok(await cli(args, { env })).changed).toBe(true);
    const withCa = await treeState([t.work]);
    const again = ok(await cli([...args, '--check', '--diff'], { env }));
    expect(again).toMatchObject({ changed: false, diff: [] });
    // The CA read, not locked: not even its directory's mtime moved.
    expect(await treeState([t.work])).toEqual(withCa);
    const after = await treeState([t.work], false);
    expect(ok(await cli(args, { env })).changed).toBe(false);
    expect(await treeState([t.work], false)).toEqual(after);
  }, 90_000);
});

describe('--check during real edits of the same root', () => {
  it('8 checks run while 5 real vhost adds land: no check writes anything, all 5 real edits land, every check reports its own change', async () => {
    const t = await sandbox(roots);
    const add = (name: string, check: boolean) =>
      cli([
        'vhost',
        'add',
        name,
        '--server-root',
        t.sr,
        '--hosts-file',
        t.hosts,
        '--json',
        ...(check ? ['--check', '--diff'] : []),
      ]);
    const reals = [0, 1, 2, 3, 4].map((i) => add(`real${i}.dd`, false));
    const checks = [0, 1, 2, 3, 4, 5, 6, 7].map((i) => add(`planned${i}.dd`, true));
    const [realRuns, checkRuns] = await Promise.all([Promise.all(reals), Promise.all(checks)]);
    for (const r of realRuns) expect(r.code, r.stderr).toBe(0);
    for (const [i, c] of checkRuns.entries()) {
      expect(c.code, c.stderr).toBe(0);
      expect(c.json).toMatchObject({ changed: true, check: true });
      expect(JSON.stringify(c.json.diff)).toContain(`ServerName planned${i}.dd`);
    }
    const vhosts = await fs.readFile(path.join(t.sr, 'conf', 'apxs-ts-vhosts.conf'), 'utf8');
    for (let i = 0; i < 5; i++) expect(vhosts).toContain(`ServerName real${i}.dd`);
    const hostsText = await fs.readFile(t.hosts, 'utf8');
    expect(hostsText.match(/real\d\.dd/g)?.sort()).toEqual([
      'real0.dd',
      'real1.dd',
      'real2.dd',
      'real3.dd',
      'real4.dd',
    ]);
    // Nothing any check planned is anywhere: not in a file, not as a name.
    const all = await treeState([t.work]);
    expect(
      Object.entries(all).filter(
        ([p, v]) =>
          p.includes('planned') ||
          Buffer.from(v.split(' ')[1] ?? '', 'base64')
            .toString()
            .includes('planned'),
      ),
    ).toEqual([]);
    expect(
      await fs
        .readdir(path.join(t.sr, '.apxs-ts'))
        .then((n) => n.filter((f) => f.startsWith('journal'))),
    ).toEqual([]);
    expect((await cli(['ctl', 'configtest', '--server-root', t.sr])).code).toBe(0);
  }, 180_000);
});
