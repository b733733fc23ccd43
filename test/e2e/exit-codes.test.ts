/**
 * Bad input exits 2, the same way in every command: a path the user named
 * that does not exist (commands/paths.ts), and a bad value for any numeric
 * option (one parser: lib/core/numbers.ts via commands/options.ts). Each row:
 * exit 2, one line naming the value, and nothing on disk changed (the named
 * path is not created, the sandbox and hosts file are byte-identical).
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, freePort, tmpDir } from '../helpers.js';

let work: string;
let S: string;
let H: string;
let env: Record<string, string>;

/**
 * Every file below `dir` with the hash of its bytes (symlinks by target), and
 * every directory; not the per-user cache dir (caches are written there by
 * design).
 */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const walk = async (rel: string) => {
    for (const n of await fs.readdir(path.join(dir, rel))) {
      if (rel === '' && n === 'cache') continue;
      const r = path.join(rel, n);
      const st = await fs.lstat(path.join(dir, r));
      if (st.isDirectory()) {
        out[`${r}/`] = 'dir';
        await walk(r);
      } else {
        out[r] = st.isSymbolicLink()
          ? `-> ${await fs.readlink(path.join(dir, r))}`
          : createHash('sha256')
              .update(await fs.readFile(path.join(dir, r)))
              .digest('hex');
      }
    }
  };
  await walk('');
  return out;
}

beforeAll(async () => {
  work = await tmpDir('apxs-ts-exitcodes-');
  env = { XDG_CACHE_HOME: path.join(work, 'cache') };
  S = path.join(work, 'srv');
  H = path.join(work, 'hosts');
  await fs.writeFile(H, '127.0.0.1 localhost\n');
  const r = await cli(
    ['sandbox', 'create', S, '--port', String(await freePort()), '--no-project'],
    { env },
  );
  expect(r.code, r.stderr).toBe(0);
});

/** Runs rows a few at a time (the machine is shared). */
async function each<T>(rows: T[], fn: (row: T) => Promise<void>, width = 4): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < rows.length) await fn(rows[next++]!);
    }),
  );
}

const CTL = [
  'start',
  'stop',
  'graceful-stop',
  'restart',
  'graceful',
  'status',
  'configtest',
  'logs',
  'loglevel',
];

describe('a path named on the command line that does not exist: exit 2, for every command', () => {
  it('each row exits 2 with one line naming the path; no path is created, no file changed', async () => {
    const before = await snapshot(work);
    let n = 0;
    const missing = () => path.join(work, `missing-${n++}`, 'x');
    const rows: string[][] = [];
    const add = (make: (m: string) => string[]) => rows.push(make(missing()));
    add((m) => ['build', m, '--server-root', S]);
    add((m) => ['install', m, '--server-root', S]);
    add((m) => ['dev', m, '--server-root', S]);
    add((m) => ['makefile', 'check', m]);
    add((m) => ['makefile', 'fix', m]);
    add((m) => ['uninstall', 'info', '--server-root', m]);
    add((m) => ['new', 'mod_zz', '--dir', m]);
    add((m) => ['query', '--server-root', m]);
    add((m) => ['doctor', '--server-root', m, '--hosts-file', H]);
    for (const c of CTL)
      add((m) => ['ctl', c, ...(c === 'loglevel' ? ['info'] : []), '--server-root', m]);
    for (const c of ['add', 'remove', 'list'])
      add((m) => ['hosts', c, ...(c === 'list' ? [] : ['a.dd']), '--hosts-file', m]);
    add((m) => ['vhost', 'add', 'a.dd', '--server-root', m, '--hosts-file', H]);
    add((m) => ['vhost', 'add', 'a.dd', '--server-root', S, '--hosts-file', m]);
    add((m) => ['vhost', 'remove', 'a.dd', '--server-root', m, '--hosts-file', H]);
    add((m) => ['vhost', 'list', '--server-root', m]);
    add((m) => ['vhost', 'check', '--server-root', m]);
    add((m) => ['vhost', 'check', '--config', m]);
    // Not `sandbox remove MISSING`: absent is what it is asked to reach (exit 0, changed false, #23).
    add((m) => ['source', 'verify', m]);
    // The --opt=value form, and a relative path (resolved against the working directory, named as typed).
    add((m) => ['ctl', 'status', `--server-root=${m}`]);
    add((m) => ['install', path.relative(work, m), '--server-root', S]);
    const wrong: string[] = [];
    await each(rows, async (args) => {
      const named = args.find((a) => a.includes('missing-'))!.replace(/^--[a-z-]+=/, '');
      const r = await cli([...args, '--json'], { env, cwd: work });
      const e = r.json?.error;
      if (r.code !== 2 || !e || /\n/.test(e.message) || !e.message.includes(named))
        wrong.push(`${args.join(' ')} -> exit ${r.code} ${e?.code}: ${e?.message}`);
    });
    expect(wrong, wrong.join('\n')).toEqual([]);
    expect(rows.length).toBe(30);
    // Nothing was created (no missing-N dir) and nothing changed.
    expect(await snapshot(work)).toEqual(before);
  }, 180_000);

  it("something missing inside a path that exists stays NOT_FOUND, exit 1 (it is not the user's typo)", async () => {
    const dir = path.join(work, 'a-module-dir');
    await fs.mkdir(dir, { recursive: true });
    const r = await cli(['install', dir, '--server-root', S, '--json'], { env, cwd: work });
    expect(r.code, r.stdout).toBe(1);
    expect(r.json.error.code).not.toBe('BAD_PATH');
    await fs.rm(dir, { recursive: true });
  }, 30_000);
});

describe('a bad number for any numeric option: exit 2, one line naming the value', () => {
  const BAD = ['abc', '-3', '1e3', '0x10', '99999999999', '12abc'];
  it('every numeric option of every command, with 6 bad values each (and 0 where 0 means nothing)', async () => {
    const before = await snapshot(work);
    const newDir = path.join(work, 'never-made');
    const rows: { args: string[]; value: string; env?: Record<string, string> }[] = [];
    const opt = (make: (v: string) => string[], zeroIsBad: boolean) => {
      for (const v of [...BAD, ...(zeroIsBad ? ['0'] : [])]) rows.push({ args: make(v), value: v });
    };
    for (const c of CTL)
      opt(
        (v) => [
          'ctl',
          c,
          ...(c === 'loglevel' ? ['info'] : []),
          '--timeout',
          v,
          '--server-root',
          S,
        ],
        true,
      );
    opt((v) => ['ctl', 'logs', '-n', v, '--server-root', S], true);
    opt((v) => ['ctl', 'logs', `--lines=${v}`, '--server-root', S], true);
    opt((v) => ['dev', work, '--debounce', v, '--server-root', S], false);
    opt((v) => ['dev', work, '--timeout', v, '--server-root', S], true);
    opt((v) => ['build', work, '--jobs', v, '--server-root', S], true);
    opt((v) => ['source', 'build', '2.4.68', '--jobs', v, '--dry-run'], true);
    opt((v) => ['source', 'build', '2.4.68', '--port', v, '--dry-run'], true);
    opt(
      (v) => [
        'source',
        'download',
        '2.4.68',
        '--stall-timeout',
        v,
        '--mirror',
        '/nonexistent-mirror',
      ],
      true,
    );
    opt(
      (v) => ['source', 'download', '2.4.68', '--deadline', v, '--mirror', '/nonexistent-mirror'],
      true,
    );
    opt((v) => ['sandbox', 'create', newDir, '--port', v], true);
    opt((v) => ['vhost', 'add', 'n.dd', '--port', v, '--server-root', S, '--hosts-file', H], true);
    opt((v) => ['test', work, '--repeat', v], true);
    opt((v) => ['test', work, '--jobs', v], true);
    opt((v) => ['--wait', v, 'vhost', 'add', 'n.dd', '--server-root', S, '--hosts-file', H], false);
    opt((v) => ['sandbox', 'create', newDir, '--tls-port', v], true);
    opt(
      (v) => [
        'vhost',
        'add',
        'n.test',
        '--tls',
        '--tls-port',
        v,
        '--server-root',
        S,
        '--hosts-file',
        H,
      ],
      true,
    );
    opt((v) => ['tls', 'renew', '--expiring', v, '--server-root', S], false);
    for (const v of BAD)
      rows.push({
        args: ['vhost', 'add', 'n.dd', '--server-root', S, '--hosts-file', H],
        value: v,
        env: { APXS_TS_LOCK_WAIT: v },
      });
    const wrong: string[] = [];
    await each(rows, async ({ args, value, env: extra }) => {
      const r = await cli([...args, '--json'], { env: { ...env, ...extra }, cwd: work });
      const e = r.json?.error;
      if (r.code !== 2 || !e || /\n/.test(e.message) || !e.message.includes(value))
        wrong.push(
          `${args.join(' ')} ${JSON.stringify(extra ?? {})} -> exit ${r.code} ${e?.code}: ${e?.message}`,
        );
    });
    expect(wrong, wrong.join('\n')).toEqual([]);
    expect(rows.length).toBe(185);
    expect(await snapshot(work)).toEqual(before);
  }, 300_000);

  it('good values still work: ctl logs -n 3, --lines=1, --wait 0 and APXS_TS_LOCK_WAIT=5 with a free lock', async () => {
    for (const [args, extra] of [
      [['ctl', 'logs', '-n', '3'], {}],
      [['ctl', 'logs', '--lines=1'], {}],
      [['--wait', '0', 'vhost', 'list'], {}],
      [['vhost', 'list'], { APXS_TS_LOCK_WAIT: '5' }],
    ] as const) {
      const r = await cli([...args, '--server-root', S, '--json'], {
        env: { ...env, ...extra },
        cwd: work,
      });
      expect(r.code, `${args.join(' ')}: ${r.stdout}`).toBe(0);
    }
  }, 30_000);
});
