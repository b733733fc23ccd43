/**
 * `apxs-ts completion bash|zsh|fish`, the scripts of the built CLI: each is
 * valid for its shell and completes subcommands, options and fixed values
 * from the command tree, and asks `apxs-ts completion --complete
 * modules|vhosts` for the rest (a stub apxs-ts on PATH stands in here;
 * test/e2e/completion.test.ts asks a real server root). zsh and fish are
 * installed by scripts/prereqs.sh for the tests; on a machine without one,
 * its checks are skipped and say so. (Moved from test/unit, #19: unit tests
 * do not spawn the CLI; the generator's own tests stay there.)
 */
import { execFile, execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, ROOT, tmpDir } from '../helpers.js';

const has = (shell: string) => {
  try {
    execFileSync('sh', ['-c', `command -v ${shell}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const HAS = { bash: has('bash'), zsh: has('zsh'), fish: has('fish') };
for (const [shell, ok] of Object.entries(HAS))
  if (!ok)
    console.warn(
      `completion tests: ${shell} is not installed; its checks are skipped (apt-get install ${shell})`,
    );

function run(
  file: string,
  args: string[],
  env: Record<string, string> = {},
  cwd = ROOT,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd, env: { ...process.env, CI: 'true', ...env }, timeout: 30_000 },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

let dir = '';
const scripts: Record<string, string> = {};
/** PATH with a stub apxs-ts first: it logs its arguments and answers --complete with fixed names. */
let stubEnv: Record<string, string> = {};

beforeAll(async () => {
  dir = await tmpDir('apxs-ts-completion-');
  for (const shell of ['bash', 'zsh', 'fish']) {
    const r = await run(process.execPath, [CLI, 'completion', shell]);
    expect(r.code, r.stderr).toBe(0);
    scripts[shell] = path.join(dir, `apxs-ts.${shell}`);
    await fs.writeFile(scripts[shell]!, r.stdout);
  }
  await fs.mkdir(path.join(dir, 'bin'));
  await fs.writeFile(
    path.join(dir, 'bin', 'apxs-ts'),
    `#!/bin/sh
printf '%s|' "$@" >> ${JSON.stringify(path.join(dir, 'calls.log'))}; echo >> ${JSON.stringify(path.join(dir, 'calls.log'))}
case "$*" in
  *"--complete modules"*) printf 'info\\nhello\\n' ;;
  *"--complete vhosts"*) printf 'one.dd\\ntwo.dd\\n' ;;
esac
`,
    { mode: 0o755 },
  );
  stubEnv = { PATH: `${path.join(dir, 'bin')}:${process.env.PATH}` };
});
afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

const calls = async () =>
  (await fs.readFile(path.join(dir, 'calls.log'), 'utf8').catch(() => ''))
    .trim()
    .split('\n')
    .filter(Boolean);

/** What bash completes for the words (the last one is the word under the cursor). */
async function bash(...words: string[]): Promise<string[]> {
  const body = `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _apxs_ts; printf '%s\\n' "\${COMPREPLY[@]}"`;
  const r = await run('bash', ['-c', body, 'bash', scripts.bash!, ...words], stubEnv, dir);
  expect(r.stderr).toBe('');
  return r.stdout.split('\n').filter(Boolean);
}

/** What zsh completes: compsys is replaced by stubs that print what they were given. */
async function zsh(...words: string[]): Promise<string[]> {
  const body = `
compadd() { while [[ $1 == -* && $1 != -- ]]; do shift; done; [[ $1 == -- ]] && shift; print -rl -- "$@"; }
_describe() { local arr=$4; local -a got; got=("\${(@P)arr}"); print -rl -- "\${(@)got%%:*}"; }
_files() { print -r -- "(files $*)"; }
source "$1"; shift; words=("$@"); CURRENT=$#; _apxs_ts`;
  const r = await run('zsh', ['-f', '-c', body, 'zsh', scripts.zsh!, ...words], stubEnv, dir);
  expect(r.stderr).toBe('');
  return r.stdout.split('\n').filter(Boolean);
}

/** What fish completes (its own `complete -C`), names only. */
async function fish(line: string): Promise<string[]> {
  const r = await run(
    'fish',
    ['--no-config', '-c', `source ${scripts.fish}; complete -C ${JSON.stringify(line)}`],
    stubEnv,
    dir,
  );
  expect(r.stderr).toBe('');
  return r.stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split('\t')[0]!);
}

describe('completion scripts: valid syntax', () => {
  it('bash -n', async () => {
    expect((await run('bash', ['-n', scripts.bash!])).code).toBe(0);
  });
  it.skipIf(!HAS.zsh)('zsh -n', async () => {
    const r = await run('zsh', ['-n', scripts.zsh!]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
  it.skipIf(!HAS.fish)('fish -n', async () => {
    const r = await run('fish', ['-n', scripts.fish!]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});

describe('bash completes', () => {
  it('subcommands, nested subcommands, options (global ones too), fixed values', async () => {
    expect(await bash('apxs-ts', '')).toEqual(
      expect.arrayContaining([
        'sandbox',
        'new',
        'build',
        'install',
        'uninstall',
        'ctl',
        'vhost',
        'source',
        'completion',
      ]),
    );
    expect(await bash('apxs-ts', 'c')).toEqual(['ctl', 'completion']);
    expect((await bash('apxs-ts', 'ctl', 'st')).sort()).toEqual(['start', 'status', 'stop']);
    expect(await bash('apxs-ts', '--json', 'vhost', 'r')).toEqual(['remove']);
    expect(await bash('apxs-ts', 'build', '--')).toEqual(
      expect.arrayContaining(['--server-root', '--force', '--jobs', '--json', '--quiet', '--help']),
    );
    expect(await bash('apxs-ts', 'new', 'x', '--template', '')).toEqual([
      'hello',
      'handler',
      'info',
    ]);
    expect(await bash('apxs-ts', 'new', 'x', '--template', 'i')).toEqual(['info']);
    expect(await bash('apxs-ts', 'completion', '')).toEqual(['bash', 'zsh', 'fish']);
    // A subcommand's name later on the line is an argument, not a subcommand.
    expect(await bash('apxs-ts', 'new', 'ctl', '')).toEqual([]);
  });

  it('installed modules and vhosts by asking apxs-ts, with the --server-root of the line', async () => {
    await fs.rm(path.join(dir, 'calls.log'), { force: true });
    expect(await bash('apxs-ts', 'uninstall', '')).toEqual(['info', 'hello']);
    expect(await bash('apxs-ts', 'vhost', 'remove', '--server-root', '/x/srv', 't')).toEqual([
      'two.dd',
    ]);
    expect(await calls()).toEqual([
      'completion|--complete|modules|',
      'completion|--complete|vhosts|--server-root|/x/srv|',
    ]);
  });
});

describe.skipIf(!HAS.zsh)('zsh completes', () => {
  it('subcommands, nested subcommands, options, fixed values, directories', async () => {
    expect(await zsh('apxs-ts', '')).toEqual(
      expect.arrayContaining(['sandbox', 'new', 'build', 'ctl', 'vhost', 'completion']),
    );
    expect(await zsh('apxs-ts', 'ctl', '')).toEqual(
      expect.arrayContaining(['start', 'stop', 'status', 'logs']),
    );
    expect(await zsh('apxs-ts', 'build', '--')).toEqual(
      expect.arrayContaining(['--server-root', '--force', '--json']),
    );
    expect(await zsh('apxs-ts', 'new', 'x', '--template', '')).toEqual([
      'hello',
      'handler',
      'info',
    ]);
    expect(await zsh('apxs-ts', 'build', '--server-root', '')).toEqual(['(files -/)']);
  });

  it('installed modules and vhosts by asking apxs-ts', async () => {
    await fs.rm(path.join(dir, 'calls.log'), { force: true });
    expect(await zsh('apxs-ts', 'uninstall', '')).toEqual(['info', 'hello']);
    expect(await zsh('apxs-ts', 'vhost', 'remove', '--server-root', '/x/srv', '')).toEqual([
      'one.dd',
      'two.dd',
    ]);
    expect(await calls()).toEqual([
      'completion|--complete|modules|',
      'completion|--complete|vhosts|--server-root|/x/srv|',
    ]);
  });
});

describe.skipIf(!HAS.fish)('fish completes', () => {
  it('subcommands, nested subcommands, options, fixed values', async () => {
    expect(await fish('apxs-ts ')).toEqual(
      expect.arrayContaining(['sandbox', 'new', 'build', 'ctl', 'vhost', 'completion']),
    );
    expect((await fish('apxs-ts ctl st')).sort()).toEqual(['start', 'status', 'stop']);
    expect(await fish('apxs-ts source build --')).toEqual(
      expect.arrayContaining(['--prefix', '--mirror', '--json']),
    );
    expect((await fish('apxs-ts new x --template ')).sort()).toEqual(['handler', 'hello', 'info']);
  });

  it('installed modules and vhosts by asking apxs-ts', async () => {
    await fs.rm(path.join(dir, 'calls.log'), { force: true });
    expect((await fish('apxs-ts uninstall ')).sort()).toEqual(['hello', 'info']);
    expect(await fish('apxs-ts vhost remove --server-root /x/srv o')).toEqual(['one.dd']);
    expect(await calls()).toEqual([
      'completion|--complete|modules|',
      'completion|--complete|vhosts|--server-root|/x/srv|',
    ]);
  });
});

describe('the completion command', () => {
  it('refuses a missing or unknown shell and an unknown --complete (exit 2); --json gives the script in one object', async () => {
    expect((await run(process.execPath, [CLI, 'completion'])).code).toBe(2);
    const tcsh = await run(process.execPath, [CLI, 'completion', 'tcsh']);
    expect(tcsh.code).toBe(2);
    expect(tcsh.stderr).toContain('unknown shell "tcsh"');
    expect((await run(process.execPath, [CLI, 'completion', '--complete', 'users'])).code).toBe(2);
    const json = await run(process.execPath, [CLI, 'completion', 'bash', '--json']);
    const o = JSON.parse(json.stdout);
    expect(o.ok).toBe(true);
    expect(o.script).toBe(await fs.readFile(scripts.bash!, 'utf8'));
    expect(o.commands.find((c: { path: string }) => c.path === 'ctl').commands).toEqual(
      expect.arrayContaining(['start', 'stop']),
    );
  });

  it('--complete offers nothing, and succeeds, where there is no server root', async () => {
    const r = await run(
      process.execPath,
      [CLI, 'completion', '--complete', 'modules'],
      { APXS_TS_SERVER_ROOT: '' },
      dir,
    );
    expect(r).toEqual({ code: 0, stdout: '', stderr: '' });
  });
});
