/**
 * Attacks on the edit journal (.apxs-ts/journal.json) that the journal's own
 * tests did not try: recovery renames, deletes and removes directories where
 * the journal says, with the rights of whoever runs the next command (often
 * root). A journal another user planted, or one naming arbitrary files as its
 * "copies", must change nothing anywhere.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EditTransaction } from '../../lib/core/edit-transaction.js';
import { cli, newSandbox, sandbox, snapshot, tmpDir } from '../helpers.js';

/** A sandbox, and outside it a directory of files a hostile journal aims at. */
async function target() {
  const { work, sr } = await newSandbox();
  const victims = path.join(work, 'victims');
  await fs.mkdir(path.join(victims, 'dir'), { recursive: true });
  await fs.writeFile(path.join(victims, 'dir', 'keep'), 'keep\n');
  await fs.writeFile(path.join(victims, 'file1'), 'file1\n');
  await fs.writeFile(path.join(victims, 'passwd'), 'root:x:0:0\n');
  await fs.writeFile(path.join(victims, '.passwd.apxs-ts-undo-1-deadbeef-0'), 'evil:x:0:0\n');
  await fs.writeFile(path.join(victims, 'secret'), 'secret\n');
  await fs.mkdir(path.join(sr, '.apxs-ts'), { recursive: true });
  const journal = path.join(sr, '.apxs-ts', 'journal.json');
  const plant = async (
    steps: unknown[],
    opts: { committed?: boolean; removeAfterCommit?: string[] } = {},
  ) => {
    const file = opts.committed ? journal.replace(/\.json$/, '.committed.json') : journal;
    await fs.writeFile(
      file,
      JSON.stringify({
        version: 1,
        what: 'hostile',
        pid: 1,
        started: 'x',
        steps,
        removeAfterCommit: opts.removeAfterCommit ?? [],
      }),
    );
    return file;
  };
  const loglevel = () => cli(['ctl', 'loglevel', 'info', '--server-root', sr]);
  return { work, sr, victims, journal, plant, loglevel };
}

describe('a hostile edit journal changes nothing', () => {
  it("another user's journal (open and committed) naming paths outside the root: UNSAFE_CONFIG, exit 2, nothing deleted or renamed, journal kept", async () => {
    const { sr, victims, plant, loglevel } = await target();
    const before = await snapshot(victims);
    const conf = await fs.readFile(path.join(sr, 'conf', 'httpd.conf'));
    const steps = [
      { kind: 'dir', path: path.join(victims, 'dir') },
      { kind: 'file', path: path.join(victims, 'file1'), copy: null },
      // a well-formed undo copy beside the file: only the owner check stops this one
      {
        kind: 'file',
        path: path.join(victims, 'passwd'),
        copy: path.join(victims, '.passwd.apxs-ts-undo-1-deadbeef-0'),
      },
    ];
    for (const committed of [false, true]) {
      const file = await plant(steps, {
        committed,
        removeAfterCommit: [path.join(victims, 'dir')],
      });
      await fs.chown(file, 65534, 65534);
      const r = await loglevel();
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain('belongs to uid 65534');
      expect(await snapshot(victims)).toEqual(before);
      expect(await fs.readFile(path.join(sr, 'conf', 'httpd.conf'))).toEqual(conf);
      expect((await fs.stat(file)).uid).toBe(65534);
      await fs.rm(file);
    }
    // moved away, the next command runs
    expect((await loglevel()).code).toBe(0);
  });

  it('a journal writable by others is not followed (2 modes), nor a journal that is a symlink', async () => {
    const { work, victims, journal, plant, loglevel } = await target();
    const before = await snapshot(victims);
    for (const mode of [0o666, 0o664]) {
      await plant([{ kind: 'file', path: path.join(victims, 'file1'), copy: null }]);
      await fs.chmod(journal, mode);
      const r = await loglevel();
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain('writable by others');
      expect(await snapshot(victims)).toEqual(before);
    }
    const elsewhere = path.join(work, 'elsewhere.json');
    await fs.rename(journal, elsewhere);
    await fs.chmod(elsewhere, 0o644);
    await fs.symlink(elsewhere, journal);
    const r = await loglevel();
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('not a regular file');
    expect(await snapshot(victims)).toEqual(before);
  });

  it("the user's own journal naming an arbitrary file as a step's copy (4 forms): refused, nothing renamed", async () => {
    const { victims, plant, loglevel } = await target();
    const before = await snapshot(victims);
    const forms = [
      // rename secret over passwd
      [{ kind: 'file', path: path.join(victims, 'passwd'), copy: path.join(victims, 'secret') }],
      // an undo-copy name, but of another file
      [
        {
          kind: 'file',
          path: path.join(victims, 'file1'),
          copy: path.join(victims, '.passwd.apxs-ts-undo-1-deadbeef-0'),
        },
      ],
      // a relative path
      [{ kind: 'dir', path: 'victims/dir' }],
      // a shared step whose lock and copy are anywhere
      [
        {
          kind: 'shared',
          path: path.join(victims, 'passwd'),
          lock: path.join(victims, 'newfile'),
          copy: path.join(victims, 'secret'),
          before: 'a',
          after: 'b',
        },
      ],
    ];
    for (const steps of forms) {
      await plant(steps);
      const r = await loglevel();
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain('is not an edit journal apxs-ts can read');
      expect(await snapshot(victims)).toEqual(before);
    }
  });

  it('a real killed vhost add (after its hosts change) is still undone: the checks accept what apxs-ts writes', async () => {
    const { work, sr, hosts } = await sandbox();
    const before = await snapshot(sr);
    const hostsBefore = await fs.readFile(hosts);
    const mark = path.join(work, 'mark');
    const killed = await cli(
      ['vhost', 'add', 'k.test', '--server-root', sr, '--hosts-file', hosts],
      {
        env: { APXS_TS_FAILPOINT: 'edit:before-configtest', APXS_TS_FAILPOINT_MARK: mark },
      },
    );
    expect(await fs.readFile(mark, 'utf8')).toContain('edit:before-configtest');
    expect(killed.code).not.toBe(0);
    const journal = JSON.parse(
      await fs.readFile(path.join(sr, '.apxs-ts', 'journal.json'), 'utf8'),
    ) as { steps: { kind: string }[] };
    expect(journal.steps.map((s) => s.kind)).toContain('shared');
    const r = await cli(['ctl', 'loglevel', 'info', '--server-root', sr]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('undid "adding vhost k.test"');
    expect(await fs.readFile(hosts)).toEqual(hostsBefore);
    const after = await snapshot(sr);
    expect(Object.keys(after).filter((k) => !k.startsWith('.apxs-ts') && !(k in before))).toEqual(
      [],
    );
  });
});

describe("apxs-ts's own directories swapped for symlinks", () => {
  it('.apxs-ts/backups a symlink to a directory outside: that directory keeps its mode (0755) and gets no file; the edit stands with a warning', async () => {
    const { work, sr } = await newSandbox();
    const outside = path.join(work, 'outside');
    await fs.mkdir(outside, { mode: 0o755 });
    await fs.chmod(outside, 0o755);
    await fs.mkdir(path.join(sr, '.apxs-ts'), { recursive: true });
    await fs.symlink(outside, path.join(sr, '.apxs-ts', 'backups'));
    const r = await cli(['ctl', 'loglevel', 'debug', '--server-root', sr]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('is a symlink');
    expect((await fs.stat(outside)).mode & 0o777).toBe(0o755);
    expect(await fs.readdir(outside)).toEqual([]);
    expect(await fs.readFile(path.join(sr, 'conf', 'httpd.conf'), 'utf8')).toContain(
      'LogLevel debug',
    );
  });

  it('.apxs-ts a symlink to a directory outside: UNSAFE_CONFIG, exit 2, nothing written there or in the config (ctl loglevel, vhost add)', async () => {
    const { work, sr } = await newSandbox();
    const outside = path.join(work, 'outside');
    await fs.mkdir(outside);
    await fs.symlink(outside, path.join(sr, '.apxs-ts'));
    const hosts = path.join(work, 'hosts');
    await fs.writeFile(hosts, '127.0.0.1 localhost\n');
    const before = await snapshot(sr);
    for (const args of [
      ['ctl', 'loglevel', 'debug'],
      ['vhost', 'add', 'x.test', '--hosts-file', hosts],
    ]) {
      const r = await cli([...args, '--server-root', sr]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toContain('is a symlink');
      expect(await fs.readdir(outside)).toEqual([]);
      expect(await snapshot(sr)).toEqual(before);
      expect(await fs.readFile(hosts, 'utf8')).toBe('127.0.0.1 localhost\n');
    }
  });
});

describe("apxs-ts's ledger swapped for a symlink", () => {
  it('.apxs-ts/created.json a symlink to a JSON file outside: vhost add exits 2 (UNSAFE_CONFIG), the file it points at and the config unchanged', async () => {
    const { work, sr } = await newSandbox();
    const outside = path.join(work, 'daemon.json');
    await fs.writeFile(outside, '{"important": true}\n');
    await fs.mkdir(path.join(sr, '.apxs-ts'), { recursive: true });
    await fs.symlink(outside, path.join(sr, '.apxs-ts', 'created.json'));
    const hosts = path.join(work, 'hosts');
    await fs.writeFile(hosts, '127.0.0.1 localhost\n');
    const before = await snapshot(sr);
    const r = await cli(['vhost', 'add', 'x.test', '--server-root', sr, '--hosts-file', hosts]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain('created.json is a symlink');
    expect(await fs.readFile(outside, 'utf8')).toBe('{"important": true}\n');
    expect(await snapshot(sr)).toEqual(before);
    expect(await fs.readFile(hosts, 'utf8')).toBe('127.0.0.1 localhost\n');
  });
});

describe('a file changed by someone else between a killed edit and its undo', () => {
  it('hand edit of httpd.conf after a killed ctl loglevel: the next command keeps it (warns, keeps the original copy) instead of renaming the old copy over it', async () => {
    const { work, sr } = await newSandbox();
    const conf = path.join(sr, 'conf', 'httpd.conf');
    const original = await fs.readFile(conf, 'utf8');
    const mark = path.join(work, 'mark');
    const killed = await cli(['ctl', 'loglevel', 'warn', '--server-root', sr], {
      env: { APXS_TS_FAILPOINT: 'edit:before-configtest', APXS_TS_FAILPOINT_MARK: mark },
    });
    expect(killed.code).not.toBe(0);
    expect(await fs.readFile(mark, 'utf8')).toBe('edit:before-configtest\n');
    await fs.appendFile(conf, '# the user fixed something by hand\nServerAdmin me@example.test\n');
    const r = await cli(['ctl', 'loglevel', 'error', '--server-root', sr]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('was changed by someone else since this edit changed it');
    const now = await fs.readFile(conf, 'utf8');
    expect(now).toContain('ServerAdmin me@example.test');
    expect(now).toContain('LogLevel error');
    const copies = (await fs.readdir(path.dirname(conf))).filter((n) =>
      n.startsWith('.httpd.conf.apxs-ts-undo-'),
    );
    expect(copies.length).toBe(1);
    expect(await fs.readFile(path.join(path.dirname(conf), copies[0]!), 'utf8')).toBe(original);
  });

  it("two roots sharing one httpd.conf (symlinks): root A's killed edit, then B's committed edit; A's recovery keeps B's change", async () => {
    const a = await newSandbox();
    const b = await newSandbox();
    const shared = path.join(a.work, 'shared.conf');
    await fs.copyFile(path.join(a.sr, 'conf', 'httpd.conf'), shared);
    for (const sr of [a.sr, b.sr]) {
      await fs.rm(path.join(sr, 'conf', 'httpd.conf'));
      await fs.symlink(shared, path.join(sr, 'conf', 'httpd.conf'));
    }
    const mark = path.join(a.work, 'mark');
    await cli(['ctl', 'loglevel', 'warn', '--server-root', a.sr], {
      env: { APXS_TS_FAILPOINT: 'edit:before-configtest', APXS_TS_FAILPOINT_MARK: mark },
    });
    expect(await fs.readFile(mark, 'utf8')).toBe('edit:before-configtest\n');
    expect((await cli(['ctl', 'loglevel', 'debug', '--server-root', b.sr])).code).toBe(0);
    const hosts = path.join(a.work, 'hosts');
    await fs.writeFile(hosts, '127.0.0.1 localhost\n');
    // vhost add takes A's lock (so recovers A's killed edit) and leaves the LogLevel block alone
    const r = await cli(['vhost', 'add', 'y.test', '--server-root', a.sr, '--hosts-file', hosts]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('was changed by someone else');
    expect(await fs.readFile(shared, 'utf8')).toMatch(/LogLevel debug/);
  });
});

describe('a directory or symlink a killed edit made, taken over by someone before the recovery', () => {
  it("a page the user put in a killed vhost add's new DocumentRoot is kept (and the dir with it); the rest of the edit is undone", async () => {
    const { work, sr, hosts } = await sandbox();
    const mark = path.join(work, 'mark');
    await cli(['vhost', 'add', 'k.test', '--server-root', sr, '--hosts-file', hosts], {
      env: { APXS_TS_FAILPOINT: 'edit:before-configtest', APXS_TS_FAILPOINT_MARK: mark },
    });
    expect(await fs.readFile(mark, 'utf8')).toBe('edit:before-configtest\n');
    const docroot = path.join(sr, 'sites', 'k.test');
    await fs.writeFile(path.join(docroot, 'mine.html'), '<p>mine</p>\n');
    const r = await cli(['ctl', 'loglevel', 'info', '--server-root', sr]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('holds files this edit did not make');
    expect(await fs.readFile(path.join(docroot, 'mine.html'), 'utf8')).toBe('<p>mine</p>\n');
    // what the edit itself wrote is gone
    await expect(fs.access(path.join(docroot, 'index.html'))).rejects.toThrow();
    expect(await fs.readFile(path.join(sr, 'conf', 'httpd.conf'), 'utf8')).not.toContain(
      'apxs-ts-vhosts',
    );
  });

  it('a regular file put where a killed edit made a symlink is kept by recover (the link step is not rm -f over it)', async () => {
    const dir = await tmpDir('apxs-ts-attack1-');
    const journal = path.join(dir, 'journal.json');
    const link = path.join(dir, 'mods-enabled-x.load');
    const tx = new EditTransaction(undefined, { file: journal, what: 'enabling x' });
    await tx.symlink('../mods-available/x.load', link);
    // killed here: the journal is open; someone replaces the link by a file of their own
    await fs.rm(link);
    await fs.writeFile(link, 'LoadModule mine\n');
    const said = await EditTransaction.recover(journal);
    expect(said.join('\n')).toContain('is no longer a symlink');
    expect(await fs.readFile(link, 'utf8')).toBe('LoadModule mine\n');
    await expect(fs.access(journal)).rejects.toThrow();
  });
});

describe('a relative --hosts-file in a killed edit', () => {
  it('is journaled absolute: the next command, run from another directory holding a file of the same name, puts the right hosts file back and leaves the other', async () => {
    const { work, sr } = await newSandbox();
    await fs.writeFile(path.join(work, 'hosts'), '127.0.0.1 localhost\n');
    const elsewhere = path.join(work, 'elsewhere');
    await fs.mkdir(elsewhere);
    await fs.writeFile(path.join(elsewhere, 'hosts'), '10.0.0.1 other\n');
    const mark = path.join(work, 'mark');
    await cli(['vhost', 'add', 'rel.test', '--server-root', sr, '--hosts-file', 'hosts'], {
      cwd: work,
      env: { APXS_TS_FAILPOINT: 'edit:before-configtest', APXS_TS_FAILPOINT_MARK: mark },
    });
    expect(await fs.readFile(mark, 'utf8')).toBe('edit:before-configtest\n');
    expect(await fs.readFile(path.join(work, 'hosts'), 'utf8')).toContain('rel.test');
    const r = await cli(['ctl', 'loglevel', 'info', '--server-root', sr], { cwd: elsewhere });
    expect(r.code, r.stderr).toBe(0);
    expect(await fs.readFile(path.join(work, 'hosts'), 'utf8')).toBe('127.0.0.1 localhost\n');
    expect(await fs.readFile(path.join(elsewhere, 'hosts'), 'utf8')).toBe('10.0.0.1 other\n');
  });
});
