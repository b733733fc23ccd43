/**
 * Attacks on the Ansible modules of ansible/ (#23) the issue did not name:
 * an argument with a leading dash ("--help", "--purge") given where apxs-ts
 * takes a name or a path must reach apxs-ts as that name (and be judged by
 * it), never be read as one of its options; a task must never pass with
 * nothing done.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cli, sandbox, tmpDir } from '../helpers.js';
import { runAnsible } from '../ansible-run.js';

const roots: string[] = [];
afterAll(async () => {
  for (const sr of roots) await cli(['ctl', 'stop', '--server-root', sr]);
});

let home: string;
let s: Awaited<ReturnType<typeof sandbox>>;
beforeAll(async () => {
  s = await sandbox(roots);
  home = await tmpDir('apxs-ts-atk-ansible-');
  await fs.writeFile(path.join(home, 'ansible.cfg'), '[defaults]\n');
}, 60_000);

/** One module run ad hoc (`ansible localhost -m MODULE`), confined to a temp HOME; its result as the json callback reports it. */
async function adHoc(
  module: string,
  args: Record<string, unknown>,
  exe: string = CLI,
): Promise<{ code: number; result: any }> {
  const { code, stdout } = await runAnsible(
    'ansible',
    [
      'localhost',
      '-i',
      'localhost,',
      '-c',
      'local',
      '-m',
      module,
      '-a',
      JSON.stringify({ ...args, apxs_ts: exe }),
    ],
    {
      home,
      cwd: s.work,
      timeoutMs: 120_000,
      env: { ANSIBLE_STDOUT_CALLBACK: 'json', ANSIBLE_LOAD_CALLBACK_PLUGINS: '1' },
    },
  );
  const out = JSON.parse(stdout) as { plays: { tasks: { hosts: { localhost: any } }[] }[] };
  return { code, result: out.plays[0]!.tasks[0]!.hosts.localhost };
}

describe('Ansible module arguments that look like options', () => {
  it('a vhost named --help (present) or --purge (absent) fails the task with BAD_HOSTNAME, nothing changed; a sandbox path --help is made there and removed', async () => {
    const common = { server_root: s.sr, hosts_file: s.hosts };
    const conf = await fs.readFile(s.conf, 'utf8');
    const cases: [string, Record<string, unknown>][] = [
      ['apxs_ts_vhost', { ...common, name: '--help', state: 'present' }],
      ['apxs_ts_vhost', { ...common, name: '--purge', state: 'absent' }],
      ['apxs_ts_vhost', { ...common, name: '--check', state: 'present' }],
    ];
    for (const [module, args] of cases) {
      const { code, result } = await adHoc(module, args);
      expect(code, JSON.stringify(result)).not.toBe(0);
      expect(result).toMatchObject({ failed: true, changed: false, code: 'BAD_HOSTNAME' });
    }
    // A path with a leading dash is that (relative) path: the sandbox is made there, not a help text taken for success.
    const made = await adHoc('apxs_ts_sandbox', { path: '--help', port: 18999 });
    expect(made.code, JSON.stringify(made.result)).toBe(0);
    expect(made.result.changed).toBe(true);
    const dashed = path.join(s.work, '--help');
    expect((await fs.stat(path.join(dashed, 'conf', 'httpd.conf'))).isFile()).toBe(true);
    const gone = await adHoc('apxs_ts_sandbox', { path: '--help', state: 'absent' });
    expect(gone.result.changed, JSON.stringify(gone.result)).toBe(true);
    await expect(fs.stat(dashed)).rejects.toThrow();
    expect(await fs.readFile(s.conf, 'utf8')).toBe(conf);
  }, 120_000);

  it('an apxs-ts that answers ok without changed (a help text, another command) fails the task; a wrapper that prints a line before the JSON still works', async () => {
    const fake = path.join(home, 'fake-apxs-ts');
    await fs.writeFile(
      fake,
      '#!/bin/sh\necho \'{"ok": true, "help": "Usage: apxs-ts vhost add"}\'\n',
      { mode: 0o755 },
    );
    const common = { server_root: s.sr, hosts_file: s.hosts, name: 'wrapped.dd' };
    const f = await adHoc('apxs_ts_vhost', common, fake);
    expect(f.code).not.toBe(0);
    expect(f.result.failed).toBe(true);
    expect(f.result.msg).toContain('changed');
    const noisy = path.join(home, 'noisy-apxs-ts');
    await fs.writeFile(
      noisy,
      `#!/bin/sh\necho "a wrapper's notice on stdout"\nexec ${process.execPath} ${CLI} "$@"\n`,
      { mode: 0o755 },
    );
    const n = await adHoc('apxs_ts_vhost', common, noisy);
    expect(n.code, JSON.stringify(n.result)).toBe(0);
    expect(n.result.changed).toBe(true);
  }, 120_000);
});
