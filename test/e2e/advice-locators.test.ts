/**
 * Issue #18 item 1: every hint that names an apxs-ts command keeps the
 * options that located what it acts on. Each row triggers one hint-producing
 * path with a private hosts file and a server root given by option, takes the
 * command out of the hint as printed, and runs it literally through a shell,
 * from a directory with no apxs-ts.json and with $APXS_TS_HOSTS_FILE pointing
 * nowhere: a dropped --hosts-file or --server-root fails instead of finding
 * the real /etc/hosts or another server. httpd's answer is checked after.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, cli, get, newSandbox, tmpDir } from '../helpers.js';

const roots: string[] = [];
afterAll(async () => {
  for (const sr of roots) await cli(['ctl', 'stop', '--server-root', sr]);
});

/** The first `apxs-ts ...` command in a hint, up to a backtick, comma, semicolon or " shows". */
function commandIn(hint: string): string {
  const m = /apxs-ts [^`,;]*/.exec(hint);
  if (!m) throw new Error(`no apxs-ts command in ${JSON.stringify(hint)}`);
  return m[0].replace(/ (shows|ends|starts|for every).*$/, '').trim();
}

/** Runs a hint's command line through sh, `apxs-ts` being the built CLI, from `cwd`. */
async function follow(line: string, cwd: string): Promise<{ code: number; out: string }> {
  const bin = await tmpDir('apxs-ts-advice-bin-');
  await fs.writeFile(
    path.join(bin, 'apxs-ts'),
    `#!/bin/sh\nexec ${process.execPath} ${CLI} "$@"\n`,
    { mode: 0o755 },
  );
  return new Promise((resolve) => {
    execFile(
      'sh',
      ['-c', line],
      {
        cwd,
        env: {
          ...process.env,
          PATH: `${bin}:${process.env.PATH}`,
          APXS_TS_HOSTS_FILE: '/nonexistent/apxs-ts-advice-hosts',
          APXS_TS_SERVER_ROOT: '',
        },
      },
      (err, stdout, stderr) =>
        resolve({
          code: err ? (typeof err.code === 'number' ? err.code : 1) : 0,
          out: stdout + stderr,
        }),
    );
  });
}

async function setup() {
  const s = await newSandbox(roots);
  const hosts = path.join(s.work, 'hosts');
  await fs.writeFile(hosts, '127.0.0.1 localhost\n');
  const elsewhere = await tmpDir('apxs-ts-advice-cwd-');
  return { ...s, hosts, elsewhere };
}

describe('hints keep --hosts-file, --server-root and --config (#18 item 1)', () => {
  it('table: every hint-producing path, its command followed literally', async () => {
    const { sr, port, hosts, work, elsewhere } = await setup();
    const loc = ['--server-root', sr, '--hosts-file', hosts];
    const page = async (host: string) =>
      await get(`http://127.0.0.1:${port}/`, { Host: host }).catch(() => ({ status: 0, body: '' }));
    const rows: { path: string; hint: string; wants: string[] }[] = [];

    // ctl status on a stopped server -> "start it with `apxs-ts ctl start --server-root SR`"
    const status = await cli(['ctl', 'status', ...loc.slice(0, 2), '--json']);
    expect(status.code).toBe(3);
    rows.push({
      path: 'ctl status (not running)',
      hint: status.json.error.hint,
      wants: ['--server-root'],
    });
    const started = await follow(commandIn(status.json.error.hint), elsewhere);
    expect(started.code, started.out).toBe(0);
    expect((await page('localhost')).status).toBe(200);

    // vhost add, then a name only the vhost knows: vhost check's fix maps it
    expect((await cli(['vhost', 'add', 'one.dd', '--alias', 'www.one.dd', ...loc])).code).toBe(0);
    await fs.writeFile(hosts, '127.0.0.1 localhost one.dd\n'); // the user's own line, without www.one.dd
    const check = await cli(['vhost', 'check', ...loc, '--json']);
    const unresolved = check.json.findings.find(
      (f: { code: string }) => f.code === 'NAME_NOT_RESOLVED',
    );
    expect(unresolved.fix).toBe(`apxs-ts hosts add www.one.dd --hosts-file ${hosts}`);
    rows.push({
      path: 'vhost check NAME_NOT_RESOLVED',
      hint: unresolved.fix,
      wants: ['--hosts-file'],
    });
    const etcBefore = await fs.readFile('/etc/hosts', 'utf8');
    const added = await follow(commandIn(unresolved.fix), elsewhere);
    expect(added.code, added.out).toBe(0);
    expect(await fs.readFile('/etc/hosts', 'utf8')).toBe(etcBefore);
    expect(await fs.readFile(hosts, 'utf8')).toContain('127.0.0.1 www.one.dd');
    expect((await cli(['vhost', 'check', ...loc, '--json'])).code).toBe(0);
    expect((await cli(['ctl', 'graceful', '--server-root', sr])).code).toBe(0);
    expect((await page('www.one.dd')).body).toContain('<h1>one.dd</h1>');

    // a vhost on 127.0.0.2 whose name the hosts file maps to 127.0.0.1 -> "hosts add NAME --ip 127.0.0.2 --hosts-file H"
    const wrongConf = path.join(work, 'wrong.conf');
    await fs.writeFile(
      wrongConf,
      `Listen 127.0.0.2:${port}\n<VirtualHost 127.0.0.2:${port}>\n  ServerName one.dd\n</VirtualHost>\n`,
    );
    const wrong = await cli([
      'vhost',
      'check',
      '--config',
      wrongConf,
      '--hosts-file',
      hosts,
      '--httpd-version',
      '2.4',
      '--json',
    ]);
    const wa = wrong.json.findings.find((f: { code: string }) => f.code === 'NAME_WRONG_ADDRESS');
    rows.push({ path: 'vhost check NAME_WRONG_ADDRESS', hint: wa.fix, wants: ['--hosts-file'] });

    // httpd -S refuses a --config file -> "then run apxs-ts vhost check --server-root SR --hosts-file H --config C again"
    const broken = path.join(work, 'broken.conf');
    await fs.writeFile(
      broken,
      `${await fs.readFile(path.join(sr, 'conf', 'httpd.conf'), 'utf8')}\nNoSuchDirective here\n`,
    );
    const rej = await cli(['vhost', 'check', ...loc, '--config', broken, '--json']);
    const rejected = rej.json.findings.find(
      (f: { code: string }) => f.code === 'HTTPD_REJECTS' || f.code === 'SYNTAX',
    );
    const rerun =
      rej.json.findings.find((f: { code: string }) => f.code === 'HTTPD_REJECTS') ?? rejected;
    rows.push({
      path: 'vhost check HTTPD_REJECTS',
      hint: rerun.fix,
      wants: ['--server-root', '--hosts-file', '--config'],
    });
    const again = await follow(commandIn(rerun.fix.replace(/ again$/, '')), elsewhere);
    expect(again.code, again.out).toBe(1); // still broken: the same file was checked
    expect(again.out).toContain('NoSuchDirective');

    // vhost remove of a vhost apxs-ts did not make: since #23 that is "already absent" (exit 0,
    // changed: false, as Ansible's state=absent needs), so no hint to follow; the root is kept.
    const rm = await cli(['vhost', 'remove', 'nobody.dd', ...loc, '--json']);
    expect(rm.code, rm.stderr).toBe(0);
    expect(rm.json).toMatchObject({ changed: false, alreadyAbsent: true });
    const listed = await cli(['vhost', 'list', ...loc, '--json']);
    expect(listed.code).toBe(0);
    expect(listed.json.vhosts.map((v: { serverName: string }) => v.serverName)).toEqual(['one.dd']);

    // query of an unknown name -> "run `apxs-ts query --json --server-root SR` for every name it knows"
    const q = await cli(['query', 'NO_SUCH_VAR', '--server-root', sr, '--json']);
    expect(q.code).toBe(2);
    rows.push({ path: 'query (unknown name)', hint: q.json.error.hint, wants: ['--server-root'] });
    const all = await follow(commandIn(q.json.error.hint), elsewhere);
    expect(all.code, all.out).toBe(0);
    expect(JSON.parse(all.out).vars.INCLUDEDIR).toBeTruthy();

    // new --server-root -> "next: cd DIR && apxs-ts build --server-root SR && apxs-ts install --server-root SR"
    const made = await cli(['new', 'mod_advice', '--dir', work, '--server-root', sr]);
    expect(made.code, made.stderr).toBe(0);
    const next = /next: (cd .*), then open/.exec(made.stderr)![1]!;
    rows.push({ path: 'new (next step)', hint: next.split('&&')[2]!, wants: ['--server-root'] });
    const built = await follow(next, elsewhere);
    expect(built.code, built.out).toBe(0);
    expect((await cli(['ctl', 'graceful', '--server-root', sr])).code).toBe(0);
    expect((await page('localhost')).status).toBe(200);

    // The table: each path's command carries every option it needs, with this test's values.
    const values: Record<string, string> = {
      '--server-root': sr,
      '--hosts-file': hosts,
      '--config': broken,
    };
    for (const r of rows) {
      for (const w of r.wants) expect(commandIn(r.hint), r.path).toContain(`${w} ${values[w]}`);
    }
    expect(rows.length).toBe(6); // vhost remove of an absent vhost is no longer an error (#23)
  });
});
