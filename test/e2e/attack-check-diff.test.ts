/**
 * Attacks on the #23 --check/--diff contract that the issue did not name:
 * hostile bytes in a file a human --diff shows (escape sequences must not
 * reach the terminal raw), and what --check does where a real run would
 * write (read-only roots, pending journals).
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, sandbox, tmpDir } from '../helpers.js';

const roots: string[] = [];
afterAll(async () => {
  for (const sr of roots) await cli(['ctl', 'stop', '--server-root', sr]);
});

let s: Awaited<ReturnType<typeof sandbox>>;
beforeAll(async () => {
  s = await sandbox(roots);
}, 60_000);

/** C0 controls but tab and newline, DEL, and C1 (0x9b is a one-byte CSI on some terminals). */
const RAW_CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

describe('--diff in the human output with hostile bytes', () => {
  it('an escape sequence in httpd.conf near the edit is printed escaped, never raw (check and real run)', async () => {
    // A comment an admin (or anyone who could write the config) left: colours,
    // a window-title OSC ended by BEL, a C1 CSI, a carriage return hiding the line.
    await fs.appendFile(s.conf, '# note \x1b[31mRED\x1b]0;pwned\x07 \u009b2J \rhidden\n');
    const v = ['vhost', 'add', 'esc.dd', '--server-root', s.sr, '--hosts-file', s.hosts, '--diff'];
    for (const args of [[...v, '--check'], v]) {
      const r = await cli(args);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('esc.dd'); // the diff is there
      expect(r.stdout).toContain('\\x1b[31mRED'); // shown, escaped
      expect(RAW_CONTROL.test(r.stdout)).toBe(false);
      expect(RAW_CONTROL.test(r.stderr)).toBe(false);
    }
    // --json keeps the bytes (JSON escapes them): the diff is the file's content.
    const j = await cli([
      'vhost',
      'remove',
      'esc.dd',
      '--server-root',
      s.sr,
      '--hosts-file',
      s.hosts,
      '--check',
      '--diff',
      '--json',
    ]);
    expect(j.code, j.stderr).toBe(0);
    const conf = (j.json as any).diff.find((d: any) => d.after_header === s.conf);
    expect(conf.before).toContain('\x1b[31mRED');
  }, 60_000);
});

describe('a FIFO or a device planted where a config file is expected', () => {
  // Each would block (a FIFO with no writer) or read forever (/dev/zero):
  // apxs-ts must refuse it, naming the path, and never hang.
  it('apxs-ts-vhosts.conf as a FIFO or a symlink to /dev/zero; a FIFO as the hosts file: exit 2 naming it, check and real run, in 15 s', async () => {
    const t = await sandbox(roots);
    const vhosts = path.join(t.sr, 'conf', 'apxs-ts-vhosts.conf');
    const fifoHosts = path.join(t.work, 'hosts.fifo');
    execFileSync('mkfifo', [fifoHosts]);
    const plant = async (kind: 'fifo' | 'zero') => {
      await fs.rm(vhosts, { force: true });
      if (kind === 'fifo') execFileSync('mkfifo', [vhosts]);
      else await fs.symlink('/dev/zero', vhosts);
    };
    const v = ['vhost', 'add', 'pipe.dd', '--server-root', t.sr, '--hosts-file', t.hosts];
    let runs = 0;
    for (const kind of ['fifo', 'zero'] as const) {
      await plant(kind);
      for (const extra of [['--check', '--diff'], ['--diff'], []]) {
        const r = await cli([...v, ...extra, '--json'], { timeoutMs: 15_000 });
        expect(r.killed, `${kind} ${extra}: hung`).toBe(false);
        expect(r.code, `${kind} ${extra}: ${r.stdout}`).toBe(2);
        // The path planted, or where its symlink leads.
        const named = r.json.error.message as string;
        expect(named.includes(vhosts) || named.startsWith('/dev/zero '), named).toBe(true);
        expect(r.json.error.message).toContain('not a regular file');
        runs++;
      }
    }
    for (const extra of [['--check', '--diff'], []]) {
      const r = await cli(
        ['hosts', 'add', 'pipe.dd', '--hosts-file', fifoHosts, ...extra, '--json'],
        {
          timeoutMs: 15_000,
        },
      );
      expect(r.killed, 'hosts FIFO: hung').toBe(false);
      expect(r.code, r.stdout).toBe(2);
      expect(r.json.error.message).toContain(fifoHosts);
      runs++;
    }
    expect(runs).toBe(8);
  }, 180_000);
});

describe('--check after a real edit was killed (kill -9 by failpoint)', () => {
  it('the dead run left its lock and journal: --check neither waits on the dead lock nor touches either, says the journal is pending, and plans from what recovering it leaves (changed and diff as the real run)', async () => {
    const t = await sandbox(roots);
    const state = path.join(t.sr, '.apxs-ts');
    const mark = path.join(t.work, 'mark');
    const v = ['vhost', 'add', 'killed.dd', '--server-root', t.sr, '--hosts-file', t.hosts];
    const killed = await cli([...v, '--json'], {
      env: { APXS_TS_FAILPOINT: 'edit:before-configtest', APXS_TS_FAILPOINT_MARK: mark },
    });
    expect(killed.code).not.toBe(0); // SIGKILLed at the step the mark names
    expect((await fs.readFile(mark, 'utf8')).trim()).toBe('edit:before-configtest');
    const left = async () => {
      const out: Record<string, string> = {};
      for (const f of ['config.lock', 'journal.json']) {
        const st = await fs.stat(path.join(state, f));
        out[f] = `${st.mtimeMs} ${(await fs.readFile(path.join(state, f))).toString('base64')}`;
      }
      return out;
    };
    const before = await left();
    // A live edit's lock is waited on (up to 2 min); a dead run's lock must not be.
    const check = await cli([...v, '--check', '--diff', '--json'], { timeoutMs: 30_000 });
    expect(check.killed, "waited on the dead run's lock").toBe(false);
    expect(check.code, check.stdout).toBe(0);
    expect(JSON.stringify(check.json.warnings)).toContain('journal.json');
    expect(await left()).toEqual(before);
    // The real run recovers (undoes the killed edit) and then adds the vhost:
    // the plan, made from what that recovery leaves (read only), says the same.
    const real = await cli([...v, '--diff', '--json'], { timeoutMs: 60_000 });
    expect(real.code, real.stdout).toBe(0);
    expect(real.json.changed).toBe(true);
    expect(check.json.changed).toBe(true);
    expect(check.json.diff).toEqual(real.json.diff);
  }, 120_000);
});

describe('--check after a real edit was killed after its commit', () => {
  it('vhost remove --purge killed before the purge (failpoint edit:before-purge): vhost add --check reports the diff the real run makes after finishing it (the DocumentRoot made again)', async () => {
    const t = await sandbox(roots);
    const mark = path.join(t.work, 'mark');
    const v = (...a: string[]) => ['vhost', ...a, '--server-root', t.sr, '--hosts-file', t.hosts];
    expect((await cli([...v('add', 'purged.dd'), '--json'])).code).toBe(0);
    const killed = await cli([...v('remove', 'purged.dd', '--purge'), '--json'], {
      env: { APXS_TS_FAILPOINT: 'edit:before-purge', APXS_TS_FAILPOINT_MARK: mark },
    });
    expect(killed.code).not.toBe(0);
    expect((await fs.readFile(mark, 'utf8')).trim()).toBe('edit:before-purge');
    const check = await cli([...v('add', 'purged.dd'), '--check', '--diff', '--json'], {
      timeoutMs: 30_000,
    });
    expect(check.code, check.stdout).toBe(0);
    const real = await cli([...v('add', 'purged.dd'), '--diff', '--json']);
    expect(real.code, real.stdout).toBe(0);
    expect(real.json.diff.map((d: any) => d.after_header)).toContain(
      path.join(t.sr, 'sites', 'purged.dd', 'index.html'),
    );
    expect(check.json.diff).toEqual(real.json.diff);
  }, 60_000);
});

describe('build --check writes nothing, not even its lock', () => {
  it("a module directory on a read-only mount: build --check plans (would build, exit 0); on a writable one it leaves the directory's mtime as it was", async () => {
    const work = await tmpDir('apxs-ts-atk-build-');
    const made = await cli(['new', 'rocheck', '--dir', work, '--json']);
    expect(made.code, made.stdout).toBe(0);
    const mod = path.join(work, 'mod_rocheck');
    const mtime = async () => (await fs.stat(mod)).mtimeMs;
    const before = await mtime();
    const rw = await cli(['build', mod, '--check', '--json']);
    expect(rw.code, rw.stdout).toBe(0);
    expect(rw.json).toMatchObject({ changed: true, check: true });
    expect(await mtime()).toBe(before);
    execFileSync('mount', ['--bind', mod, mod]);
    try {
      execFileSync('mount', ['-o', 'remount,ro,bind', mod]);
      const ro = await cli(['build', mod, '--check', '--json']);
      expect(ro.code, ro.stdout).toBe(0);
      expect(ro.json).toMatchObject({ changed: true, check: true });
    } finally {
      execFileSync('umount', [mod]);
    }
  }, 60_000);
});

describe('a symlinked httpd.conf', () => {
  it('ctl loglevel and vhost add: --check and the real run report the same diff, showing the content the link leads to; the link stays a link', async () => {
    const t = await sandbox(roots);
    const real = path.join(t.work, 'elsewhere', 'httpd.conf');
    await fs.mkdir(path.dirname(real), { mode: 0o755 });
    await fs.rename(t.conf, real);
    await fs.symlink(real, t.conf);
    const cmds = [
      ['ctl', 'loglevel', 'debug', '--server-root', t.sr],
      ['vhost', 'add', 'linked.dd', '--server-root', t.sr, '--hosts-file', t.hosts],
    ];
    for (const args of cmds) {
      const check = await cli([...args, '--check', '--diff', '--json']);
      expect(check.code, check.stdout).toBe(0);
      const done = await cli([...args, '--diff', '--json']);
      expect(done.code, done.stdout).toBe(0);
      expect(done.json.diff, args.join(' ')).toEqual(check.json.diff);
      const conf = (done.json.diff as any[]).filter((d) => /httpd\.conf$/.test(d.after_header));
      expect(conf.length, args.join(' ')).toBe(1);
      expect(conf[0].before).not.toContain('symlink to');
      expect(conf[0].after).toBe(await fs.readFile(real, 'utf8'));
      expect((await fs.lstat(t.conf)).isSymbolicLink()).toBe(true);
    }
  }, 60_000);
});

describe('idempotency against inputs spelled differently (held)', () => {
  it('a CRLF hosts file: check = real, a second run and a name in other case change nothing; vhost names in other case, a relative root and a trailing slash are the same vhost', async () => {
    const t = await sandbox(roots);
    await fs.writeFile(t.hosts, '127.0.0.1 localhost\r\n::1 localhost\r\n');
    const h = ['hosts', 'add', 'crlf.dd', '--hosts-file', t.hosts];
    const check = await cli([...h, '--check', '--diff', '--json']);
    const real = await cli([...h, '--diff', '--json']);
    expect(real.json.changed).toBe(true);
    expect(real.json.diff).toEqual(check.json.diff);
    expect(await fs.readFile(t.hosts, 'utf8')).toMatch(/^127\.0\.0\.1 crlf\.dd\r$/m);
    const stamp = (await fs.stat(t.hosts)).mtimeMs;
    for (const name of ['crlf.dd', 'CRLF.DD'])
      expect(
        (await cli(['hosts', 'add', name, '--hosts-file', t.hosts, '--json'])).json.changed,
      ).toBe(false);
    expect((await fs.stat(t.hosts)).mtimeMs).toBe(stamp);
    const add = (name: string, root: string, cwd?: string) =>
      cli(
        ['vhost', 'add', name, '--server-root', root, '--hosts-file', t.hosts, '--json'],
        cwd ? { cwd } : {},
      );
    expect((await add('case.dd', t.sr)).json.changed).toBe(true);
    const conf = (await fs.stat(t.conf)).mtimeMs;
    let same = 0;
    for (const [name, root, cwd] of [
      ['CASE.dd', t.sr],
      ['case.dd', `${t.sr}/`],
      ['Case.Dd', 'srv', t.work],
    ] as [string, string, string?][]) {
      const r = await add(name, root, cwd);
      expect(r.code, r.stdout).toBe(0);
      expect(r.json.changed, `${name} ${root}`).toBe(false);
      same++;
    }
    expect(same).toBe(3);
    expect((await fs.stat(t.conf)).mtimeMs).toBe(conf);
  }, 60_000);
});
