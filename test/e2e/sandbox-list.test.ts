/**
 * sandbox list / remove, and a second sandbox create beside an apxs-ts.json:
 * a private cache dir (XDG_CACHE_HOME) per test holds the list of sandboxes.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, freePort, get, tmpDir } from '../helpers.js';

const started: string[] = [];
afterAll(async () => {
  for (const sr of started) await cli(['ctl', 'stop', '--server-root', sr]);
});

async function setup() {
  const work = await tmpDir();
  const env = { XDG_CACHE_HOME: path.join(work, 'cache') };
  const run = (args: string[], cwd = work) => cli([...args, '--json'], { env, cwd });
  const create = async (name: string, ...extra: string[]) => {
    const port = await freePort();
    const r = await run([
      'sandbox',
      'create',
      path.join(work, name),
      '--port',
      String(port),
      ...extra,
    ]);
    expect(r.code, r.stdout).toBe(0);
    return { root: path.join(work, name), port, json: r.json };
  };
  return {
    work,
    env,
    run,
    create,
    registry: path.join(work, 'cache', 'apxs-ts', 'sandboxes.json'),
  };
}

const alive = (pid: number) =>
  fs.readFile(`/proc/${pid}/stat`, 'utf8').then(
    (t) => !/^\d+ \(.*\) Z /.test(t),
    () => false,
  );

describe('sandbox list', () => {
  it('lists the sandboxes it created, running or not, with port and path; one whose directory is gone is dropped', async () => {
    const { work, run, create, registry } = await setup();
    const a = await create('a', '--no-project');
    const b = await create('b', '--no-project');
    expect((await run(['ctl', 'start', '--server-root', a.root])).code).toBe(0);
    started.push(a.root);
    const list = await run(['sandbox', 'list']);
    expect(list.code, list.stdout).toBe(0);
    const byRoot = Object.fromEntries(
      list.json.sandboxes.map((s: { root: string }) => [s.root, s]),
    );
    expect(Object.keys(byRoot).sort()).toEqual([a.root, b.root]);
    expect(byRoot[a.root]).toMatchObject({
      running: true,
      port: a.port,
      listening: [`127.0.0.1:${a.port}`],
    });
    expect(await alive(byRoot[a.root].pid)).toBe(true);
    expect(byRoot[b.root]).toMatchObject({ running: false, pid: null, port: b.port });
    // Human form: one line each on stdout.
    const human = await cli(['sandbox', 'list'], {
      env: { XDG_CACHE_HOME: path.join(work, 'cache') },
    });
    expect(human.stdout).toContain(`running (pid ${byRoot[a.root].pid})\t${a.port}\t${a.root}`);
    expect(human.stdout).toContain(`stopped\t${b.port}\t${b.root}`);

    await fs.rm(b.root, { recursive: true });
    const after = await run(['sandbox', 'list']);
    expect(after.json.sandboxes.map((s: { root: string }) => s.root)).toEqual([a.root]);
    expect(after.json.dropped).toEqual([b.root]);
    expect(
      JSON.parse(await fs.readFile(registry, 'utf8')).entries.map((e: { root: string }) => e.root),
    ).toEqual([a.root]);
  });

  it('sandboxes created at the same time are all listed (the list is changed under a lock)', async () => {
    const { work, env, run, registry } = await setup();
    const ports = await Promise.all([1, 2, 3, 4].map(() => freePort()));
    const rs = await Promise.all(
      ports.map((p, i) =>
        cli(['sandbox', 'create', path.join(work, `s${i}`), '--port', String(p), '--no-project'], {
          env,
        }),
      ),
    );
    expect(rs.map((r) => r.code)).toEqual([0, 0, 0, 0]);
    const list = await run(['sandbox', 'list']);
    expect(list.json.sandboxes.map((s: { root: string }) => s.root).sort()).toEqual(
      [0, 1, 2, 3].map((i) => path.join(work, `s${i}`)),
    );
    expect(
      (await fs.readdir(path.dirname(registry))).filter((f) => f.includes('sandboxes')),
    ).toEqual(['sandboxes.json']);
  });
});

describe('sandbox remove', () => {
  it('stops a running sandbox first, then deletes it and drops it from the list', async () => {
    const { run, create } = await setup();
    const a = await create('a', '--no-project');
    const start = await run(['ctl', 'start', '--server-root', a.root]);
    expect(start.code).toBe(0);
    started.push(a.root);
    const pid = start.json.pid as number;
    const r = await run(['sandbox', 'remove', a.root]);
    expect(r.code, r.stdout).toBe(0);
    expect(r.json).toMatchObject({ root: a.root, stopped: pid, removed: [a.root], kept: [] });
    expect(await alive(pid)).toBe(false);
    await expect(get(`http://127.0.0.1:${a.port}/`)).rejects.toThrow();
    await expect(fs.stat(a.root)).rejects.toThrow();
    expect((await run(['sandbox', 'list'])).json.sandboxes).toEqual([]);
  });

  it('refuses (exit 2) a directory that is not a sandbox, deleting nothing; one that does not exist is already removed (exit 0, changed false, #23)', async () => {
    const { work, run } = await setup();
    const plain = path.join(work, 'plain');
    await fs.mkdir(path.join(plain, 'conf'), { recursive: true });
    await fs.writeFile(path.join(plain, 'conf', 'httpd.conf'), 'mine');
    for (const dir of [plain, work]) {
      const r = await run(['sandbox', 'remove', dir]);
      expect([r.code, r.json?.error?.code], dir).toEqual([2, 'BAD_INPUT']);
      expect(r.json.error.message).toContain(dir);
    }
    const nowhere = await run(['sandbox', 'remove', path.join(work, 'nowhere')]);
    expect(nowhere.code, nowhere.stdout).toBe(0);
    expect(nowhere.json).toMatchObject({ changed: false, removed: [] });
    await expect(fs.lstat(path.join(work, 'nowhere'))).rejects.toThrow();
    expect(await fs.readFile(path.join(plain, 'conf', 'httpd.conf'), 'utf8')).toBe('mine');
  });

  it('a sandbox made with --force in a directory that held other things: only what create made is deleted', async () => {
    const { work, run, create } = await setup();
    const dir = path.join(work, 'mixed');
    await fs.mkdir(path.join(dir, 'htdocs'), { recursive: true });
    await fs.writeFile(path.join(dir, 'notes.txt'), 'mine');
    await fs.writeFile(path.join(dir, 'htdocs', 'page.html'), 'mine too');
    await create('mixed', '--no-project', '--force');
    const r = await run(['sandbox', 'remove', dir]);
    expect(r.code, r.stdout).toBe(0);
    expect((await fs.readdir(dir)).sort()).toEqual(['htdocs', 'notes.txt']);
    // kept names the user's files themselves (the directories holding them stay too).
    expect(r.json.kept.sort()).toEqual([
      path.join(dir, 'htdocs', 'page.html'),
      path.join(dir, 'notes.txt'),
    ]);
    expect(await fs.readFile(path.join(dir, 'htdocs', 'page.html'), 'utf8')).toBe('mine too');
  });
});

describe('a second sandbox create beside apxs-ts.json', () => {
  it('keeps the server root apxs-ts.json names and says so; --use switches it', async () => {
    const { work, run, create } = await setup();
    const project = path.join(work, 'apxs-ts.json');
    const one = await create('one');
    expect(one.json.projectFile).toBe(project);
    expect(JSON.parse(await fs.readFile(project, 'utf8')).serverRoot).toBe('./one');

    const two = await create('two');
    expect(two.json.projectFile).toBeNull();
    expect(two.json.projectKept).toEqual({ file: project, serverRoot: one.root });
    expect(JSON.parse(await fs.readFile(project, 'utf8')).serverRoot).toBe('./one');
    const human = await cli(
      ['sandbox', 'create', path.join(work, 'three'), '--port', String(await freePort())],
      { cwd: work, env: { XDG_CACHE_HOME: path.join(work, 'cache') } },
    );
    expect(human.stderr).toContain(`${project} still names ${one.root}: kept it`);
    expect(human.stderr).toContain('--use');

    const four = await create('four', '--use');
    expect(four.json.projectFile).toBe(project);
    expect(JSON.parse(await fs.readFile(project, 'utf8')).serverRoot).toBe('./four');
    // Commands below the directory now use it.
    const status = await run(['ctl', 'status']);
    expect(status.json.serverRoot ?? status.json.error?.message).toContain(four.root);
  });
});
