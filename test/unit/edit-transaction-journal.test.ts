/**
 * EditTransaction's on-disk journal, in-process (for mutation testing):
 * recover() of an open journal (every kind of step undone) and of a
 * committed one (copies kept as backups, purges done), the warnings' exact
 * words, journals not trusted or not well formed (nothing done), undo that
 * keeps what someone else changed since, and rollback/commit bookkeeping.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EditTransaction } from '../../lib/core/edit-transaction.js';
import { ApxsError } from '../../lib/core/errors.js';

async function tmp(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'apxs-ts-txj-'));
}

/** Every entry under `dir`: file bytes, link targets, directories. */
async function tree(dir: string, rel = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of (await fs.readdir(path.join(dir, rel), { withFileTypes: true })).sort((a, b) =>
    a.name.localeCompare(b.name),
  )) {
    const r = path.join(rel, e.name);
    const full = path.join(dir, r);
    if (e.isSymbolicLink()) out[r] = `link -> ${await fs.readlink(full)}`;
    else if (e.isDirectory()) Object.assign(out, { [r]: 'dir' }, await tree(dir, r));
    else out[r] = await fs.readFile(full, 'utf8');
  }
  return out;
}

interface Fx {
  dir: string;
  work: string;
  journal: string;
  backups: string;
}

async function fixture(): Promise<Fx> {
  const dir = await tmp();
  const work = path.join(dir, 'work');
  await fs.mkdir(work);
  await fs.writeFile(path.join(work, 'a.conf'), 'a original\n');
  await fs.writeFile(path.join(work, 'gone.conf'), 'gone original\n');
  await fs.writeFile(path.join(work, 'hosts'), 'hosts original\n');
  await fs.symlink('a.conf', path.join(work, 'link-changed'));
  await fs.symlink('gone.conf', path.join(work, 'link-removed'));
  return { dir, work, journal: path.join(dir, 'edit.json'), backups: path.join(dir, 'backups') };
}

const readJ = async (file: string) => JSON.parse(await fs.readFile(file, 'utf8'));
const who = (j: { what: string; pid: number; started: string }) =>
  `"${j.what}" (pid ${j.pid}, started ${j.started})`;

async function err(p: Promise<unknown>): Promise<ApxsError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(ApxsError);
    return e as ApxsError;
  }
  throw new Error('did not throw');
}

/** Every kind of step, left as a killed process leaves them (journal open). */
async function killedEdit(f: Fx): Promise<{ tx: EditTransaction; before: Record<string, string> }> {
  const before = await tree(f.work);
  const w = (n: string) => path.join(f.work, n);
  const tx = new EditTransaction(f.backups, { file: f.journal, what: 'test edit' });
  expect(tx.dirty).toBe(false);
  expect(await tx.write(w('a.conf'), 'a changed\n')).toBe(true);
  expect(tx.dirty).toBe(true);
  expect(await tx.write(w('a.conf'), 'a changed again\n')).toBe(true);
  expect(await tx.write(w('new.conf'), 'new\n')).toBe(true);
  expect(await tx.remove(w('gone.conf'))).toBe(true);
  expect(await tx.symlink('new.conf', w('link-changed'))).toBe(true);
  expect(await tx.symlink('a.conf', w('link-made'))).toBe(true);
  expect(await tx.remove(w('link-removed'))).toBe(true);
  expect(await tx.mkdir(w('d1/d2/d3'))).toBe(w('d1'));
  expect(await tx.write(w('d1/d2/d3/in.conf'), 'in\n')).toBe(true);
  const hosts = w('hosts');
  expect(
    await tx.shared(hosts, `${hosts}.apxs-ts.lock`, 'hosts changed\n', () =>
      fs.writeFile(hosts, 'hosts changed\n'),
    ),
  ).toBe(true);
  await tx.removeAfterCommit(w('purge'));
  return { tx, before };
}

describe('recover() of an open journal', () => {
  it('undoes every kind of step, newest first, and removes the journal', async () => {
    const f = await fixture();
    await fs.mkdir(path.join(f.work, 'purge'));
    const { tx, before } = await killedEdit(f);
    const w = (n: string) => path.join(f.work, n);
    expect(tx.changed).toEqual([
      w('a.conf'),
      w('a.conf'),
      w('new.conf'),
      w('gone.conf'),
      w('link-changed'),
      w('link-made'),
      w('link-removed'),
      w('d1'),
      w('d1/d2/d3/in.conf'),
    ]);
    const j = await readJ(f.journal);
    expect(j.version).toBe(1);
    expect(j.what).toBe('test edit');
    expect(j.pid).toBe(process.pid);
    expect(j.removeAfterCommit).toEqual([w('purge')]);
    expect(j.steps.map((s: { kind: string; path: string }) => `${s.kind} ${s.path}`)).toEqual([
      `file ${w('a.conf')}`,
      `file ${w('new.conf')}`,
      `file ${w('gone.conf')}`,
      `link ${w('link-changed')}`,
      `link ${w('link-made')}`,
      `link ${w('link-removed')}`,
      `dir ${w('d1')}`,
      `file ${w('d1/d2/d3/in.conf')}`,
      `shared ${w('hosts')}`,
    ]);
    expect(j.steps[0].after).toHaveLength(2);
    expect(j.steps[2].after).toEqual([]);
    expect(j.steps[3].target).toBe('a.conf');
    expect(j.steps[4].target).toBe(null);
    expect(j.steps[5].target).toBe('gone.conf');
    expect(j.steps[8].lock).toBe(`${w('hosts')}.apxs-ts.lock`);

    const out = await EditTransaction.recover(f.journal, f.backups);
    const put = [...j.steps]
      .reverse()
      .map((s: { path: string }) => s.path)
      .join(', ');
    expect(out).toEqual([`undid ${who(j)}, which was killed before it was done: put back ${put}`]);
    const after = await tree(f.work);
    delete after['hosts.apxs-ts.lock'];
    expect(after).toEqual({ ...before, purge: 'dir' });
    expect(await fs.readdir(f.dir)).toEqual(['work']);
    // Nothing left: a second recover has nothing to do.
    expect(await EditTransaction.recover(f.journal, f.backups)).toEqual([]);
  });

  it('says "put back nothing" for a journal with no steps', async () => {
    const f = await fixture();
    const j = {
      version: 1,
      what: 'empty',
      pid: 42,
      started: 'then',
      steps: [],
      removeAfterCommit: [],
    };
    await fs.writeFile(f.journal, JSON.stringify(j), { mode: 0o600 });
    expect(await EditTransaction.recover(f.journal)).toEqual([
      'undid "empty" (pid 42, started then), which was killed before it was done: put back nothing',
    ]);
    await expect(fs.lstat(f.journal)).rejects.toThrow();
  });

  it('keeps a file someone changed since (and its original), and says so', async () => {
    const f = await fixture();
    const a = path.join(f.work, 'a.conf');
    const n = path.join(f.work, 'new.conf');
    const tx = new EditTransaction(f.backups, { file: f.journal, what: 'e' });
    await tx.write(a, 'ours\n');
    await tx.write(n, 'ours new\n');
    const copy = tx.backups[0]!;
    expect(tx.backups).toEqual([copy]);
    await fs.writeFile(a, 'theirs\n');
    await fs.writeFile(n, 'theirs new\n');
    const j = await readJ(f.journal);
    const out = await EditTransaction.recover(f.journal);
    expect(out).toEqual([
      `undid ${who(j)}, which was killed before it was done: put back ${n}, ${a}`,
      `${n} was changed by someone else since this edit changed it: left as it is`,
      `${a} was changed by someone else since this edit changed it: left as it is; its original is kept as ${copy}`,
    ]);
    expect(await fs.readFile(a, 'utf8')).toBe('theirs\n');
    expect(await fs.readFile(n, 'utf8')).toBe('theirs new\n');
    expect(await fs.readFile(copy, 'utf8')).toBe('a original\n');
  });

  it('puts back a file that holds its original again, or nothing', async () => {
    const f = await fixture();
    const a = path.join(f.work, 'a.conf');
    const n = path.join(f.work, 'new.conf');
    const tx = new EditTransaction(undefined, { file: f.journal, what: 'e' });
    await tx.write(a, 'ours\n');
    await tx.write(n, 'ours new\n');
    await fs.writeFile(a, 'a original\n');
    await fs.rm(n);
    const out = await EditTransaction.recover(f.journal);
    expect(out).toHaveLength(1);
    expect(await tree(f.work)).toEqual({
      'a.conf': 'a original\n',
      'gone.conf': 'gone original\n',
      hosts: 'hosts original\n',
      'link-changed': 'link -> a.conf',
      'link-removed': 'link -> gone.conf',
    });
  });

  it("keeps a directory it made that now holds a user's file, but removes our temp files", async () => {
    const f = await fixture();
    const d = path.join(f.work, 'd');
    const e = path.join(f.work, 'e');
    const tx = new EditTransaction(undefined, { file: f.journal, what: 'e' });
    expect(await tx.mkdir(path.join(d, 'sub'))).toBe(d);
    expect(await tx.mkdir(path.join(d, 'sub'))).toBe(undefined);
    expect(await tx.mkdir(e)).toBe(e);
    await fs.writeFile(path.join(d, 'sub', 'user.txt'), 'mine');
    await fs.writeFile(path.join(e, '.x.conf.apxs-ts-123-abc9.tmp'), 'half');
    await fs.mkdir(path.join(e, 'empty'));
    const out = await EditTransaction.recover(f.journal);
    expect(out.slice(1)).toEqual([
      `${d} holds files this edit did not make (put there since): left as it is`,
    ]);
    expect(await fs.readFile(path.join(d, 'sub', 'user.txt'), 'utf8')).toBe('mine');
    await expect(fs.lstat(e)).rejects.toThrow();
  });

  it("counts a symlink or a non-temp dotfile in a made directory as a user's file", async () => {
    const f = await fixture();
    const d = path.join(f.work, 'd');
    const e = path.join(f.work, 'e');
    const tx = new EditTransaction(undefined, { file: f.journal, what: 'e' });
    await tx.mkdir(d);
    await tx.mkdir(e);
    await fs.symlink('/', path.join(d, 'l'));
    await fs.writeFile(path.join(e, '.x.conf.apxs-ts-abc.tmp'), 'not ours');
    const out = await EditTransaction.recover(f.journal);
    expect(out.slice(1)).toEqual([
      `${e} holds files this edit did not make (put there since): left as it is`,
      `${d} holds files this edit did not make (put there since): left as it is`,
    ]);
  });

  it('keeps a file or directory put where it made a symlink', async () => {
    const f = await fixture();
    const l1 = path.join(f.work, 'l1');
    const l2 = path.join(f.work, 'l2');
    const tx = new EditTransaction(undefined, { file: f.journal, what: 'e' });
    await tx.symlink('a.conf', l1);
    await tx.symlink('a.conf', l2);
    expect(await tx.symlink('a.conf', l2)).toBe(false);
    await fs.rm(l1);
    await fs.writeFile(l1, 'file');
    await fs.rm(l2);
    await fs.mkdir(l2);
    const out = await EditTransaction.recover(f.journal);
    expect(out.slice(1)).toEqual([
      `${l2} is no longer a symlink (someone put a directory there since this edit): left as it is`,
      `${l1} is no longer a symlink (someone put a file there since this edit): left as it is`,
    ]);
    expect(await fs.readFile(l1, 'utf8')).toBe('file');
  });

  it('a shared file: restored while it holds ours, left (quietly when it is the original) otherwise', async () => {
    for (const [now, warned] of [
      ['other\n', true],
      ['hosts original\n', false],
    ] as const) {
      const f = await fixture();
      const hosts = path.join(f.work, 'hosts');
      const tx = new EditTransaction(undefined, { file: f.journal, what: 'e' });
      expect(
        await tx.shared(hosts, `${hosts}.apxs-ts.lock`, 'hosts original\n', async () => {}),
      ).toBe(false);
      await tx.shared(hosts, `${hosts}.apxs-ts.lock`, Buffer.from('ours\n'), () =>
        fs.writeFile(hosts, 'ours\n'),
      );
      await fs.writeFile(hosts, now);
      const out = await EditTransaction.recover(f.journal);
      expect(out.slice(1)).toEqual(
        warned
          ? [
              `${hosts} was changed by another program since this edit changed it: left as it is; check its apxs-ts block`,
            ]
          : [],
      );
      expect(await fs.readFile(hosts, 'utf8')).toBe(now);
      expect((await fs.readdir(f.work)).filter((n) => n.includes('undo'))).toEqual([]);
    }
  });

  it('an undo that fails keeps the journal and throws CONFIG_BROKEN_BEFORE', async () => {
    const f = await fixture();
    const sub = path.join(f.work, 'sub');
    await fs.mkdir(sub);
    await fs.symlink('x', path.join(sub, 'l'));
    const tx = new EditTransaction(undefined, { file: f.journal, what: 'e' });
    await tx.symlink('y', path.join(sub, 'l'));
    await fs.rm(sub, { recursive: true });
    const j = await readJ(f.journal);
    const e = await err(EditTransaction.recover(f.journal));
    expect(e.code).toBe('CONFIG_BROKEN_BEFORE');
    expect(e.message).toBe(`could not undo ${who(j)}, which was killed before it was done`);
    expect(e.hint).toBe(
      `fix what the details name, then run the command again (the journal ${f.journal} is kept and tried again)`,
    );
    expect(e.details).toHaveLength(1);
    expect(e.details[0]).toMatch(
      new RegExp(
        `^could not put back ${path.join(sub, 'l').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ENOENT`,
      ),
    );
    expect(e.data).toEqual({ journal: f.journal });
    expect(await readJ(f.journal)).toEqual(j);
  });
});

describe('recover() of a committed journal', () => {
  it('keeps the copies as backups, removes the purged dirs and the journal', async () => {
    const f = await fixture();
    const purge = path.join(f.work, 'purge');
    await fs.mkdir(path.join(purge, 'deep'), { recursive: true });
    await fs.writeFile(path.join(purge, 'deep', 'x'), 'x');
    await killedEdit(f);
    const j = await readJ(f.journal);
    await fs.rename(f.journal, f.journal.replace(/\.json$/, '.committed.json'));
    const out = await EditTransaction.recover(f.journal, f.backups);
    expect(out).toEqual([
      `finished ${who(j)}, which was killed after its commit; removed ${purge}`,
    ]);
    expect(await fs.readdir(f.dir)).toEqual(['backups', 'work']);
    const baks = (await fs.readdir(f.backups)).sort();
    expect(baks).toHaveLength(2);
    expect(baks[0]).toMatch(/^a\.conf\..*\.bak$/);
    expect(baks[1]).toMatch(/^gone\.conf\..*\.bak$/);
    expect(await fs.readFile(path.join(f.backups, baks[0]!), 'utf8')).toBe('a original\n');
    expect(await fs.readFile(path.join(f.backups, baks[1]!), 'utf8')).toBe('gone original\n');
    const t = await tree(f.work);
    expect(Object.keys(t).filter((k) => k.includes('undo') || k.startsWith('purge'))).toEqual([]);
    expect(t['a.conf']).toBe('a changed again\n');
    expect(t['hosts']).toBe('hosts changed\n');
    expect(t['link-changed']).toBe('link -> new.conf');
  });

  it('without a backup dir keeps no backups, and says nothing of removals when there were none', async () => {
    const f = await fixture();
    const a = path.join(f.work, 'a.conf');
    const tx = new EditTransaction(undefined, { file: f.journal, what: 'c' });
    await tx.write(a, 'x\n');
    const j = await readJ(f.journal);
    await fs.rename(f.journal, f.journal.replace(/\.json$/, '.committed.json'));
    expect(await EditTransaction.recover(f.journal)).toEqual([
      `finished ${who(j)}, which was killed after its commit`,
    ]);
    expect(await fs.readdir(f.dir)).toEqual(['work']);
    expect((await fs.readdir(f.work)).sort()).toEqual([
      'a.conf',
      'gone.conf',
      'hosts',
      'link-changed',
      'link-removed',
    ]);
  });

  it('a committed journal is finished before an open one is looked at', async () => {
    const f = await fixture();
    const c = { version: 1, what: 'c', pid: 1, started: 's', steps: [], removeAfterCommit: [] };
    await fs.writeFile(f.journal.replace(/\.json$/, '.committed.json'), JSON.stringify(c), {
      mode: 0o644,
    });
    await fs.writeFile(f.journal, JSON.stringify({ ...c, what: 'o' }), { mode: 0o644 });
    expect(await EditTransaction.recover(f.journal)).toEqual([
      'finished "c" (pid 1, started s), which was killed after its commit',
    ]);
    expect(await fs.readdir(f.dir)).toEqual(['edit.json', 'work']);
  });
});

describe('journals not followed', () => {
  const hint =
    'an edit journal is followed only when you or root wrote it; look at it, then move it away (nothing was changed) or run the command as the user who made the edit';

  async function openJournal(f: Fx): Promise<Record<string, string>> {
    const tx = new EditTransaction(undefined, { file: f.journal, what: 'e' });
    await tx.write(path.join(f.work, 'a.conf'), 'changed\n');
    await tx.mkdir(path.join(f.work, 'd'));
    return tree(f.dir);
  }

  it('one owned by another user', async () => {
    const f = await fixture();
    const before = await openJournal(f);
    await fs.chmod(f.journal, 0o644);
    await fs.chown(f.journal, 65534, 65534);
    const e = await err(EditTransaction.recover(f.journal));
    const me = process.geteuid!();
    expect(e.code).toBe('UNSAFE_CONFIG');
    expect(e.message).toBe(
      `${f.journal} belongs to uid 65534, not to you (uid ${me}) or root: not recovering the edit it records`,
    );
    expect(e.hint).toBe(hint);
    expect(e.data).toEqual({ path: f.journal, uid: 65534, mode: 0o100644 & 0o7777 });
    expect(await tree(f.dir)).toEqual(before);
  });

  it.each([
    [0o664, '664'],
    [0o646, '646'],
    [0o622, '622'],
  ])('one writable by others (mode %o)', async (mode, shown) => {
    const f = await fixture();
    const before = await openJournal(f);
    await fs.chmod(f.journal, mode);
    const e = await err(EditTransaction.recover(f.journal));
    expect(e.code).toBe('UNSAFE_CONFIG');
    expect(e.message).toBe(
      `${f.journal} is writable by others (mode ${shown}): not recovering the edit it records`,
    );
    expect(e.data).toEqual({ path: f.journal, uid: process.geteuid!(), mode });
    expect(await tree(f.dir)).toEqual(before);
  });

  it('a committed journal that is a symlink', async () => {
    const f = await fixture();
    const before = await openJournal(f);
    const committed = f.journal.replace(/\.json$/, '.committed.json');
    await fs.symlink(f.journal, committed);
    const e = await err(EditTransaction.recover(f.journal));
    expect(e.code).toBe('UNSAFE_CONFIG');
    expect(e.message).toBe(
      `${committed} is not a regular file (a symlink or other): not recovering the edit it records`,
    );
    await fs.rm(committed);
    expect(await tree(f.dir)).toEqual(before);
  });

  it('a journal file of root or of its owner with mode 0644 is followed', async () => {
    const f = await fixture();
    await openJournal(f);
    await fs.chmod(f.journal, 0o640);
    expect(await EditTransaction.recover(f.journal)).toHaveLength(1);
  });

  describe('malformed journals', () => {
    async function check(f: Fx, j: unknown, raw?: string): Promise<void> {
      await fs.writeFile(f.journal, raw ?? JSON.stringify(j), { mode: 0o600 });
      const before = await tree(f.dir);
      const e = await err(EditTransaction.recover(f.journal));
      expect(e.code).toBe('BAD_INPUT');
      expect(e.message).toBe(`${f.journal} is not an edit journal apxs-ts can read`);
      expect(e.hint).toBe(
        'it records an interrupted edit of this server root: look at it, then move it away and check the config (apxs-ts ctl configtest)',
      );
      expect(e.data).toEqual({ path: f.journal });
      expect(await tree(f.dir)).toEqual(before);
    }
    const base = {
      version: 1,
      what: 'x',
      pid: 1,
      started: 's',
      removeAfterCommit: [] as unknown[],
      steps: [] as unknown[],
    };
    const copyOf = (file: string) =>
      path.join(path.dirname(file), `.${path.basename(file)}.apxs-ts-undo-1-0123abcd-0`);

    it('is well formed as built here (the control)', async () => {
      const f = await fixture();
      const a = path.join(f.work, 'a.conf');
      const hosts = path.join(f.work, 'hosts');
      await fs.writeFile(copyOf(a), 'a original\n');
      await fs.writeFile(copyOf(hosts), 'hosts original\n');
      const j = {
        ...base,
        steps: [
          { kind: 'file', path: a, copy: copyOf(a) },
          { kind: 'file', path: path.join(f.work, 'n'), copy: null, after: ['h'] },
          { kind: 'link', path: path.join(f.work, 'l'), target: null },
          { kind: 'link', path: path.join(f.work, 'l2'), target: 'x' },
          { kind: 'dir', path: path.join(f.work, 'd') },
          {
            kind: 'shared',
            path: hosts,
            lock: `${hosts}.apxs-ts.lock`,
            copy: copyOf(hosts),
            before: 'b',
            after: 'a',
          },
        ],
        removeAfterCommit: [path.join(f.work, 'p')],
      };
      await fs.writeFile(f.journal, JSON.stringify(j), { mode: 0o600 });
      const out = await EditTransaction.recover(f.journal);
      expect(out[0]).toMatch(/^undid "x"/);
    });

    const cases: [string, (f: Fx) => unknown][] = [
      ['not JSON', () => undefined],
      ['version 2', () => ({ ...base, version: 2 })],
      ['steps not an array', () => ({ ...base, steps: {} })],
      ['removeAfterCommit not an array', () => ({ ...base, removeAfterCommit: 'x' })],
      ['a relative removal', () => ({ ...base, removeAfterCommit: ['work/p'] })],
      ['a removal of /', () => ({ ...base, removeAfterCommit: ['/'] })],
      ['a removal not normalized', (f) => ({ ...base, removeAfterCommit: [`${f.work}/../work`] })],
      ['a removal not a string', () => ({ ...base, removeAfterCommit: [7] })],
      ['a relative path', () => ({ ...base, steps: [{ kind: 'dir', path: 'work/d' }] })],
      ['a path with ..', (f) => ({ ...base, steps: [{ kind: 'dir', path: `${f.work}/x/../d` }] })],
      [
        'an unknown kind',
        (f) => ({ ...base, steps: [{ kind: 'rm', path: path.join(f.work, 'd') }] }),
      ],
      [
        'a copy that is not an undo copy',
        (f) => ({
          ...base,
          steps: [
            {
              kind: 'file',
              path: path.join(f.work, 'a.conf'),
              copy: path.join(f.work, 'gone.conf'),
            },
          ],
        }),
      ],
      [
        'a copy of another file',
        (f) => ({
          ...base,
          steps: [
            {
              kind: 'file',
              path: path.join(f.work, 'a.conf'),
              copy: copyOf(path.join(f.work, 'gone.conf')),
            },
          ],
        }),
      ],
      [
        'a relative copy',
        () => ({
          ...base,
          steps: [{ kind: 'file', path: '/etc/a.conf', copy: '.a.conf.apxs-ts-undo-1-0123abcd-0' }],
        }),
      ],
      [
        'after not an array',
        (f) => ({
          ...base,
          steps: [{ kind: 'file', path: path.join(f.work, 'a.conf'), copy: null, after: 'h' }],
        }),
      ],
      [
        'after not strings',
        (f) => ({
          ...base,
          steps: [{ kind: 'file', path: path.join(f.work, 'a.conf'), copy: null, after: [1] }],
        }),
      ],
      [
        'a link target not a string',
        (f) => ({ ...base, steps: [{ kind: 'link', path: path.join(f.work, 'l'), target: 5 }] }),
      ],
      [
        'a shared lock not ours',
        (f) => {
          const h = path.join(f.work, 'hosts');
          return {
            ...base,
            steps: [
              {
                kind: 'shared',
                path: h,
                lock: `${h}.lock`,
                copy: copyOf(h),
                before: 'b',
                after: 'a',
              },
            ],
          };
        },
      ],
      [
        'a shared lock relative',
        (f) => {
          const h = path.join(f.work, 'hosts');
          return {
            ...base,
            steps: [
              {
                kind: 'shared',
                path: h,
                lock: 'hosts.apxs-ts.lock',
                copy: copyOf(h),
                before: 'b',
                after: 'a',
              },
            ],
          };
        },
      ],
      [
        'a shared lock of another file',
        (f) => {
          const h = path.join(f.work, 'hosts');
          return {
            ...base,
            steps: [
              {
                kind: 'shared',
                path: h,
                lock: `${f.work}/a.conf.apxs-ts.lock`,
                copy: copyOf(h),
                before: 'b',
                after: 'a',
              },
            ],
          };
        },
      ],
      [
        'a shared copy of another file',
        (f) => {
          const h = path.join(f.work, 'hosts');
          return {
            ...base,
            steps: [
              {
                kind: 'shared',
                path: h,
                lock: `${h}.apxs-ts.lock`,
                copy: copyOf(path.join(f.work, 'a.conf')),
                before: 'b',
                after: 'a',
              },
            ],
          };
        },
      ],
      [
        'a shared copy relative',
        (f) => {
          const h = path.join(f.work, 'hosts');
          return {
            ...base,
            steps: [
              {
                kind: 'shared',
                path: h,
                lock: `${h}.apxs-ts.lock`,
                copy: 'x',
                before: 'b',
                after: 'a',
              },
            ],
          };
        },
      ],
      [
        'a shared before missing',
        (f) => {
          const h = path.join(f.work, 'hosts');
          return {
            ...base,
            steps: [
              { kind: 'shared', path: h, lock: `${h}.apxs-ts.lock`, copy: copyOf(h), after: 'a' },
            ],
          };
        },
      ],
      [
        'a shared after missing',
        (f) => {
          const h = path.join(f.work, 'hosts');
          return {
            ...base,
            steps: [
              { kind: 'shared', path: h, lock: `${h}.apxs-ts.lock`, copy: copyOf(h), before: 'b' },
            ],
          };
        },
      ],
    ];
    it.each(cases)('%s', async (_name, make) => {
      const f = await fixture();
      await fs.writeFile(copyOf(path.join(f.work, 'gone.conf')), 'x');
      await fs.writeFile(copyOf(path.join(f.work, 'hosts')), 'x');
      const j = make(f);
      await check(f, j, j === undefined ? '{"version": 1, "steps": [' : undefined);
    });
  });
});

describe('rollback and commit bookkeeping', () => {
  it('rollback is idempotent and clears dirty and backups', async () => {
    const f = await fixture();
    const before = await tree(f.work);
    const tx = new EditTransaction(f.backups, { file: f.journal, what: 'e' });
    await tx.write(path.join(f.work, 'a.conf'), 'x');
    await tx.remove(path.join(f.work, 'gone.conf'));
    expect(await tx.remove(path.join(f.work, 'gone.conf'))).toBe(false);
    expect(tx.backups).toHaveLength(2);
    expect(await tx.rollback()).toEqual([
      path.join(f.work, 'gone.conf'),
      path.join(f.work, 'a.conf'),
    ]);
    expect(tx.dirty).toBe(false);
    expect(tx.backups).toEqual([]);
    expect(tx.warnings).toEqual([]);
    await expect(fs.lstat(f.journal)).rejects.toThrow();
    expect(await tx.rollback()).toEqual([]);
    expect(await tree(f.work)).toEqual(before);
  });

  it('a file written then removed: one step, the original put back', async () => {
    const f = await fixture();
    const a = path.join(f.work, 'a.conf');
    const tx = new EditTransaction(undefined, { file: f.journal, what: 'e' });
    await tx.write(a, 'x');
    expect(await tx.remove(a)).toBe(true);
    expect((await readJ(f.journal)).steps).toHaveLength(1);
    expect(tx.changed).toEqual([a, a]);
    await tx.rollback();
    expect(await fs.readFile(a, 'utf8')).toBe('a original\n');
  });

  it('commit: backups kept, copies and journal gone, removals done', async () => {
    const f = await fixture();
    const a = path.join(f.work, 'a.conf');
    const purge = path.join(f.work, 'purge');
    await fs.mkdir(purge);
    const tx = new EditTransaction(f.backups, { file: f.journal, what: 'e' });
    await tx.write(a, 'x');
    await tx.removeAfterCommit(purge);
    expect((await readJ(f.journal)).removeAfterCommit).toEqual([purge]);
    await tx.commit();
    expect(tx.warnings).toEqual([]);
    expect(tx.changed).toEqual([a]);
    expect(tx.backups).toHaveLength(1);
    expect(path.dirname(tx.backups[0]!)).toBe(f.backups);
    expect(await fs.readFile(tx.backups[0]!, 'utf8')).toBe('a original\n');
    expect(await fs.readdir(f.dir)).toEqual(['backups', 'work']);
    expect((await fs.readdir(f.work)).sort()).toEqual([
      'a.conf',
      'gone.conf',
      'hosts',
      'link-changed',
      'link-removed',
    ]);
  });

  it('commit with nothing changed renames no journal; without a backup dir keeps none', async () => {
    const f = await fixture();
    const tx = new EditTransaction(undefined, { file: f.journal, what: 'e' });
    expect(await tx.write(path.join(f.work, 'a.conf'), 'a original\n')).toBe(false);
    await tx.commit();
    expect(tx.dirty).toBe(false);
    expect(await fs.readdir(f.dir)).toEqual(['work']);
    const tx2 = new EditTransaction(undefined, { file: f.journal, what: 'e' });
    await tx2.write(path.join(f.work, 'a.conf'), 'y');
    await tx2.commit();
    expect(tx2.backups).toEqual([]);
    expect(await fs.readdir(f.dir)).toEqual(['work']);
    expect((await fs.readdir(f.work)).sort()).toEqual([
      'a.conf',
      'gone.conf',
      'hosts',
      'link-changed',
      'link-removed',
    ]);
  });

  it('a backup that cannot be kept is a warning, and the edit stands', async () => {
    const f = await fixture();
    const a = path.join(f.work, 'a.conf');
    await fs.writeFile(f.backups, 'a file in the way');
    const tx = new EditTransaction(f.backups, { file: f.journal, what: 'e' });
    await tx.write(a, 'x');
    await tx.commit();
    expect(tx.warnings).toHaveLength(1);
    expect(tx.warnings[0]!.startsWith(`kept no backup of ${a}: `)).toBe(true);
    expect(await fs.readFile(a, 'utf8')).toBe('x');
    expect(await fs.readdir(f.dir)).toEqual(['backups', 'work']);
  });
});

describe('finer points', () => {
  it('only a dotfile named exactly like our temp file counts as ours', async () => {
    const f = await fixture();
    const tx = new EditTransaction(undefined, { file: f.journal, what: 'e' });
    const dirs = ['g', 'h'].map((n) => path.join(f.work, n));
    for (const d of dirs) await tx.mkdir(d);
    await fs.writeFile(path.join(dirs[0]!, 'a.x.apxs-ts-1-ab.tmp'), 'not ours');
    await fs.writeFile(path.join(dirs[1]!, '.x.apxs-ts-1-ab.tmpz'), 'not ours');
    const out = await EditTransaction.recover(f.journal);
    expect(out.slice(1)).toEqual(
      dirs
        .reverse()
        .map((d) => `${d} holds files this edit did not make (put there since): left as it is`),
    );
  });

  it("undo removes a copy's leftover temp file, and leaves a file whose copy is already gone", async () => {
    const f = await fixture();
    const a = path.join(f.work, 'a.conf');
    const g = path.join(f.work, 'gone.conf');
    const tx = new EditTransaction(undefined, { file: f.journal, what: 'e' });
    await tx.write(a, 'ours\n');
    await tx.write(g, 'ours g\n');
    const [ca, cg] = tx.backups;
    await fs.writeFile(`${ca}.tmp`, 'half');
    await fs.rm(cg!);
    await fs.writeFile(g, 'someone\n');
    const out = await EditTransaction.recover(f.journal);
    expect(out.slice(1)).toEqual([]);
    expect(await fs.readFile(a, 'utf8')).toBe('a original\n');
    expect(await fs.readFile(g, 'utf8')).toBe('someone\n');
    await expect(fs.lstat(`${ca}.tmp`)).rejects.toThrow();
  });

  it("a shared step's leftover temp copy is removed too", async () => {
    const f = await fixture();
    const hosts = path.join(f.work, 'hosts');
    const tx = new EditTransaction(undefined, { file: f.journal, what: 'e' });
    await tx.shared(hosts, `${hosts}.apxs-ts.lock`, 'ours\n', () => fs.writeFile(hosts, 'ours\n'));
    const copy = (await readJ(f.journal)).steps[0].copy as string;
    await fs.writeFile(`${copy}.tmp`, 'half');
    await EditTransaction.recover(f.journal);
    expect(await fs.readFile(hosts, 'utf8')).toBe('hosts original\n');
    expect((await fs.readdir(f.work)).filter((n) => n.includes('undo'))).toEqual([]);
  });

  it('journals each content written once, and writes with the mode asked', async () => {
    const f = await fixture();
    const a = path.join(f.work, 'a.conf');
    const n = path.join(f.work, 'n.conf');
    const tx = new EditTransaction(undefined, { file: f.journal, what: 'e' });
    await tx.write(a, 'x');
    await tx.write(a, 'y');
    await tx.write(a, 'x');
    await tx.write(n, Buffer.from('n'), 0o600);
    const j = await readJ(f.journal);
    expect(j.steps[0].after).toHaveLength(2);
    expect(j.steps[1].after).toHaveLength(1);
    expect((await fs.stat(n)).mode & 0o777).toBe(0o600);
    expect(await fs.readFile(n, 'utf8')).toBe('n');
  });

  it('a shared lock must end in .apxs-ts.lock and be a plain path', async () => {
    const f = await fixture();
    const h = path.join(f.work, 'hosts');
    await fs.mkdir(path.join(f.work, 'x'));
    const copy = path.join(f.work, '.hosts.apxs-ts-undo-1-0123abcd-0');
    await fs.writeFile(copy, 'x');
    for (const lock of [`${h}.apxs-ts_lock`, `${f.work}/x/../hosts.apxs-ts.lock`]) {
      const j = {
        version: 1,
        what: 'x',
        pid: 1,
        started: 's',
        removeAfterCommit: [],
        steps: [{ kind: 'shared', path: h, lock, copy, before: 'b', after: 'a' }],
      };
      await fs.writeFile(f.journal, JSON.stringify(j), { mode: 0o600 });
      const e = await err(EditTransaction.recover(f.journal));
      expect(e.code).toBe('BAD_INPUT');
    }
  });
});
