/**
 * The completion-script generator (lib/core/completion.ts) on a tree of its
 * own: the command paths it lists, and a bash, zsh and fish script of it run
 * by each shell (zsh and fish when installed: scripts/prereqs.sh installs
 * them for the tests). The scripts of the built CLI are checked in
 * test/e2e/completion-shells.test.ts.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  completionPaths,
  completionScript,
  type CompletionNode,
} from '../../lib/core/completion.js';
import { ROOT, tmpDir } from '../helpers.js';

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
beforeAll(async () => {
  dir = await tmpDir('apxs-ts-completion-gen-');
});
afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe('the generator', () => {
  const tree: CompletionNode = {
    name: 'tool',
    description: '',
    args: [],
    commands: [
      {
        name: 'add',
        description: 'add things',
        commands: [],
        args: [{ name: 'names', variadic: true, value: { choices: ['a', 'b'] } }],
        options: [
          { flags: ['-o', '--out'], description: 'output', value: 'files' },
          { flags: ['--dry-run'], description: 'no writes' },
        ],
      },
    ],
    options: [
      { flags: ['--json'], description: 'json' },
      { flags: ['-V', '--version'], description: 'version' },
    ],
  };

  it("lists every command path with its own and its ancestors' options (--version only at the top)", () => {
    expect(completionPaths(tree)).toEqual([
      { path: '', commands: ['add'], options: ['--json', '-V', '--version', '-h', '--help'] },
      {
        path: 'add',
        commands: [],
        options: ['-o', '--out', '--dry-run', '--json', '-h', '--help'],
      },
    ]);
  });

  it('a variadic argument completes at every position; quotes in descriptions survive', async () => {
    const t = {
      ...tree,
      commands: [{ ...tree.commands[0]!, description: 'it\'s "quoted" $HOME `x`' }],
    };
    const file = path.join(dir, 'tool.bash');
    await fs.writeFile(file, completionScript('bash', t, { command: 'tool', version: '1' }));
    const body = `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); _tool; printf '%s\\n' "\${COMPREPLY[@]}"`;
    for (const words of [
      ['tool', 'add', ''],
      ['tool', 'add', 'a', 'b', ''],
    ]) {
      const r = await run('bash', ['-c', body, 'bash', file, ...words]);
      expect(r.stdout.split('\n').filter(Boolean)).toEqual(['a', 'b']);
    }
    if (HAS.zsh) {
      const z = path.join(dir, 'tool.zsh');
      await fs.writeFile(z, completionScript('zsh', t, { command: 'tool', version: '1' }));
      expect((await run('zsh', ['-n', z])).code).toBe(0);
    }
    if (HAS.fish) {
      const f = path.join(dir, 'tool.fish');
      await fs.writeFile(f, completionScript('fish', t, { command: 'tool', version: '1' }));
      const r = await run('fish', ['--no-config', '-c', `source ${f}; complete -C 'tool '`]);
      expect(r.stdout).toBe('add\tit\'s "quoted" $HOME `x`\n');
    }
  });
});
