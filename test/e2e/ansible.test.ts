/**
 * Debian's ansible-core (2.14, scripts/prereqs.sh) runs ansible/examples/playbook.yml,
 * the playbook README's "Many machines" shows, against localhost with the modules
 * of ansible/ (#23): a sandbox, a module scaffolded here then built and installed
 * by the playbook, two vhosts in a private hosts file, the server started.
 * Ansible's own files go to a temp HOME, never to ~/.ansible.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI, cli, freePort, get, HOSTS_START, ROOT, tmpDir } from '../helpers.js';
import { treeChanges, treeState } from '../tree-state.js';
import { runAnsible } from '../ansible-run.js';

const PLAYBOOK = path.join(ROOT, 'ansible', 'examples', 'playbook.yml');
const TEARDOWN = path.join(ROOT, 'ansible', 'examples', 'teardown.yml');
const roots: string[] = [];
const temps: string[] = [];
afterAll(async () => {
  for (const sr of roots) await cli(['ctl', 'stop', '--server-root', sr]);
  for (const t of temps) await fs.rm(t, { recursive: true, force: true });
});

/** A temp base: home/ (Ansible's and apxs-ts's per-user files) and work/ (what the playbook manages). */
async function setUp() {
  const base = await tmpDir('apxs-ts-ansible-');
  temps.push(base);
  const home = path.join(base, 'home');
  const work = path.join(base, 'work');
  await fs.mkdir(home, { mode: 0o700 });
  // An empty config of its own: no ansible.cfg of the machine or the cwd applies.
  await fs.writeFile(path.join(home, 'ansible.cfg'), '[defaults]\n');
  await fs.mkdir(work, { mode: 0o755 });
  const hosts = path.join(work, 'hosts');
  await fs.writeFile(hosts, HOSTS_START);
  // The module's sources, as a developer has them: scaffolded, never built.
  const made = await cli(['new', 'mod_greet', '--dir', work, '--json'], { cwd: work });
  expect(made.code, made.stdout).toBe(0);
  const port = await freePort();
  const sr = path.join(work, 'srv');
  return { home, work, hosts, port, sr, src: path.join(work, 'mod_greet') };
}

type Setup = Awaited<ReturnType<typeof setUp>>;

interface PlaybookRun {
  code: number;
  stdout: string;
  stderr: string;
  recap: { ok: number; changed: number; failed: number } | undefined;
}

/** Ansible run in the playbook's work dir, its own files in the set-up's temp HOME. */
function ansible(
  s: Setup,
  cmd: 'ansible' | 'ansible-playbook' | 'ansible-doc',
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return runAnsible(cmd, args, { home: s.home, cwd: s.work, env });
}

async function playbook(s: Setup, extra: string[] = [], file = PLAYBOOK): Promise<PlaybookRun> {
  const vars = JSON.stringify({
    work: s.work,
    http_port: s.port,
    hosts_file: s.hosts,
    module_src: s.src,
    apxs_ts: CLI,
  });
  const r = await ansible(s, 'ansible-playbook', [
    '-i',
    'localhost,',
    '-c',
    'local',
    file,
    '-e',
    vars,
    ...extra,
  ]);
  const m = /localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=\d+\s+failed=(\d+)/.exec(
    r.stdout,
  );
  return {
    ...r,
    recap: m ? { ok: Number(m[1]), changed: Number(m[2]), failed: Number(m[3]) } : undefined,
  };
}

/** One module run ad hoc (`ansible localhost -m MODULE`), its result as the json callback reports it. */
async function adHoc(
  s: Setup,
  module: string,
  args: Record<string, unknown>,
  extra: string[] = [],
  env: Record<string, string> = {},
) {
  const r = await ansible(
    s,
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
      JSON.stringify(args),
      ...extra,
    ],
    { ANSIBLE_STDOUT_CALLBACK: 'json', ANSIBLE_LOAD_CALLBACK_PLUGINS: '1', ...env },
  );
  const out = JSON.parse(r.stdout) as { plays: { tasks: { hosts: { localhost: any } }[] }[] };
  return { code: r.code, result: out.plays[0]!.tasks[0]!.hosts.localhost };
}

const said = (r: PlaybookRun) => `${r.stdout}\n${r.stderr}`;

const MODULES = ['apxs_ts_sandbox', 'apxs_ts_module', 'apxs_ts_vhost', 'apxs_ts_server'];

/** `ansible-doc --json` of one module of ansible/, fragments from ansible/plugins/doc_fragments when given. */
async function ansibleDoc(s: Setup, module: string, fragments: boolean) {
  const env: Record<string, string> = fragments
    ? { ANSIBLE_DOC_FRAGMENT_PLUGINS: path.join(ROOT, 'ansible', 'plugins', 'doc_fragments') }
    : {};
  const r = await ansible(
    s,
    'ansible-doc',
    ['-M', path.join(ROOT, 'ansible', 'plugins', 'modules'), '--json', module],
    env,
  );
  return { ...r, doc: r.code === 0 ? JSON.parse(r.stdout)[module] : undefined };
}

describe('ansible-playbook with the modules of ansible/ (#23)', () => {
  it('ansible-doc renders each module with the shared doc fragment: its own options, apxs_ts and the shared notes once in ansible/', async () => {
    const s = await setUp();
    const fragment = await fs.readFile(
      path.join(ROOT, 'ansible', 'plugins', 'doc_fragments', 'apxs_ts.py'),
      'utf8',
    );
    for (const module of MODULES) {
      const { code, stderr, doc } = await ansibleDoc(s, module, true);
      expect(code, `${module}: ${stderr}`).toBe(0);
      const opts = doc.doc.options;
      // The fragment's option, merged beside the module's own (each module has server_root or path).
      expect(opts.apxs_ts, module).toMatchObject({ type: 'str', default: 'apxs-ts' });
      expect(
        Object.keys(opts).some((o) => o === 'server_root' || o === 'path'),
        module,
      ).toBe(true);
      const notes = (doc.doc.notes as string[]).join('\n');
      expect(notes, module).toContain('restart_required=true');
      expect(notes, module).toContain('C(code), C(hint), C(details), C(cmd) and C(rc)');
      // RETURN holds only what this module returns of its own; the shared results are not copied into it.
      expect(Object.keys(doc.return ?? {}).length, module).toBeGreaterThan(0);
      expect(doc.return, module).not.toHaveProperty('restart_required');
      const text = await fs.readFile(
        path.join(ROOT, 'ansible', 'plugins', 'modules', `${module}.py`),
        'utf8',
      );
      expect(text).toContain('extends_documentation_fragment: [apxs_ts]');
      expect(text).not.toMatch(/restart_required:|apxs_ts: \{description/);
    }
    expect(fragment).toContain('restart_required=true');
    // Without the fragments' folder ansible-doc cannot render a module (README names the variable).
    const bare = await ansibleDoc(s, 'apxs_ts_server', false);
    expect(bare.code).not.toBe(0);
    expect(`${bare.stdout}${bare.stderr}`).toMatch(/unknown doc_fragment.*apxs_ts/);
  }, 120_000);

  it("a failing apxs-ts fails the task with apxs-ts's error code and hint", async () => {
    const s = await setUp();
    const missing = path.join(s.work, 'no-such-root');
    const { code, result } = await adHoc(s, 'apxs_ts_server', {
      server_root: missing,
      state: 'started',
      apxs_ts: CLI,
    });
    const direct = await cli(['ctl', 'start', '--server-root', missing, '--json']);
    expect(direct.json?.ok).toBe(false);
    expect(code).not.toBe(0);
    expect(result).toMatchObject({
      failed: true,
      changed: false,
      code: direct.json.error.code,
      hint: direct.json.error.hint,
      rc: direct.code,
    });
    expect(result.msg).toContain(direct.json.error.message);

    // Something that is not apxs-ts (prints no JSON object): the task fails saying so, with what it printed.
    const wrong = await adHoc(s, 'apxs_ts_server', {
      server_root: missing,
      state: 'started',
      apxs_ts: '/bin/echo',
    });
    expect(wrong.code).not.toBe(0);
    expect(wrong.result).toMatchObject({
      failed: true,
      msg: 'apxs-ts printed no JSON object (exit 0)',
    });
    expect(wrong.result.stdout).toContain('ctl start --server-root');
  }, 120_000);

  it('apxs_ts defaults to the apxs-ts on PATH; one not found fails the task saying so', async () => {
    const s = await setUp();
    const bin = path.join(s.home, 'bin');
    await fs.mkdir(bin);
    await fs.symlink(CLI, path.join(bin, 'apxs-ts'));
    const onPath = await adHoc(s, 'apxs_ts_sandbox', { path: s.sr, port: s.port }, [], {
      PATH: `${bin}:${process.env.PATH}`,
    });
    roots.push(s.sr);
    expect(onPath.code, JSON.stringify(onPath.result)).toBe(0);
    expect(onPath.result.changed).toBe(true);
    expect(await fs.readFile(path.join(s.sr, 'conf', 'httpd.conf'), 'utf8')).toContain(
      `Listen 127.0.0.1:${s.port}`,
    );
    const missing = await adHoc(s, 'apxs_ts_sandbox', { path: s.sr, apxs_ts: 'apxs-ts-nowhere' });
    expect(missing.code).not.toBe(0);
    expect(missing.result.msg).toContain('apxs-ts-nowhere');
  }, 120_000);

  it('check and diff mode: the module passes --check --diff and returns the diff apxs-ts reports, writing nothing', async () => {
    const s = await setUp();
    const made = await cli(['sandbox', 'create', s.sr, '--port', String(s.port), '--no-project']);
    expect(made.code, made.stdout).toBe(0);
    roots.push(s.sr);
    const before = await treeState(s.work);
    const args = { name: 'one.test', server_root: s.sr, hosts_file: s.hosts, apxs_ts: CLI };
    const { code, result } = await adHoc(s, 'apxs_ts_vhost', args, ['--check', '--diff']);
    expect(code, JSON.stringify(result)).toBe(0);
    expect(treeChanges(before, await treeState(s.work))).toEqual([]);
    const direct = await cli([
      'vhost',
      'add',
      'one.test',
      '--server-root',
      s.sr,
      '--hosts-file',
      s.hosts,
      '--check',
      '--diff',
      '--json',
    ]);
    expect(direct.code, direct.stdout).toBe(0);
    expect(result.changed).toBe(true);
    expect(direct.json.changed).toBe(true);
    expect(result.diff).toEqual(direct.json.diff);
    expect(result.diff.length).toBeGreaterThan(0);

    // The module, never built: build --check says a build is needed, install --check what it would write.
    const mod = await adHoc(s, 'apxs_ts_module', { src: s.src, server_root: s.sr, apxs_ts: CLI }, [
      '--check',
      '--diff',
    ]);
    expect(mod.code, JSON.stringify(mod.result)).toBe(0);
    expect(mod.result.changed).toBe(true);
    expect(mod.result.msg).toMatch(/would build .*mod_greet\.so/);
    expect(JSON.stringify(mod.result.diff)).toMatch(/LoadModule greet_module/);
    expect(treeChanges(before, await treeState(s.work))).toEqual([]);
  }, 120_000);

  it('first run: changes, the module page and both vhosts served; second run: changed=0 and no file touched; a changed source: rebuilt, reinstalled, reloaded, served; teardown twice', async () => {
    const s = await setUp();
    roots.push(s.sr);
    const first = await playbook(s);
    expect(first.code, said(first)).toBe(0);
    expect(first.recap?.failed, said(first)).toBe(0);
    // Every task changed something: sandbox, module, the vhosts (one loop task), server, and the reload handler they notified.
    expect(first.recap, said(first)).toMatchObject({ ok: 5, changed: 5 });

    const page = await get(`http://127.0.0.1:${s.port}/greet`);
    expect(page.status, page.body).toBe(200);
    for (const name of ['one.test', 'two.test']) {
      const r = await get(`http://127.0.0.1:${s.port}/`, { Host: name });
      expect(r.status, `${name}: ${r.body}`).toBe(200);
      expect(r.body, name).toContain(name);
    }
    expect(await fs.readFile(s.hosts, 'utf8')).toMatch(/^127\.0\.0\.1 one\.test two\.test$/m);

    // httpd writes its own logs (the health probes, the requests above): apxs-ts's files are what
    // must not move, nor any directory's mtime (a no-op run takes no lock), but the root's state
    // dir's own: vhost add and install decide under its config lock even with nothing to do.
    const before = await treeState(s.work, { dirMtimes: true });
    const second = await playbook(s);
    expect(second.code, said(second)).toBe(0);
    expect(second.recap, said(second)).toMatchObject({ changed: 0, failed: 0 });
    const after = await treeState(s.work, { dirMtimes: true });
    const httpdOrLock = (p: string) => p.startsWith('srv/logs') || p === 'srv/.apxs-ts';
    expect(treeChanges(before, after, httpdOrLock)).toEqual([]);

    // Still served after the second run.
    expect((await get(`http://127.0.0.1:${s.port}/greet`)).status).toBe(200);

    // The developer changes the module: the next run rebuilds and reinstalls it, and the
    // handler it notifies reloads the running server, which then serves the new code.
    const source = path.join(s.src, 'mod_greet.c');
    const text = await fs.readFile(source, 'utf8');
    expect(text).toContain('<h1>mod_greet</h1>');
    await fs.writeFile(source, text.replace('<h1>mod_greet</h1>', '<h1>mod_greet, version 2</h1>'));
    const third = await playbook(s);
    expect(third.code, said(third)).toBe(0);
    expect(third.recap, said(third)).toMatchObject({ changed: 2, failed: 0 });
    expect(third.stdout).toMatch(/RUNNING HANDLER \[Reload httpd\]/);
    expect((await get(`http://127.0.0.1:${s.port}/greet`)).body).toContain('mod_greet, version 2');

    // teardown.yml: stopped, vhosts and names gone, module uninstalled, sandbox removed; then nothing left to do.
    const down = await playbook(s, [], TEARDOWN);
    expect(down.code, said(down)).toBe(0);
    expect(down.recap, said(down)).toMatchObject({ ok: 4, changed: 4, failed: 0 });
    await expect(get(`http://127.0.0.1:${s.port}/`)).rejects.toThrow();
    expect(await fs.readFile(s.hosts, 'utf8')).not.toMatch(/one\.test|two\.test/);
    await expect(fs.stat(path.join(s.sr, 'conf', 'httpd.conf'))).rejects.toThrow();
    const downAgain = await playbook(s, [], TEARDOWN);
    expect(downAgain.code, said(downAgain)).toBe(0);
    expect(downAgain.recap, said(downAgain)).toMatchObject({ changed: 0, failed: 0 });
  }, 600_000);

  it('--check --diff on a fresh root: changes no byte of the tree, reports changes and shows diffs', async () => {
    const s = await setUp();
    roots.push(s.sr);
    const before = await treeState(s.work);
    const checked = await playbook(s, ['--check', '--diff']);
    expect(checked.code, said(checked)).toBe(0);
    expect(checked.recap?.failed, said(checked)).toBe(0);
    // What a real run would change: the same five tasks.
    expect(checked.recap, said(checked)).toMatchObject({ ok: 5, changed: 5 });
    // Ansible prints each FileDiff of a task as --- before / +++ after.
    expect(checked.stdout).toMatch(/^\+\+\+ after/m);
    expect(treeChanges(before, await treeState(s.work))).toEqual([]);
    await expect(fs.stat(s.sr)).rejects.toThrow();
    // teardown.yml in check mode on that fresh tree: nothing there, nothing to take away.
    const down = await playbook(s, ['--check', '--diff'], TEARDOWN);
    expect(down.code, said(down)).toBe(0);
    expect(down.recap, said(down)).toMatchObject({ ok: 4, changed: 0, failed: 0 });
    expect(treeChanges(before, await treeState(s.work))).toEqual([]);
  }, 600_000);
});
