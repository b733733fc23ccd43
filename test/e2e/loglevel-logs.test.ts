/**
 * Log levels and log reading on the real httpd: `ctl loglevel debug --module
 * NAME` makes the handler template's "handling declined" debug line appear
 * (2.4's per-module LogLevel, in a marked block, the server reloaded), `ctl
 * logs --module NAME` shows only that module's lines, `ctl logs --access`
 * the access log; before 2.4 the level is the global one.
 */
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, cli, get, newSandbox } from '../helpers.js';
import { withBuiltHttpd } from '../series-builds.js';

const started: string[] = [];
afterAll(async () => {
  for (const sr of started) await cli(['ctl', 'stop', '--server-root', sr]);
});

const NAME = 'lvl';

/** A sandbox running the handler template's module. */
async function handlerSandbox(): Promise<{ sr: string; port: number; conf: string }> {
  const { work, sr, port } = await newSandbox();
  const made = await cli(['new', NAME, '--template', 'handler'], { cwd: work });
  expect(made.code, made.stderr).toBe(0);
  const dir = path.join(work, `mod_${NAME}`);
  const built = await cli(['build', dir, '--server-root', sr]);
  expect(built.code, built.stderr).toBe(0);
  const inst = await cli(['install', dir, '--server-root', sr]);
  expect(inst.code, inst.stderr).toBe(0);
  const start = await cli(['ctl', 'start', '--server-root', sr]);
  expect(start.code, start.stderr).toBe(0);
  started.push(sr);
  return { sr, port, conf: path.join(sr, 'conf', 'httpd.conf') };
}

/** Requests a URL the module declines until the error log says so (a reload's old children may serve the first ones). */
async function declinedLogged(sr: string, port: number, ms = 10_000): Promise<boolean> {
  const log = path.join(sr, 'logs', 'error_log');
  for (const end = Date.now() + ms; Date.now() < end; ) {
    await get(`http://127.0.0.1:${port}/index.html`);
    await new Promise((r) => setTimeout(r, 100));
    if ((await fs.readFile(log, 'utf8')).includes('handling declined')) return true;
  }
  return false;
}

describe('ctl loglevel and ctl logs', () => {
  it('loglevel debug --module makes the handler\'s "handling declined" line appear; logs --module shows only its lines', async () => {
    const { sr, port, conf } = await handlerSandbox();
    const before = await fs.readFile(conf, 'utf8');
    // The sandbox logs at warn: the module's debug line is not written.
    expect(await declinedLogged(sr, port, 600)).toBe(false);

    const set = await cli([
      'ctl',
      'loglevel',
      'debug',
      '--module',
      NAME,
      '--json',
      '--server-root',
      sr,
    ]);
    expect(set.code, set.stdout + set.stderr).toBe(0);
    expect(set.json).toMatchObject({
      series: '2.4',
      lines: [`LogLevel ${NAME}:debug`],
      reloaded: true,
      changed: true,
      files: [conf],
      restart_required: false,
    });
    const text = await fs.readFile(conf, 'utf8');
    expect(text).toContain(
      `# BEGIN apxs-ts loglevel\nLogLevel ${NAME}:debug\n# END apxs-ts loglevel\n`,
    );
    // At the end: after the shipped `LogLevel warn`, which would reset a per-module level.
    expect(text.endsWith('# END apxs-ts loglevel\n')).toBe(true);
    expect(await declinedLogged(sr, port)).toBe(true);

    const all = (await fs.readFile(path.join(sr, 'logs', 'error_log'), 'utf8'))
      .split('\n')
      .filter(Boolean);
    expect(all.some((l) => !l.includes(`[${NAME}:`))).toBe(true); // other modules' lines are there (AH00489 ...)
    const logs = await cli([
      'ctl',
      'logs',
      '--module',
      NAME,
      '-n',
      '500',
      '--json',
      '--server-root',
      sr,
    ]);
    expect(logs.code, logs.stderr).toBe(0);
    expect(logs.json.lines.length).toBeGreaterThan(0);
    for (const l of logs.json.lines)
      expect(l).toMatch(new RegExp(`\\[${NAME}:debug\\].*handling declined`));
    expect(logs.json.lines).toEqual(all.filter((l) => l.includes(`[${NAME}:`)).slice(-500));
    const human = await cli([
      'ctl',
      'logs',
      '--module',
      `mod_${NAME}`,
      '-n',
      '1',
      '--server-root',
      sr,
    ]);
    expect(human.stdout.trim().split('\n')).toHaveLength(1);
    expect(human.stdout).toContain('handling declined');

    // --follow --module: only the module's new lines, as they are written; a reload's notice lines are left out.
    const follow = spawn(
      process.execPath,
      [CLI, 'ctl', 'logs', '--follow', '--module', NAME, '-n', '1', '--server-root', sr],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let followed = '';
    follow.stdout.on('data', (b: Buffer) => (followed += b.toString()));
    try {
      // Its first line (the -n 1 tail) says it runs; lines written after that tail are followed.
      for (const end = Date.now() + 10_000; followed === '' && Date.now() < end; )
        await new Promise((r) => setTimeout(r, 50));
      const seen = followed.length;
      expect((await cli(['ctl', 'graceful', '--server-root', sr])).code).toBe(0); // writes [mpm_event:notice] lines
      for (const end = Date.now() + 10_000; followed.length === seen && Date.now() < end; ) {
        await get(`http://127.0.0.1:${port}/index.html`);
        await new Promise((r) => setTimeout(r, 250));
      }
    } finally {
      follow.kill('SIGINT');
    }
    const log = await fs.readFile(path.join(sr, 'logs', 'error_log'), 'utf8');
    expect(log).toMatch(/AH00493|SIGUSR1 received/);
    const followedLines = followed.split('\n').filter(Boolean);
    expect(followedLines.length).toBeGreaterThan(1);
    for (const l of followedLines) expect(l).toMatch(new RegExp(`\\[${NAME}:debug\\]`));

    // A second module's level joins the first; --reset --module takes one out; --reset all of them, byte for byte.
    const two = await cli([
      'ctl',
      'loglevel',
      'info',
      '--module',
      'mod_dir',
      '--no-reload',
      '--json',
      '--server-root',
      sr,
    ]);
    expect(two.json.lines).toEqual([`LogLevel ${NAME}:debug`, 'LogLevel dir:info']);
    expect(two.json.reloaded).toBe(false);
    const global = await cli([
      'ctl',
      'loglevel',
      'notice',
      '--no-reload',
      '--json',
      '--server-root',
      sr,
    ]);
    expect(global.json.lines).toEqual([
      'LogLevel notice',
      `LogLevel ${NAME}:debug`,
      'LogLevel dir:info',
    ]);
    const one = await cli([
      'ctl',
      'loglevel',
      '--reset',
      '--module',
      'dir',
      '--no-reload',
      '--json',
      '--server-root',
      sr,
    ]);
    expect(one.json.lines).toEqual(['LogLevel notice', `LogLevel ${NAME}:debug`]);
    const reset = await cli(['ctl', 'loglevel', '--reset', '--json', '--server-root', sr]);
    expect(reset.code, reset.stdout).toBe(0);
    expect(reset.json.lines).toEqual([]);
    expect(await fs.readFile(conf, 'utf8')).toBe(before);
  });

  it('logs --access reads the access log', async () => {
    const { sr, port } = await handlerSandbox();
    await get(`http://127.0.0.1:${port}/index.html?access-test`);
    await new Promise((r) => setTimeout(r, 100));
    const r = await cli(['ctl', 'logs', '--access', '--json', '--server-root', sr]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json.file).toBe(path.join(sr, 'logs', 'access_log'));
    expect(r.json.lines.at(-1)).toContain('"GET /index.html?access-test HTTP/1.1" 200');
  });

  it('refuses a level the series has not got (exit 2), and an unknown module as httpd does (rolled back)', async () => {
    const { sr, conf } = await handlerSandbox();
    const before = await fs.readFile(conf, 'utf8');
    const bad = await cli(['ctl', 'loglevel', 'loud', '--json', '--server-root', sr]);
    expect(bad.code).toBe(2);
    expect(bad.json.error.hint).toContain('trace8');
    const unknown = await cli([
      'ctl',
      'loglevel',
      'debug',
      '--module',
      'no_such_module',
      '--json',
      '--server-root',
      sr,
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.json.error.code).toBe('CONFIG_BROKEN');
    expect(await fs.readFile(conf, 'utf8')).toBe(before);
    const none = await cli(['ctl', 'loglevel', '--json', '--server-root', sr]);
    expect(none.code).toBe(2);
  });

  it('before 2.4 (2.2.34) --module sets the global level and says so; --reset restores the config', async () => {
    await withBuiltHttpd('2.2.34', async ({ prefix }) => {
      const conf = path.join(prefix, 'conf', 'httpd.conf');
      const before = await fs.readFile(conf, 'utf8');
      try {
        const r = await cli([
          'ctl',
          'loglevel',
          'debug',
          '--module',
          'foo',
          '--json',
          '--server-root',
          prefix,
        ]);
        expect(r.code, r.stdout).toBe(0);
        expect(r.json).toMatchObject({ series: '2.2', lines: ['LogLevel debug'], reloaded: false });
        expect(r.json.warnings[0]).toContain('per-module levels came with 2.4');
        const trace = await cli(['ctl', 'loglevel', 'trace1', '--json', '--server-root', prefix]);
        expect(trace.code).toBe(2);
        const reset = await cli(['ctl', 'loglevel', '--reset', '--json', '--server-root', prefix]);
        expect(reset.code, reset.stdout).toBe(0);
        expect(await fs.readFile(conf, 'utf8')).toBe(before);
      } finally {
        await fs.writeFile(conf, before);
      }
    });
  });
});
