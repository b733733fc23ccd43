/**
 * The #23 contract for the commands that change processes and whole trees
 * (sandbox create/remove, ctl start/stop/graceful/restart), on system 2.4
 * sandboxes in temp dirs: the first run `changed: true`, the second
 * `changed: false` with no byte and no mtime changed anywhere in the temp tree
 * (files and directories, the per-user list in XDG_CACHE_HOME included), exit
 * 0; `--check` changes nothing, signals nothing (httpd's pid, start time and
 * children unchanged) and reports the `changed` (and diff) the real run then
 * reports.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, freePort, get, tmpDir } from '../helpers.js';

const roots: string[] = [];
afterAll(async () => {
  for (const sr of roots) await cli(['ctl', 'stop', '--server-root', sr]);
});

/** Every entry below `dir` (directories too): size, mtime and sha256, so a rewrite with equal bytes still shows. */
async function tree(dir: string, skip: (rel: string) => boolean = () => false) {
  const out: Record<string, string> = {};
  for (const e of await fs.readdir(dir, { recursive: true, withFileTypes: true })) {
    const p = path.join(e.parentPath, e.name);
    const rel = path.relative(dir, p);
    if (skip(rel)) continue;
    const st = await fs.lstat(p);
    out[rel] = e.isFile()
      ? `${st.size} ${st.mtimeMs} ${createHash('sha256')
          .update(await fs.readFile(p))
          .digest('hex')}`
      : `${e.isDirectory() ? 'dir' : 'other'} ${st.mtimeMs}`;
  }
  return out;
}

async function setup(prefix: string) {
  const work = await tmpDir(prefix);
  const env = { XDG_CACHE_HOME: path.join(work, 'cache') };
  const sr = path.join(work, 'srv');
  const port = await freePort();
  const run = (args: string[], extra: Record<string, string> = {}) =>
    cli([...args, '--json'], { cwd: work, env: { ...env, ...extra }, timeoutMs: 90_000 });
  return { work, env, sr, port, run };
}

/** The pid of `sr`'s httpd parent, its start time (field 22 of /proc/PID/stat) and its children. */
function httpdIdentity(pid: number) {
  const stat = execFileSync('cat', [`/proc/${pid}/stat`], { encoding: 'utf8' });
  const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  const children = execFileSync('pgrep', ['-P', String(pid)], { encoding: 'utf8' })
    .trim()
    .split('\n')
    .sort();
  return { pid, start, children };
}

/** The httpd parents serving `sr`: processes naming it on their command line whose parent does not. */
async function httpdParents(sr: string): Promise<number[]> {
  const cmd = async (pid: string) =>
    (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
  const out: number[] = [];
  for (const pid of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const argv = await cmd(pid);
    if (!/apache2|httpd/.test(argv[0] ?? '') || !argv.includes(sr)) continue;
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const ppid = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1] ?? '';
    if (!(await cmd(ppid)).includes(sr)) out.push(Number(pid));
  }
  return out.sort((a, b) => a - b);
}

describe('sandbox create: idempotent, --check, --diff', () => {
  it('check (nothing made) → create (changed) → create again (changed false, nothing touched) → another port (exit 2, says what differs)', async () => {
    const { work, sr, port, run } = await setup('apxs-ts-idem-create-');
    const before = await tree(work);
    const check = await run(['sandbox', 'create', sr, '--port', String(port), '--check', '--diff']);
    expect(check.code, check.stdout).toBe(0);
    expect(check.json).toMatchObject({ changed: true, check: true });
    expect(await tree(work)).toEqual(before);
    await expect(fs.lstat(sr)).rejects.toThrow();
    const conf = path.join(sr, 'conf', 'httpd.conf');
    const checkConf = check.json.diff.find(
      (d: { after_header: string }) => d.after_header === conf,
    );
    expect(checkConf.before_header).toBe('/dev/null');
    expect(checkConf.after).toContain(`Listen 127.0.0.1:${port}`);

    const first = await run(['sandbox', 'create', sr, '--port', String(port), '--diff']);
    expect(first.code, first.stdout).toBe(0);
    expect(first.json.changed).toBe(true);
    expect(first.json.check).toBeUndefined();
    // --check said what the real run then did: the same files, the same bytes.
    expect(first.json.diff).toEqual(check.json.diff);
    expect(await fs.readFile(conf, 'utf8')).toBe(checkConf.after);

    const settled = await tree(work);
    const again = await run(['sandbox', 'create', sr, '--port', String(port), '--diff']);
    expect(again.code, again.stdout).toBe(0);
    expect(again.json).toMatchObject({ changed: false, diff: [], files: [] });
    const againCheck = await run(['sandbox', 'create', sr, '--port', String(port), '--check']);
    expect(againCheck.json.changed).toBe(false);
    expect(await tree(work)).toEqual(settled);

    const other = await run(['sandbox', 'create', sr, '--port', String(port + 1)]);
    expect(other.code, other.stdout).toBe(2);
    expect(other.json.error.code).toBe('SANDBOX_DIFFERS');
    expect(other.json.error.message).toContain(`port ${port} (asked ${port + 1})`);
    expect(await tree(work)).toEqual(settled);
  }, 60_000);

  it('killed (kill -9 by failpoint) after the marker, and after the first file: the rerun completes it (changed), the next is changed false', async () => {
    for (const point of ['sandbox-create:after-marker', 'sandbox-create:after-file@1']) {
      const { work, sr, port, run } = await setup('apxs-ts-idem-kill-');
      const mark = path.join(work, 'mark');
      const killed = await run(['sandbox', 'create', sr, '--port', String(port)], {
        APXS_TS_FAILPOINT: point,
        APXS_TS_FAILPOINT_MARK: mark,
      });
      expect(killed.stdout, point).toBe('');
      expect((await fs.readFile(mark, 'utf8')).trim(), point).toBe(point);
      await fs.rm(mark);
      const conf = path.join(sr, 'conf', 'httpd.conf');
      const mime = path.join(sr, 'conf', 'mime.types');
      const missing = [];
      for (const f of [conf, mime, path.join(sr, 'htdocs', 'index.html')])
        if (!(await fs.lstat(f).catch(() => undefined))) missing.push(f);
      expect(missing.length, point).toBeGreaterThan(0);

      const check = await run(['sandbox', 'create', sr, '--port', String(port), '--check']);
      expect(check.json.changed, point).toBe(true);
      expect([...check.json.files].sort(), point).toEqual([...missing].sort());
      const rerun = await run(['sandbox', 'create', sr, '--port', String(port)]);
      expect(rerun.code, `${point}: ${rerun.stdout}`).toBe(0);
      expect(rerun.json.changed, point).toBe(true);
      expect([...rerun.json.files].sort(), point).toEqual([...missing].sort());
      const list = JSON.parse(
        await fs.readFile(path.join(work, 'cache', 'apxs-ts', 'sandboxes.json'), 'utf8'),
      );
      expect(
        list.entries.map((e: { root: string }) => e.root),
        point,
      ).toEqual([sr]);

      const settled = await tree(work);
      const third = await run(['sandbox', 'create', sr, '--port', String(port)]);
      expect(third.json.changed, point).toBe(false);
      expect(await tree(work), point).toEqual(settled);
      // And it serves: the completed sandbox is a whole one.
      roots.push(sr);
      expect((await run(['ctl', 'start', '--server-root', sr])).code, point).toBe(0);
      expect((await get(`http://127.0.0.1:${port}/`)).status, point).toBe(200);
      expect((await run(['ctl', 'stop', '--server-root', sr])).json.changed, point).toBe(true);
    }
  }, 120_000);
});

describe('human output under --check --diff', () => {
  it('the msg is one line on stderr, the unified diffs are on stdout; nothing made', async () => {
    const { work, sr, port } = await setup('apxs-ts-idem-human-');
    const r = await cli(['sandbox', 'create', sr, '--port', String(port), '--check', '--diff'], {
      cwd: work,
      env: { XDG_CACHE_HOME: path.join(work, 'cache') },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.split('\n')[0]).toBe(`(check) would create sandbox ${sr} (3 file(s))`);
    expect(r.stdout).toContain(
      `--- /dev/null\n+++ ${path.join(sr, 'conf', 'httpd.conf')}\n@@ -0,0 +1,`,
    );
    expect(r.stdout).toContain(`+Listen 127.0.0.1:${port}\n`);
    await expect(fs.lstat(sr)).rejects.toThrow();
  });
});

describe('sandbox remove: idempotent, --check', () => {
  it('check (nothing gone, httpd not signalled) → remove → remove again (exit 0, changed false); a directory that is no sandbox is still refused', async () => {
    const { work, sr, port, run } = await setup('apxs-ts-idem-remove-');
    expect((await run(['sandbox', 'create', sr, '--port', String(port)])).code).toBe(0);
    roots.push(sr);
    const up = await run(['ctl', 'start', '--server-root', sr]);
    expect(up.code, up.stdout).toBe(0);
    const id = httpdIdentity(up.json.pid);
    const skipLogs = (rel: string) => rel.startsWith(path.join('srv', 'logs'));
    const before = await tree(work, skipLogs);

    const check = await run(['sandbox', 'remove', sr, '--check', '--diff']);
    expect(check.code, check.stdout).toBe(0);
    expect(check.json).toMatchObject({ changed: true, check: true, stopped: up.json.pid });
    expect(check.json.removed).toEqual([sr]);
    const conf = path.join(sr, 'conf', 'httpd.conf');
    expect(
      check.json.diff.find((d: { before_header: string }) => d.before_header === conf),
    ).toMatchObject({ after_header: '/dev/null' });
    expect(await tree(work, skipLogs)).toEqual(before);
    expect(httpdIdentity(up.json.pid)).toEqual(id);

    const real = await run(['sandbox', 'remove', sr, '--diff']);
    expect(real.code, real.stdout).toBe(0);
    expect(real.json).toMatchObject({ changed: true, removed: [sr], stopped: up.json.pid });
    expect(real.json.diff).toEqual(check.json.diff);
    await expect(fs.lstat(sr)).rejects.toThrow();

    const settled = await tree(work);
    const again = await run(['sandbox', 'remove', sr]);
    expect(again.code, again.stdout).toBe(0);
    expect(again.json).toMatchObject({ changed: false, removed: [], stopped: null });
    expect((await run(['sandbox', 'remove', sr, '--check'])).json.changed).toBe(false);
    expect(await tree(work)).toEqual(settled);

    const notOurs = path.join(work, 'mine');
    await fs.mkdir(notOurs);
    await fs.writeFile(path.join(notOurs, 'notes.txt'), 'mine');
    const refused = await run(['sandbox', 'remove', notOurs]);
    expect(refused.code).toBe(2);
    expect(await fs.readFile(path.join(notOurs, 'notes.txt'), 'utf8')).toBe('mine');
  }, 60_000);
});

describe('ctl start/stop/graceful/restart: idempotent, --check signals nothing', () => {
  it('start --check on a stopped root starts nothing; start; start again touches no file; graceful/stop --check signal nothing; stop twice exits 0', async () => {
    const { work, sr, port, run } = await setup('apxs-ts-idem-ctl-');
    expect((await run(['sandbox', 'create', sr, '--port', String(port)])).code).toBe(0);
    roots.push(sr);
    const ctl = (verb: string, ...more: string[]) =>
      run(['ctl', verb, '--server-root', sr, ...more]);
    const stoppedTree = await tree(work);

    const startCheck = await ctl('start', '--check', '--diff');
    expect(startCheck.json).toMatchObject({ changed: true, check: true, diff: [] });
    expect(await tree(work)).toEqual(stoppedTree);
    expect((await cli(['ctl', 'status', '--server-root', sr])).code).toBe(3);

    const start = await ctl('start');
    expect(start.code, start.stdout).toBe(0);
    expect(start.json).toMatchObject({ changed: true });
    const id = httpdIdentity(start.json.pid);

    // httpd writes its own access_log for the health probe: that file is the server's, not a write of apxs-ts.
    const notAccessLog = (rel: string) => rel === path.join('srv', 'logs', 'access_log');
    const running = await tree(work, notAccessLog);
    for (const args of [['--check'], []]) {
      const again = await ctl('start', ...args);
      expect(again.code, again.stdout).toBe(0);
      expect(again.json).toMatchObject({
        changed: false,
        alreadyRunning: true,
        pid: start.json.pid,
      });
    }
    expect(await tree(work, notAccessLog)).toEqual(running);
    expect(httpdIdentity(start.json.pid)).toEqual(id);

    for (const verb of ['graceful', 'restart', 'stop']) {
      const check = await ctl(verb, '--check');
      expect(check.code, check.stdout).toBe(0);
      expect(check.json, verb).toMatchObject({ changed: true, check: true, pid: start.json.pid });
    }
    expect(await tree(work, notAccessLog)).toEqual(running);
    expect(httpdIdentity(start.json.pid)).toEqual(id);

    const graceful = await ctl('graceful');
    expect(graceful.json).toMatchObject({ changed: true, pid: start.json.pid });
    const stop = await ctl('stop');
    expect(stop.json).toMatchObject({ changed: true, pid: start.json.pid });

    const stoppedAgain = await tree(work);
    const stop2 = await ctl('stop');
    expect(stop2.code, stop2.stdout).toBe(0);
    expect(stop2.json).toMatchObject({ changed: false, msg: 'httpd is not running' });
    expect((await ctl('stop', '--check')).json.changed).toBe(false);
    expect((await ctl('graceful-stop')).json.changed).toBe(false);
    expect(await tree(work)).toEqual(stoppedAgain);
    // status keeps its own contract: not running is exit 3.
    expect((await cli(['ctl', 'status', '--server-root', sr])).code).toBe(3);

    // restart on a stopped server starts it (as Ansible's service module does for state=restarted).
    const restartCheck = await ctl('restart', '--check');
    expect(restartCheck.json).toMatchObject({
      changed: true,
      msg: 'httpd is not running: would start it',
    });
    expect(await tree(work)).toEqual(stoppedAgain);
    const restarted = await ctl('restart');
    expect(restarted.code, restarted.stdout).toBe(0);
    expect(restarted.json.changed).toBe(true);
    expect((await get(`http://127.0.0.1:${port}/`)).status).toBe(200);
    expect((await ctl('stop')).json.changed).toBe(true);
  }, 120_000);

  it('start --check on a broken config fails as the real start does (CONFIG_BROKEN, exit 1), nothing started', async () => {
    const { sr, port, run } = await setup('apxs-ts-idem-broken-');
    expect((await run(['sandbox', 'create', sr, '--port', String(port)])).code).toBe(0);
    roots.push(sr);
    await fs.appendFile(path.join(sr, 'conf', 'httpd.conf'), 'NoSuchDirective on\n');
    for (const more of [['--check'], []]) {
      const r = await run(['ctl', 'start', '--server-root', sr, ...more]);
      expect([r.code, r.json?.error?.code], String(more)).toEqual([1, 'CONFIG_BROKEN']);
    }
    expect(await httpdParents(sr)).toEqual([]);
  }, 60_000);

  it('two `ctl start` at once on a stopped root, 5 rounds: one starts httpd (changed true), the other finds it (changed false), both exit 0; 0 double starts', async () => {
    const { sr, port, run } = await setup('apxs-ts-idem-race-');
    expect((await run(['sandbox', 'create', sr, '--port', String(port)])).code).toBe(0);
    roots.push(sr);
    let doubles = 0;
    for (let round = 0; round < 5; round++) {
      const both = await Promise.all([0, 1].map(() => run(['ctl', 'start', '--server-root', sr])));
      for (const r of both) expect(r.code, r.stdout).toBe(0);
      const changed = both.map((r) => r.json.changed).sort();
      if (changed[0] !== false || changed[1] !== true) doubles++;
      expect(changed, `round ${round}`).toEqual([false, true]);
      expect(both[0]!.json.pid).toBe(both[1]!.json.pid);
      expect(await httpdParents(sr), `round ${round}`).toEqual([both[0]!.json.pid]);
      expect((await run(['ctl', 'stop', '--server-root', sr])).json.changed).toBe(true);
    }
    expect(doubles).toBe(0);
  }, 180_000);
});
