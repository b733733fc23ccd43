/**
 * Backups and a config broken before the edit (issue #16, defects 3 and 4):
 * a backup is as private as its original (mode and owner kept, the backups
 * directory 0700); an edit of a config httpd already rejects says so
 * (CONFIG_BROKEN_BEFORE with httpd's words) instead of blaming itself, and
 * an uninstall that repairs such a config goes through.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, sandbox, snapshot } from '../helpers.js';

const NOBODY = 65534;

async function root() {
  const s = await sandbox();
  return { ...s, backups: path.join(s.sr, '.apxs-ts', 'backups') };
}

async function builtModule(work: string, name: string, sr: string): Promise<string> {
  expect((await cli(['new', name, '--template', 'handler'], { cwd: work })).code).toBe(0);
  const dir = path.join(work, `mod_${name}`);
  expect((await cli(['build', dir, '--server-root', sr])).code).toBe(0);
  return dir;
}

const modeOf = async (f: string) => (await fs.stat(f)).mode & 0o777;

describe('backups are as private as the original', () => {
  it('a 0600 httpd.conf owned by nobody: its backup is 0600 and owned by nobody, in a 0700 backups dir (and a 0755 one is tightened)', async () => {
    const { sr, hosts, conf, backups } = await root();
    await fs.mkdir(backups, { recursive: true, mode: 0o755 });
    await fs.chmod(backups, 0o755);
    await fs.chmod(conf, 0o600);
    await fs.chown(conf, NOBODY, NOBODY);
    // A config another user owns is refused unless trusted (UNSAFE_CONFIG); this test trusts it to see its backup.
    const r = await cli([
      '--trust',
      path.dirname(conf),
      'vhost',
      'add',
      'b.dd',
      '--server-root',
      sr,
      '--hosts-file',
      hosts,
      '--json',
    ]);
    expect(r.code, r.stdout).toBe(0);
    const bak = (await fs.readdir(backups)).filter((f) => f.startsWith('httpd.conf.'));
    expect(bak).toHaveLength(1);
    const st = await fs.stat(path.join(backups, bak[0]!));
    expect([st.mode & 0o777, st.uid, st.gid]).toEqual([0o600, NOBODY, NOBODY]);
    expect(await modeOf(backups)).toBe(0o700);
    // The edited file keeps them too.
    const now = await fs.stat(conf);
    expect([now.mode & 0o777, now.uid]).toEqual([0o600, NOBODY]);
  });

  it('a 0600 hosts file: the backup beside it is 0600 (hosts add and vhost add)', async () => {
    const { sr, hosts } = await root();
    await fs.chmod(hosts, 0o600);
    expect((await cli(['hosts', 'add', 'h.dd', '--hosts-file', hosts])).code).toBe(0);
    expect(
      (await cli(['vhost', 'add', 'v.dd', '--server-root', sr, '--hosts-file', hosts, '--json']))
        .code,
    ).toBe(0);
    // hosts add keeps its backup beside the file; vhost add keeps the hosts file's in the root's state dir (#17).
    const beside = (await fs.readdir(path.dirname(hosts)))
      .filter((f) => /^hosts\..*\.bak$/.test(f))
      .map((f) => path.join(path.dirname(hosts), f));
    const stateDir = path.join(sr, '.apxs-ts', 'hosts-backups');
    const inState = (await fs.readdir(stateDir))
      .filter((f) => /^hosts\..*\.bak$/.test(f))
      .map((f) => path.join(stateDir, f));
    expect([beside.length, inState.length]).toEqual([1, 1]);
    for (const b of [...beside, ...inState]) expect(await modeOf(b), b).toBe(0o600);
    expect(await modeOf(stateDir)).toBe(0o700);
    expect(await modeOf(hosts)).toBe(0o600);
  });
});

describe('a config broken before the edit', () => {
  it("install into a config httpd already rejects: CONFIG_BROKEN_BEFORE with httpd's words, every file byte-identical", async () => {
    const { work, sr, conf } = await root();
    const dir = await builtModule(work, 'bb', sr);
    await fs.appendFile(conf, 'NoSuchDirectiveHere on\n');
    const before = await snapshot(sr);
    const r = await cli(['install', dir, '--server-root', sr, '--json']);
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('CONFIG_BROKEN_BEFORE');
    expect(r.json.error.message).toContain('NoSuchDirectiveHere');
    expect(r.json.error.message).toContain(`${conf}:`);
    expect(await snapshot(sr)).toEqual(before);
  });

  it('uninstall of a module whose .so is gone (httpd rejects the config) repairs it: exit 0, the config pristine', async () => {
    const { work, sr, conf } = await root();
    const pristine = await fs.readFile(conf, 'utf8');
    const dir = await builtModule(work, 'gone', sr);
    expect((await cli(['install', dir, '--server-root', sr, '--json'])).code).toBe(0);
    await fs.rm(path.join(sr, 'modules', 'mod_gone.so'));
    expect((await cli(['ctl', 'configtest', '--server-root', sr, '--json'])).code).toBe(1);
    const r = await cli(['uninstall', 'gone', '--server-root', sr, '--json']);
    expect(r.code, r.stdout).toBe(0);
    expect(await fs.readFile(conf, 'utf8')).toBe(pristine);
  });

  it('vhost remove of a vhost whose vhosts file is gone (the state the old order left: Include, no file) repairs the config and the hosts file', async () => {
    const { sr, hosts, conf } = await root();
    const pristine = await fs.readFile(conf, 'utf8');
    const v = (...a: string[]) =>
      cli(['vhost', ...a, '--server-root', sr, '--hosts-file', hosts, '--json']);
    expect((await v('add', 'vr.dd')).code).toBe(0);
    await fs.rm(path.join(sr, 'conf', 'apxs-ts-vhosts.conf'));
    expect((await cli(['ctl', 'configtest', '--server-root', sr, '--json'])).code).toBe(1);
    const r = await v('remove', 'vr.dd');
    expect(r.code, r.stdout).toBe(0);
    expect(r.json.warnings.join(' ')).toContain('is gone: removed what was left of vr.dd');
    expect(await fs.readFile(conf, 'utf8')).toBe(pristine);
    expect(await fs.readFile(hosts, 'utf8')).toBe('127.0.0.1 localhost\n');
    // Nothing left of it now: a second remove is already absent (#23: exit 0, nothing changed).
    const again = await v('remove', 'vr.dd');
    expect(again.code, again.stderr).toBe(0);
    expect(again.json).toMatchObject({ changed: false, alreadyAbsent: true, files: [] });
  });

  it('a journal that cannot be undone (or read) stops the next edit before it changes anything, and stays', async () => {
    const { sr, hosts } = await root();
    const journal = path.join(sr, '.apxs-ts', 'journal.json');
    await fs.mkdir(path.dirname(journal), { recursive: true });
    const stuck = {
      version: 1,
      what: 'adding vhost z.dd',
      pid: 4000000,
      started: '2026-01-01T00:00:00Z',
      removeAfterCommit: [],
      steps: [{ kind: 'link', path: path.join(sr, 'no-such-dir', 'z.conf'), target: '../z.conf' }],
    };
    for (const content of [JSON.stringify(stuck), '{"torn']) {
      await fs.writeFile(journal, content);
      const before = await snapshot(sr);
      const r = await cli([
        'vhost',
        'add',
        'z.dd',
        '--server-root',
        sr,
        '--hosts-file',
        hosts,
        '--json',
      ]);
      expect(r.code).not.toBe(0);
      expect(r.json.error.code).toBe(content === '{"torn' ? 'BAD_INPUT' : 'CONFIG_BROKEN_BEFORE');
      expect(r.json.error.message).toMatch(
        content === '{"torn'
          ? /journal.json is not an edit journal/
          : /could not undo "adding vhost z\.dd"/,
      );
      expect(await snapshot(sr)).toEqual(before);
      expect(await fs.readFile(hosts, 'utf8')).toBe('127.0.0.1 localhost\n');
    }
  });
});

describe('a backup killed half way', () => {
  it("kill -9 between a backup's temp file and its link (failpoint copy:before-link): the next hosts add removes the dead temp, 3 rounds", async () => {
    const { work, hosts } = await root();
    const mark = path.join(work, 'mark');
    for (let round = 1; round <= 3; round++) {
      const killed = await cli(['hosts', 'add', `k${round}.dd`, '--hosts-file', hosts], {
        env: { APXS_TS_FAILPOINT: 'copy:before-link', APXS_TS_FAILPOINT_MARK: mark },
      });
      expect(killed.code).not.toBe(0);
      expect((await fs.readFile(mark, 'utf8')).trim()).toBe('copy:before-link');
      await fs.rm(mark);
      const temps = async () =>
        (await fs.readdir(path.dirname(hosts))).filter((f) => f.endsWith('.bak.tmp'));
      expect(await temps()).toHaveLength(1);
      // The next second: a backup of the same second would reuse (and so clear) that very temp name.
      await new Promise((r) => setTimeout(r, 1100));
      expect((await cli(['hosts', 'add', `after${round}.dd`, '--hosts-file', hosts])).code).toBe(0);
      expect(await temps()).toEqual([]);
    }
  });
});
