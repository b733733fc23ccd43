/**
 * Completion's dynamic values from a real server root: the modules apxs-ts
 * installed and the vhosts of its config, asked by the bash script of the
 * built CLI (through an `apxs-ts` on PATH) with --server-root on the line or
 * from apxs-ts.json.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, CLI, newSandbox, tmpDir } from '../helpers.js';

const roots: string[] = [];
let work = '';
let sr = '';
let script = '';
let env: Record<string, string> = {};

function run(
  file: string,
  args: string[],
  cwd: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      {
        cwd,
        env: { ...process.env, CI: 'true', APXS_TS_SERVER_ROOT: '', ...env },
        timeout: 60_000,
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

async function bash(cwd: string, ...words: string[]): Promise<string[]> {
  const body = `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _apxs_ts; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = await run('bash', ['-c', body, 'bash', script, ...words], cwd);
  return r.stdout.split('\n').filter(Boolean);
}

beforeAll(async () => {
  ({ work, sr } = await newSandbox(roots));
  const hosts = path.join(work, 'hosts');
  await fs.writeFile(hosts, '127.0.0.1 localhost\n');
  for (const args of [
    ['new', 'hello', '--template', 'hello', '--dir', work],
    ['install', path.join(work, 'mod_hello'), '--server-root', sr],
    ['vhost', 'add', 'one.dd', '--server-root', sr, '--hosts-file', hosts],
    ['vhost', 'add', 'two.dd', '--server-root', sr, '--hosts-file', hosts],
  ]) {
    const r = await cli(args, { cwd: work });
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
  }
  const bin = path.join(work, 'bin');
  await fs.mkdir(bin);
  await fs.writeFile(
    path.join(bin, 'apxs-ts'),
    `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} "$@"\n`,
    { mode: 0o755 },
  );
  env = { PATH: `${bin}:${process.env.PATH}` };
  script = path.join(work, 'apxs-ts.bash');
  const s = await run(process.execPath, [CLI, 'completion', 'bash'], work);
  await fs.writeFile(script, s.stdout);
}, 120_000);
afterAll(async () => {
  for (const r of roots) await cli(['ctl', 'stop', '--server-root', r]);
});

describe('completion of a real server root', () => {
  it('completion --complete modules|vhosts names what is installed and configured', async () => {
    const modules = await run(
      process.execPath,
      [CLI, 'completion', '--complete', 'modules', '--server-root', sr],
      work,
    );
    expect(modules.stdout.split('\n').filter(Boolean)).toEqual(['hello']);
    const vhosts = await run(
      process.execPath,
      [CLI, 'completion', '--complete', 'vhosts', '--server-root', sr, '--json'],
      work,
    );
    expect(JSON.parse(vhosts.stdout)).toEqual({
      ok: true,
      complete: 'vhosts',
      candidates: ['one.dd', 'two.dd'],
    });
  });

  it('bash completes uninstall and vhost remove with them, from --server-root or apxs-ts.json', async () => {
    expect(await bash(work, 'apxs-ts', 'uninstall', '--server-root', sr, '')).toEqual(['hello']);
    expect(await bash(work, 'apxs-ts', 'vhost', 'remove', '--server-root', sr, 't')).toEqual([
      'two.dd',
    ]);
    const project = await tmpDir();
    await fs.writeFile(path.join(project, 'apxs-ts.json'), JSON.stringify({ serverRoot: sr }));
    expect(await bash(project, 'apxs-ts', 'vhost', 'remove', '')).toEqual(['one.dd', 'two.dd']);
    expect(await bash(project, 'apxs-ts', 'uninstall', 'h')).toEqual(['hello']);
    await fs.rm(project, { recursive: true, force: true });
  });
});
