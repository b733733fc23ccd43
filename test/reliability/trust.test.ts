/**
 * #16 defect 1 (git's CVE-2022-24765): a config apxs-ts finds by itself must
 * not make it run another user's program. As root, each variant plants a
 * server root whose sandbox record names a program that touches a mark file;
 * every unsafe variant must be refused (UNSAFE_CONFIG, exit 2, the path and
 * its owner said) with the mark never made, and the allowed ones (own files,
 * root's, another user's own files as that user, root by sudo, explicitly
 * trusted) must still run it.
 */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, CLI, tmpDir as newTmpDir } from '../helpers.js';

/** Every temp dir of this file, removed after it (the machine is shared). */
const made: string[] = [];
async function tmpDir(prefix: string): Promise<string> {
  const d = await newTmpDir(prefix);
  made.push(d);
  return d;
}

const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;
let marks: string;
let nogroup: number;

beforeAll(async () => {
  marks = await tmpDir('apxs-ts-trust-marks-');
  await fs.chmod(marks, 0o1777); // the planted program may run as nobody in the allowed cases
  const group = await fs.readFile('/etc/group', 'utf8');
  nogroup = Number(/^nogroup:x:(\d+):/m.exec(group)?.[1] ?? NOBODY);
});

afterAll(async () => {
  for (const d of made) await fs.rm(d, { recursive: true, force: true });
  await fs.rm('/tmp/apxs-ts-trust-nobody-cache', { recursive: true, force: true });
});

interface Planted {
  base: string;
  /** The server root the record is in. */
  root: string;
  program: string;
  mark: string;
}

/** A directory `base` with apxs-ts.json -> ./srv, and srv/ a sandbox whose record names a program that leaves a mark. */
async function plant(name: string): Promise<Planted> {
  const base = await tmpDir(`apxs-ts-trust-${name}-`);
  const root = path.join(base, 'srv');
  const mark = path.join(marks, name);
  const program = path.join(root, 'prog.sh');
  await fs.mkdir(path.join(root, 'conf'), { recursive: true, mode: 0o755 });
  await fs.mkdir(path.join(base, 'work'), { mode: 0o755 });
  await fs.writeFile(path.join(root, 'conf', 'httpd.conf'), 'Listen 127.0.0.1:1\n');
  await fs.writeFile(
    program,
    `#!/bin/sh\ntouch '${mark}'\necho 'Server version: Apache/2.4.99 (Unix)'\necho 'Syntax OK' >&2\nexit 0\n`,
    { mode: 0o755 },
  );
  await fs.writeFile(
    path.join(root, 'apxs-ts-sandbox.json'),
    JSON.stringify({
      kind: 'sandbox',
      httpd: program,
      apxs: null,
      systemModulesDir: '/usr/lib/apache2/modules',
      port: 1,
      created: 'x',
    }),
  );
  await fs.writeFile(path.join(base, 'apxs-ts.json'), JSON.stringify({ serverRoot: './srv' }));
  return { base, root, program, mark };
}

const ran = (p: Planted) =>
  fs.stat(p.mark).then(
    () => true,
    () => false,
  );

async function chownR(p: string, uid: number, gid = nogroup): Promise<void> {
  await fs.chown(p, uid, gid);
  if ((await fs.lstat(p)).isDirectory())
    for (const e of await fs.readdir(p)) await chownR(path.join(p, e), uid, gid);
}

/** Commands that act on a found server root, in turn. */
const COMMANDS = [
  ['doctor', '--json'],
  ['query', 'CC', '--json'],
  ['ctl', 'configtest', '--json'],
  ['ctl', 'status', '--json'],
  ['vhost', 'list', '--json'],
];

interface Variant {
  name: string;
  /** Makes the planted tree unsafe; returns extra args/env for the run. */
  make: (
    p: Planted,
  ) => Promise<{ args?: string[]; env?: Record<string, string>; cwd?: string } | undefined>;
}

const UNSAFE: Variant[] = [
  {
    name: 'config-owned-by-nobody',
    make: async (p) => {
      await fs.chown(path.join(p.base, 'apxs-ts.json'), NOBODY, nogroup);
    },
  },
  {
    name: 'config-dir-owned-by-nobody',
    make: async (p) => {
      await fs.chown(p.base, NOBODY, nogroup);
    },
  },
  {
    name: 'config-writable-by-others',
    make: async (p) => {
      await fs.chmod(path.join(p.base, 'apxs-ts.json'), 0o666);
    },
  },
  {
    name: 'config-writable-by-group',
    make: async (p) => {
      await fs.chown(path.join(p.base, 'apxs-ts.json'), 0, nogroup);
      await fs.chmod(path.join(p.base, 'apxs-ts.json'), 0o664);
    },
  },
  {
    name: 'dir-writable-by-others',
    make: async (p) => {
      await fs.chmod(p.base, 0o777);
    },
  },
  {
    name: 'symlinked-config',
    make: async (p) => {
      // The link is root's, in root's directory; its target is nobody's.
      const elsewhere = await tmpDir('apxs-ts-trust-target-');
      await fs.rename(path.join(p.base, 'apxs-ts.json'), path.join(elsewhere, 'real.json'));
      await fs.writeFile(path.join(elsewhere, 'real.json'), JSON.stringify({ serverRoot: p.root }));
      await chownR(elsewhere, NOBODY);
      await fs.symlink(path.join(elsewhere, 'real.json'), path.join(p.base, 'apxs-ts.json'));
    },
  },
  {
    name: 'env-var-target-owned-by-nobody',
    make: async (p) => {
      await fs.rm(path.join(p.base, 'apxs-ts.json'));
      await chownR(p.root, NOBODY);
      return { env: { APXS_TS_SERVER_ROOT: p.root } };
    },
  },
  {
    name: 'sandbox-record-owned-by-nobody',
    make: async (p) => {
      await fs.chown(path.join(p.root, 'apxs-ts-sandbox.json'), NOBODY, nogroup);
    },
  },
  {
    name: 'parent-dir-owned-by-nobody',
    make: async (p) => {
      // The config and its directory are root's; the directory above them is not.
      const top = await tmpDir('apxs-ts-trust-parent-');
      const moved = path.join(top, 'proj');
      await fs.rename(p.base, moved);
      await fs.chown(top, NOBODY, nogroup);
      return { cwd: path.join(moved, 'work') };
    },
  },
  {
    name: 'program-owned-by-nobody',
    make: async (p) => {
      await fs.chown(p.program, NOBODY, nogroup);
    },
  },
  {
    name: 'server-root-owned-by-nobody',
    make: async (p) => {
      await fs.chown(p.root, NOBODY, nogroup);
    },
  },
  {
    name: 'server-root-writable-by-group',
    make: async (p) => {
      await fs.chown(p.root, 0, nogroup);
      await fs.chmod(p.root, 0o775);
    },
  },
  {
    name: 'explicit-server-root-owned-by-nobody',
    make: async (p) => {
      await fs.rm(path.join(p.base, 'apxs-ts.json'));
      await chownR(p.root, NOBODY);
      return { args: ['--server-root', p.root] };
    },
  },
  {
    name: 'ledger-owned-by-nobody',
    make: async (p) => {
      await fs.mkdir(path.join(p.root, '.apxs-ts'), { mode: 0o755 });
      await fs.writeFile(
        path.join(p.root, '.apxs-ts', 'created.json'),
        JSON.stringify({ docroots: { '/': { vhost: 'x' } } }),
      );
      await fs.chown(path.join(p.root, '.apxs-ts', 'created.json'), NOBODY, nogroup);
    },
  },
  {
    name: 'prefix-envvars-owned-by-nobody',
    make: async (p) => {
      // A prefix root: bin/httpd is the program, bin/envvars is sourced by sh.
      await fs.rm(path.join(p.root, 'apxs-ts-sandbox.json'));
      await fs.mkdir(path.join(p.root, 'bin'), { mode: 0o755 });
      await fs.rename(p.program, path.join(p.root, 'bin', 'httpd'));
      await fs.writeFile(path.join(p.root, 'bin', 'envvars'), `touch '${p.mark}'\n`, {
        mode: 0o755,
      });
      await fs.chown(path.join(p.root, 'bin', 'envvars'), NOBODY, nogroup);
    },
  },
];

describe.skipIf(!isRoot)(
  'found configs another user could have written are refused (#16 defect 1)',
  () => {
    it(`${UNSAFE.length} unsafe variants x their command: every one UNSAFE_CONFIG (exit 2) naming the path and owner, the planted program never ran`, async () => {
      const outcomes: string[] = [];
      let ranCount = 0;
      let refused = 0;
      for (const [i, v] of UNSAFE.entries()) {
        const p = await plant(v.name);
        const extra = (await v.make(p)) ?? {};
        const cmd = COMMANDS[i % COMMANDS.length]!;
        const r = await cli([...cmd, ...(extra.args ?? [])], {
          cwd: extra.cwd ?? path.join(p.base, 'work'),
          env: { APXS_TS_SERVER_ROOT: '', ...extra.env },
        });
        const didRun = await ran(p);
        if (didRun) ranCount++;
        const e = r.json?.error;
        // Refused as the rule says: the code and exit 2, the path, its owner, and how to trust it.
        const ok =
          r.code === 2 &&
          e?.code === 'UNSAFE_CONFIG' &&
          /^refusing /.test(e.message) &&
          typeof r.json.path === 'string' &&
          /uid \d+/.test(r.json.owner) &&
          e.hint.includes('--trust');
        if (ok) refused++;
        outcomes.push(`${v.name} (${cmd.join(' ')}): exit ${r.code} ${e?.code} ran=${didRun}`);
      }
      expect(refused, outcomes.join('\n')).toBe(UNSAFE.length);
      expect(ranCount, outcomes.join('\n')).toBe(0);
      expect(UNSAFE.length).toBeGreaterThanOrEqual(10);
    }, 120_000);

    it('human output names the file and its owner', async () => {
      const p = await plant('human');
      await fs.chown(path.join(p.base, 'apxs-ts.json'), NOBODY, nogroup);
      const r = await cli(['ctl', 'configtest'], {
        cwd: path.join(p.base, 'work'),
        env: { APXS_TS_SERVER_ROOT: '' },
      });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`refusing apxs-ts.json ${path.join(p.base, 'apxs-ts.json')}`);
      expect(r.stderr).toContain('owned by nobody (uid 65534)');
      expect(await ran(p)).toBe(false);
    });
  },
);

function suNobody(args: string[], cwd: string): Promise<{ code: number; stdout: string }> {
  const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const cmd = `cd ${q(cwd)} && APXS_TS_SYSTEM_ROOT=none APXS_TS_SERVER_ROOT= XDG_CACHE_HOME=/tmp/apxs-ts-trust-nobody-cache ${q(process.execPath)} ${q(CLI)} ${args.map(q).join(' ')}`;
  return new Promise((resolve) => {
    execFile('su', ['nobody', '-s', '/bin/sh', '-c', cmd], (err, stdout) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout });
    });
  });
}

describe.skipIf(!isRoot)("what is the user's own, root's, or trusted still works", () => {
  const runs = async (p: Planted, args: string[], env: Record<string, string> = {}) => {
    const r = await cli(['ctl', 'configtest', '--json', ...args], {
      cwd: path.join(p.base, 'work'),
      env: { APXS_TS_SERVER_ROOT: '', ...env },
    });
    return { r, ran: await ran(p) };
  };

  it("root's own files (in sticky /tmp, a group-writable file of root's private group): found and run", async () => {
    const p = await plant('own');
    await fs.chmod(path.join(p.base, 'apxs-ts.json'), 0o664); // group root: only root is in it
    const { r, ran: didRun } = await runs(p, []);
    expect(r.json?.error?.code).not.toBe('UNSAFE_CONFIG');
    expect(r.json.serverRootFrom).toBe('project');
    expect(didRun).toBe(true);
  });

  it("nobody's files, trusted by --trust DIR or APXS_TS_SAFE_DIRECTORIES (and `*`): run", async () => {
    let count = 0;
    for (const how of ['flag', 'env', 'star'] as const) {
      const p = await plant(`trusted-${how}`);
      await chownR(p.base, NOBODY);
      const { r, ran: didRun } =
        how === 'flag'
          ? await runs(p, ['--trust', p.base])
          : await runs(p, [], {
              APXS_TS_SAFE_DIRECTORIES: how === 'env' ? `/nonexistent:${p.base}` : '*',
            });
      expect(r.json?.error?.code, how).not.toBe('UNSAFE_CONFIG');
      if (didRun) count++;
    }
    expect(count).toBe(3);
  });

  it("root by sudo trusts the files of the user who ran sudo (SUDO_UID), and no one else's", async () => {
    const p = await plant('sudo');
    await chownR(p.base, NOBODY);
    const other = await runs(p, [], { SUDO_UID: '1', SUDO_GID: '1' });
    expect(other.r.json?.error?.code).toBe('UNSAFE_CONFIG');
    expect(other.ran).toBe(false);
    const theirs = await runs(p, [], { SUDO_UID: String(NOBODY), SUDO_GID: String(nogroup) });
    expect(theirs.r.json?.error?.code).not.toBe('UNSAFE_CONFIG');
    expect(theirs.ran).toBe(true);
  });

  it("as nobody: nobody's own files and root's are trusted", async () => {
    const mine = await plant('as-nobody-own');
    await chownR(mine.base, NOBODY);
    const a = await suNobody(['ctl', 'configtest', '--json'], path.join(mine.base, 'work'));
    expect(JSON.parse(a.stdout).error?.code).not.toBe('UNSAFE_CONFIG');
    expect(await ran(mine)).toBe(true);
    const roots = await plant('as-nobody-roots');
    const b = await suNobody(['ctl', 'configtest', '--json'], path.join(roots.base, 'work'));
    expect(JSON.parse(b.stdout).error?.code).not.toBe('UNSAFE_CONFIG');
    expect(await ran(roots)).toBe(true);
  });

  it("as nobody: root's server root holding a file of another user (uid 1) is refused", async () => {
    const p = await plant('as-nobody-other');
    await fs.chown(path.join(p.root, 'apxs-ts-sandbox.json'), 1, 1);
    const r = await suNobody(['ctl', 'configtest', '--json'], path.join(p.base, 'work'));
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout).error.code).toBe('UNSAFE_CONFIG');
    expect(await ran(p)).toBe(false);
  });
});

/** Runs the CLI as nobody; its JSON (or undefined). */
async function nobodyJson(args: string[]): Promise<{ code: number; json: any }> {
  const r = await suNobody([...args, '--json'], '/tmp');
  let json: any;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    json = undefined;
  }
  return { code: r.code, json };
}

describe.skipIf(!isRoot)(
  'a hosts file the user cannot write is never replaced (#16 defect 9)',
  () => {
    it('root-owned hosts files nobody may not write, in a 0777 or 1777 directory: 4 of 4 edits PERMISSION_DENIED, bytes, inode, owner and mode kept, nothing left beside', async () => {
      const cases: { dir: number; mode: number; args: (f: string) => string[] }[] = [
        { dir: 0o777, mode: 0o644, args: (f) => ['hosts', 'add', 'x.dd', '--hosts-file', f] },
        { dir: 0o777, mode: 0o644, args: (f) => ['hosts', 'remove', 'old.dd', '--hosts-file', f] },
        { dir: 0o777, mode: 0o600, args: (f) => ['hosts', 'add', 'x.dd', '--hosts-file', f] },
        { dir: 0o1777, mode: 0o644, args: (f) => ['hosts', 'add', 'x.dd', '--hosts-file', f] },
      ];
      let denied = 0;
      for (const c of cases) {
        const d = await tmpDir('apxs-ts-trust-hosts-');
        await fs.chmod(d, c.dir);
        const f = path.join(d, 'hosts');
        await fs.writeFile(
          f,
          '127.0.0.1 localhost\n# BEGIN apxs-ts\n127.0.0.1 old.dd\n# END apxs-ts\n',
          { mode: c.mode },
        );
        await fs.chmod(f, c.mode);
        const before = await fs.stat(f);
        const bytes = await fs.readFile(f);
        const r = await nobodyJson(c.args(f));
        const after = await fs.stat(f);
        if (r.code === 1 && r.json?.error?.code === 'PERMISSION_DENIED') denied++;
        expect(await fs.readFile(f)).toEqual(bytes);
        expect([after.ino, after.uid, after.gid, after.mode]).toEqual([
          before.ino,
          before.uid,
          before.gid,
          before.mode,
        ]);
        expect(await fs.readdir(d)).toEqual(['hosts']);
      }
      expect(denied).toBe(cases.length);
    }, 60_000);

    it("a root-owned 0666 hosts file nobody may write: changed in place, still root's, 0666, same inode", async () => {
      const d = await tmpDir('apxs-ts-trust-hosts-');
      await fs.chmod(d, 0o777);
      const f = path.join(d, 'hosts');
      await fs.writeFile(f, '127.0.0.1 localhost\n');
      await fs.chmod(f, 0o666);
      const before = await fs.stat(f);
      const r = await nobodyJson([
        'hosts',
        'add',
        'shared.dd',
        '--hosts-file',
        f,
        '--backup-dir',
        path.join(d, 'bak'),
      ]);
      expect(r.code).toBe(0);
      expect(r.json.method).toBe('in-place');
      const after = await fs.stat(f);
      expect([after.ino, after.uid, after.mode & 0o7777]).toEqual([before.ino, 0, 0o666]);
      expect(await fs.readFile(f, 'utf8')).toContain('127.0.0.1 shared.dd');
    }, 30_000);

    it("root editing nobody's 0640 hosts file: replaced by rename, owner nobody:nogroup and mode 0640 kept", async () => {
      const d = await tmpDir('apxs-ts-trust-hosts-');
      const f = path.join(d, 'hosts');
      await fs.writeFile(f, '127.0.0.1 localhost\n');
      await fs.chown(f, NOBODY, nogroup);
      await fs.chmod(f, 0o640);
      const r = await cli(['hosts', 'add', 'kept.dd', '--hosts-file', f, '--json']);
      expect(r.code).toBe(0);
      expect(r.json.method).toBe('rename');
      const st = await fs.stat(f);
      expect([st.uid, st.gid, st.mode & 0o7777]).toEqual([NOBODY, nogroup, 0o640]);
    });
  },
);

describe.skipIf(!isRoot)(
  'caches and lists in the cache dir that another user wrote are not ours (#16)',
  () => {
    it("a toolchain cache naming another compiler, owned by nobody: ignored, the planted compiler never runs, the build uses apxs's", async () => {
      const work = await tmpDir('apxs-ts-trust-cache-');
      const cache = path.join(work, 'cache');
      const env = { XDG_CACHE_HOME: cache };
      expect((await cli(['new', 'mod_cc'], { cwd: work, env })).code).toBe(0);
      const mod = path.join(work, 'mod_cc');
      expect((await cli(['build'], { cwd: mod, env })).code).toBe(0);
      const dir = path.join(cache, 'apxs-ts');
      const files = (await fs.readdir(dir)).filter((f) => /^toolchain-.*\.json$/.test(f));
      expect(files).toHaveLength(1);
      const file = path.join(dir, files[0]!);
      const mark = path.join(marks, 'cc');
      const evil = path.join(work, 'evil-cc.sh');
      await fs.writeFile(evil, `#!/bin/sh\ntouch '${mark}'\nexec gcc "$@"\n`, { mode: 0o755 });
      const entry = JSON.parse(await fs.readFile(file, 'utf8')); // lib/core/cache.ts: {key, value}
      const planted = JSON.stringify({ ...entry, value: { ...entry.value, CC: evil } });
      await fs.writeFile(file, planted);
      await fs.chown(file, NOBODY, nogroup);
      await fs.writeFile(
        path.join(mod, 'mod_cc.c'),
        `${await fs.readFile(path.join(mod, 'mod_cc.c'), 'utf8')}\n/* changed */\n`,
      );
      const r = await cli(['build', '--json'], { cwd: mod, env });
      expect(r.code, r.stdout).toBe(0);
      expect(
        await fs.stat(mark).then(
          () => true,
          () => false,
        ),
      ).toBe(false);
      // The same cache, root's own: used (the planted compiler runs), so the test above shows the check, not a miss.
      await fs.rm(file);
      await fs.writeFile(file, planted);
      await fs.writeFile(
        path.join(mod, 'mod_cc.c'),
        `${await fs.readFile(path.join(mod, 'mod_cc.c'), 'utf8')}\n/* again */\n`,
      );
      expect((await cli(['build'], { cwd: mod, env })).code).toBe(0);
      expect(
        await fs.stat(mark).then(
          () => true,
          () => false,
        ),
      ).toBe(true);
    }, 60_000);

    it('a sandbox list owned by nobody: sandbox list refuses it (UNSAFE_CONFIG), nothing stopped or removed', async () => {
      const work = await tmpDir('apxs-ts-trust-list-');
      const cache = path.join(work, 'cache');
      await fs.mkdir(path.join(cache, 'apxs-ts'), { recursive: true });
      const list = path.join(cache, 'apxs-ts', 'sandboxes.json');
      await fs.writeFile(
        list,
        JSON.stringify({
          entries: [
            {
              root: path.join(work, 'victim'),
              port: 1,
              httpd: '/bin/true',
              created: 'x',
              madeDir: true,
              made: [],
            },
          ],
        }),
      );
      await fs.mkdir(path.join(work, 'victim'));
      await fs.chown(list, NOBODY, nogroup);
      const r = await cli(['sandbox', 'list', '--json'], { env: { XDG_CACHE_HOME: cache } });
      expect(r.code).toBe(2);
      expect(r.json.error.code).toBe('UNSAFE_CONFIG');
      expect(
        await fs.stat(path.join(work, 'victim')).then(
          () => true,
          () => false,
        ),
      ).toBe(true);
    });

    it('no compiled code is kept in the cache dir (nothing another user could plant there runs): a planted V8 code cache is left alone, none is written', async () => {
      // The launcher once loaded V8 code caches from here (and refused foreign ones); now it compiles the bundle every run.
      const cache = await tmpDir('apxs-ts-trust-v8-');
      const env = { XDG_CACHE_HOME: cache };
      const dir = path.join(cache, 'apxs-ts');
      await fs.mkdir(dir);
      const planted = path.join(dir, 'code-cache-0-0-_.v8');
      await fs.writeFile(planted, 'not code');
      await fs.chown(planted, NOBODY, nogroup);
      for (const args of [['--version'], ['--help'], ['ctl', '--help']])
        expect((await cli(args, { env })).code).toBe(0);
      expect(await fs.readdir(dir)).toEqual(['code-cache-0-0-_.v8']);
      expect(await fs.readFile(planted, 'utf8')).toBe('not code');
    });
  },
);
