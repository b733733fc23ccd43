/**
 * `vhost check` at the CLI: httpd -S is the judge when it disagrees with our
 * reading, the series comes from the server root's httpd even with --config,
 * and a missing --config file is a bad argument. Exit codes and --json.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, cli, sandbox, tmpDir } from '../helpers.js';

const FIX = path.join(ROOT, 'fixtures', 'vhost-check');
const HOSTS = path.join(FIX, 'hosts');
/** No server root from the environment of whoever runs the tests. */
const NO_ROOT_ENV = { APXS_TS_SERVER_ROOT: '' };

/**
 * An httpd prefix whose bin/httpd is a script: `-v` says 2.2.34, `-S` prints
 * fake-S.out and exits with fake-S.exit (0 when absent).
 */
async function fakePrefix22(
  sOutput = 'VirtualHost configuration:\nSyntax OK',
  sExit = 0,
): Promise<string> {
  const prefix = path.join(await tmpDir(), 'httpd-2.2');
  await fs.mkdir(path.join(prefix, 'bin'), { recursive: true });
  await fs.mkdir(path.join(prefix, 'conf'));
  await fs.writeFile(path.join(prefix, 'conf', 'httpd.conf'), 'Listen 80\n');
  await fs.writeFile(path.join(prefix, 'fake-S.out'), sOutput + '\n');
  await fs.writeFile(path.join(prefix, 'fake-S.exit'), `${sExit}\n`);
  await fs.writeFile(
    path.join(prefix, 'bin', 'httpd'),
    [
      '#!/bin/sh',
      'here=$(dirname "$0")/..',
      'for a in "$@"; do',
      '  case "$a" in',
      '    -v) echo "Server version: Apache/2.2.34 (Unix)"; echo "Server built:   Jul  1 2017 00:00:00"; exit 0 ;;',
      '    -S) cat "$here/fake-S.out"; exit "$(cat "$here/fake-S.exit")" ;;',
      '  esac',
      'done',
      'exit 0',
    ].join('\n') + '\n',
    { mode: 0o755 },
  );
  return prefix;
}

/** A fixture config with its @@dir@@ made real (one/ and two/ exist). */
async function fixtureConfig(name: string): Promise<string> {
  const dir = await tmpDir();
  await fs.mkdir(path.join(dir, 'one'));
  await fs.mkdir(path.join(dir, 'two'));
  const file = path.join(dir, name);
  await fs.writeFile(
    file,
    (await fs.readFile(path.join(FIX, name), 'utf8')).replaceAll('@@dir@@', dir),
  );
  return file;
}

/** A sandbox run by the system's httpd 2.4, with one vhost added. */
async function sandboxWithVhost() {
  const { sr, hosts } = await sandbox();
  const added = await cli(['vhost', 'add', 'one.dd', '--server-root', sr, '--hosts-file', hosts]);
  expect(added.code, added.stderr).toBe(0);
  return { sr, hosts, vhostsFile: path.join(sr, 'conf', 'apxs-ts-vhosts.conf') };
}

describe('vhost check: httpd -S is the judge (16a)', () => {
  it("a directive httpd rejects but our reader passes: exit 1, CONFIG_BROKEN, the error at httpd's file:line", async () => {
    const { sr, hosts, vhostsFile } = await sandboxWithVhost();
    const clean = await cli(['vhost', 'check', '--server-root', sr, '--hosts-file', hosts]);
    expect(clean.code, clean.stderr).toBe(0);
    expect(clean.stdout).toContain('1 vhost(s), no problems found');
    const text = await fs.readFile(vhostsFile, 'utf8');
    await fs.writeFile(
      vhostsFile,
      text.replace('    ServerName one.dd\n', '    ServerName one.dd\n    Frobnicate on\n'),
    );
    const line = text.split('\n').findIndex((l) => l.includes('ServerName one.dd')) + 2;

    const r = await cli(['vhost', 'check', '--server-root', sr, '--hosts-file', hosts, '--json']);
    expect(r.code).toBe(1);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(r.json).toMatchObject({ ok: false, error: { code: 'CONFIG_BROKEN' } });
    expect(r.json.findings).toEqual([
      expect.objectContaining({
        code: 'HTTPD_REJECTS',
        severity: 'error',
        file: vhostsFile,
        line,
        message: expect.stringContaining("Invalid command 'Frobnicate'"),
      }),
    ]);

    const human = await cli(['vhost', 'check', '--server-root', sr, '--hosts-file', hosts]);
    expect(human.code).toBe(1);
    expect(human.stdout).not.toContain('no problems found');
    expect(human.stderr).toContain(`${vhostsFile}:${line}: error: Invalid command 'Frobnicate'`);
  });

  it('an unclosed <VirtualHost> is reported once, though both we and httpd -S see it', async () => {
    const { sr, hosts, vhostsFile } = await sandboxWithVhost();
    await fs.writeFile(
      vhostsFile,
      (await fs.readFile(vhostsFile, 'utf8')).replace('</VirtualHost>\n', ''),
    );
    const r = await cli(['vhost', 'check', '--server-root', sr, '--hosts-file', hosts, '--json']);
    expect(r.code).toBe(1);
    expect(r.json.httpdS.exitCode).toBe(1);
    expect(r.json.findings.map((f: { code: string; file: string }) => [f.code, f.file])).toEqual([
      ['SYNTAX', vhostsFile],
    ]);
  });

  it('a vhost overlap httpd -S warns about (exit 0) is a warning finding, not "no problems found"', async () => {
    const prefix = await fakePrefix22(
      '[Tue Jan 02 10:00:00 2024] [warn] _default_ VirtualHost overlap on port 80, the first has precedence\nVirtualHost configuration:\nSyntax OK',
    );
    const conf = path.join(prefix, 'conf', 'httpd.conf');
    await fs.writeFile(
      conf,
      'Listen 80\n<VirtualHost _default_:80>\n    ServerName one.dd\n</VirtualHost>\n<VirtualHost _default_:80>\n    ServerName two.dd\n</VirtualHost>\n',
    );
    const r = await cli([
      'vhost',
      'check',
      '--server-root',
      prefix,
      '--hosts-file',
      HOSTS,
      '--json',
    ]);
    expect(r.code).toBe(1);
    expect(r.json.error.code).toBe('CONFIG_BROKEN');
    expect(r.json.findings).toEqual([
      expect.objectContaining({
        code: 'HTTPD_VHOST_WARNING',
        severity: 'warning',
        file: conf,
        line: 5,
        message: '_default_ VirtualHost overlap on port 80, the first has precedence',
      }),
    ]);
  });
});

describe('vhost check --config: which httpd series (16b)', () => {
  it('--config with --server-root of a 2.2 prefix checks as 2.2: a valid 2.2 config has no problems', async () => {
    const prefix = await fakePrefix22();
    const file = await fixtureConfig('two-sites-22.conf');
    const r = await cli(
      [
        'vhost',
        'check',
        '--config',
        file,
        '--server-root',
        prefix,
        '--hosts-file',
        HOSTS,
        '--json',
      ],
      { env: NO_ROOT_ENV },
    );
    expect(r.code, JSON.stringify(r.json?.error)).toBe(0);
    expect(r.json).toMatchObject({
      ok: true,
      configFile: file,
      series: '2.2',
      seriesAssumed: false,
      findings: [],
    });
    expect(r.json.httpdS.output).toContain('VirtualHost configuration:');
  });

  it('the server root may come from APXS_TS_SERVER_ROOT; --httpd-version still overrides it', async () => {
    const prefix = await fakePrefix22();
    const file = await fixtureConfig('two-sites-22.conf');
    const env = { APXS_TS_SERVER_ROOT: prefix };
    const fromEnv = await cli(
      ['vhost', 'check', '--config', file, '--hosts-file', HOSTS, '--json'],
      { env },
    );
    expect(fromEnv.code, JSON.stringify(fromEnv.json?.error)).toBe(0);
    expect(fromEnv.json.series).toBe('2.2');
    const forced = await cli(
      [
        'vhost',
        'check',
        '--config',
        file,
        '--hosts-file',
        HOSTS,
        '--httpd-version',
        '2.4',
        '--json',
      ],
      { env },
    );
    expect(forced.code).toBe(1);
    expect(forced.json).toMatchObject({ series: '2.4', seriesAssumed: false });
    expect(forced.json.findings.map((f: { code: string }) => f.code)).toContain(
      'NAMEVIRTUALHOST_ON_24',
    );
  });

  it('without a server root or --httpd-version, the output says 2.4 was assumed', async () => {
    const file = await fixtureConfig('duplicate-name.conf');
    const cwd = await tmpDir();
    const r = await cli(['vhost', 'check', '--config', file, '--hosts-file', HOSTS, '--json'], {
      cwd,
      env: NO_ROOT_ENV,
    });
    expect(r.code).toBe(1);
    expect(r.json).toMatchObject({ series: '2.4', seriesAssumed: true });
    const human = await cli(['vhost', 'check', '--config', file, '--hosts-file', HOSTS], {
      cwd,
      env: NO_ROOT_ENV,
    });
    expect(human.stderr).toContain('checked as httpd 2.4, assumed');
    const ok = await fixtureConfig('two-sites-22.conf');
    const given = await cli(
      ['vhost', 'check', '--config', ok, '--hosts-file', HOSTS, '--httpd-version', '2.2'],
      { cwd, env: NO_ROOT_ENV },
    );
    expect(given.code, given.stderr).toBe(0);
    expect(given.stdout).not.toContain('assumed');
  });
});

describe('vhost check --config of a file that is not there (17)', () => {
  it('is a bad argument naming the file: exit 2, BAD_INPUT, no errno text, no stack', async () => {
    const cwd = await tmpDir();
    const missing = path.join(cwd, 'missing.conf');
    const r = await cli(
      ['vhost', 'check', '--config', 'missing.conf', '--hosts-file', HOSTS, '--json'],
      { cwd, env: NO_ROOT_ENV },
    );
    expect(r.code).toBe(2);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(r.json).toMatchObject({
      ok: false,
      error: { code: 'BAD_INPUT', message: `config file ${missing} does not exist` },
    });
    const human = await cli(['vhost', 'check', '--config', 'missing.conf', '--hosts-file', HOSTS], {
      cwd,
      env: NO_ROOT_ENV,
    });
    expect(human.code).toBe(2);
    expect(human.stderr).toContain(`apxs-ts: error: config file ${missing} does not exist`);
    expect(human.stderr).not.toMatch(/ENOENT|INTERNAL|\n\s+at /);
  });

  it('a directory given as --config is a bad argument too', async () => {
    const dir = await tmpDir();
    const r = await cli(['vhost', 'check', '--config', dir, '--hosts-file', HOSTS, '--json'], {
      cwd: dir,
      env: NO_ROOT_ENV,
    });
    expect(r.code).toBe(2);
    expect(r.json.error).toMatchObject({
      code: 'BAD_INPUT',
      message: `config file ${dir} is not a file`,
    });
  });
});
