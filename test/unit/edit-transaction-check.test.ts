/**
 * The edit transaction's plan mode (--check, #23): every operation is
 * recorded in memory and nothing is written (bytes, mtimes, entries of the
 * whole temp tree compared before and after), the transaction's reads see
 * what the plan "wrote", and a plan reports the same changed files and
 * diffs as the same edit run for real.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EditTransaction } from '../../lib/core/edit-transaction.js';
import { tmpDir } from '../helpers.js';

/** Every entry under `dir`: kind, bytes or link target, mode and mtime (directories too). */
async function treeState(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(rel: string): Promise<void> {
    const abs = path.join(dir, rel);
    const st = await fs.lstat(abs);
    const stamp = `${st.mode.toString(8)} ${st.mtimeMs} ${st.ino}`;
    if (st.isSymbolicLink()) out[rel] = `link ${await fs.readlink(abs)} ${stamp}`;
    else if (st.isDirectory()) {
      out[rel] = `dir ${stamp}`;
      for (const n of (await fs.readdir(abs)).sort()) await walk(path.join(rel, n));
    } else out[rel] = `file ${(await fs.readFile(abs)).toString('base64')} ${stamp}`;
  }
  await walk('.');
  return out;
}

/** A tree with a file, a symlink and a subdirectory, as an edit finds it. */
async function fixture(): Promise<string> {
  const d = await tmpDir('apxs-ts-txcheck-');
  await fs.mkdir(path.join(d, 'conf'));
  await fs.writeFile(path.join(d, 'conf', 'httpd.conf'), 'Listen 80\n');
  await fs.writeFile(path.join(d, 'conf', 'old.conf'), 'old\n');
  await fs.writeFile(path.join(d, 'hosts'), '127.0.0.1 localhost\n');
  await fs.mkdir(path.join(d, 'mods-available'));
  await fs.mkdir(path.join(d, 'mods-enabled'));
  await fs.writeFile(path.join(d, 'mods-available', 'a.load'), 'LoadModule a_module a.so\n');
  await fs.writeFile(path.join(d, 'mods-available', 'b.load'), 'LoadModule b_module b.so\n');
  await fs.symlink('../mods-available/a.load', path.join(d, 'mods-enabled', 'a.load'));
  return d;
}

/** One edit using every operation, reading back what it wrote between steps; returns what the reads saw. */
async function everyOp(tx: EditTransaction, d: string): Promise<Record<string, unknown>> {
  const conf = path.join(d, 'conf', 'httpd.conf');
  const seen: Record<string, unknown> = {};
  await tx.write(conf, 'Listen 80\nInclude extra.conf\n');
  seen.confAfterWrite = await tx.readText(conf);
  // Written twice: the second write sees the first.
  await tx.write(conf, `${await tx.readText(conf)}# more\n`);
  seen.confAfterSecond = await tx.readText(conf);
  seen.mkdirTop = await tx.mkdir(path.join(d, 'sites', 'one', 'docs'));
  seen.dirExists = await tx.exists(path.join(d, 'sites', 'one'));
  seen.dirKind = await tx.stat(path.join(d, 'sites', 'one', 'docs'));
  await tx.write(path.join(d, 'sites', 'one', 'docs', 'index.html'), '<h1>one</h1>\n');
  seen.listing = (await tx.readdir(path.join(d, 'sites', 'one', 'docs'))).sort();
  await tx.remove(path.join(d, 'conf', 'old.conf'));
  seen.removedRead = await tx.readText(path.join(d, 'conf', 'old.conf'));
  seen.removedKind = await tx.lstat(path.join(d, 'conf', 'old.conf'));
  // (A real run's undo copies, dot files beside the originals until the commit, left out.)
  seen.confListing = (await tx.readdir(path.join(d, 'conf')))
    .filter((n) => !n.startsWith('.'))
    .sort();
  // A link re-pointed, one removed, one made: reads follow the planned links.
  await tx.symlink('../mods-available/b.load', path.join(d, 'mods-enabled', 'a.load'));
  seen.relinked = await tx.readlink(path.join(d, 'mods-enabled', 'a.load'));
  seen.throughLink = await tx.readText(path.join(d, 'mods-enabled', 'a.load'));
  await tx.symlink('../mods-available/b.load', path.join(d, 'mods-enabled', 'b.load'));
  await tx.remove(path.join(d, 'mods-enabled', 'b.load'));
  seen.linkGone = await tx.lstat(path.join(d, 'mods-enabled', 'b.load'));
  // A file written through a planned link is read through it too.
  await tx.write(path.join(d, 'mods-available', 'b.load'), 'LoadModule b_module b2.so\n');
  seen.throughLinkAfterWrite = await tx.readText(path.join(d, 'mods-enabled', 'a.load'));
  const hosts = path.join(d, 'hosts');
  const next = '127.0.0.1 localhost\n127.0.0.1 one.dd\n';
  await tx.shared(hosts, `${hosts}.apxs-ts.lock`, next, () => fs.writeFile(hosts, next));
  seen.hosts = await tx.readText(hosts);
  // Writing what is there already changes nothing.
  seen.sameWrite = await tx.write(conf, (await tx.readText(conf))!);
  await tx.removeAfterCommit(path.join(d, 'sites', 'gone'));
  return seen;
}

describe('EditTransaction plan mode (--check)', () => {
  it('every operation (write, remove, symlink, mkdir, shared, removeAfterCommit, chmod) writes nothing: bytes, modes, mtimes and entries of the whole tree are unchanged, no journal', async () => {
    const d = await fixture();
    const before = await treeState(d);
    const journal = path.join(d, 'state', 'journal.json');
    const tx = new EditTransaction(
      path.join(d, 'backups'),
      { file: journal, what: 'a plan' },
      { check: true },
    );
    await everyOp(tx, d);
    await tx.chmod(path.join(d, 'conf', 'httpd.conf'), 0o600);
    expect(tx.dirty).toBe(true);
    await tx.commit();
    expect(await treeState(d)).toEqual(before);
    // A plan that is undone (httpd would reject it, the caller threw) writes nothing either.
    const tx2 = new EditTransaction(
      path.join(d, 'backups'),
      { file: journal, what: 'a plan' },
      { check: true },
    );
    await everyOp(tx2, d);
    await tx2.rollback();
    expect(await treeState(d)).toEqual(before);
  });

  it("the transaction's reads see what the plan wrote, removed and linked", async () => {
    const d = await fixture();
    const seen = await everyOp(new EditTransaction(undefined, undefined, { check: true }), d);
    expect(seen).toEqual({
      confAfterWrite: 'Listen 80\nInclude extra.conf\n',
      confAfterSecond: 'Listen 80\nInclude extra.conf\n# more\n',
      mkdirTop: path.join(d, 'sites'),
      dirExists: true,
      dirKind: 'dir',
      listing: ['index.html'],
      removedRead: undefined,
      removedKind: 'absent',
      confListing: ['httpd.conf'],
      relinked: '../mods-available/b.load',
      throughLink: 'LoadModule b_module b.so\n',
      linkGone: 'absent',
      throughLinkAfterWrite: 'LoadModule b_module b2.so\n',
      hosts: '127.0.0.1 localhost\n127.0.0.1 one.dd\n',
      sameWrite: false,
    });
  });

  it('a plan reports the same changed files and the same diffs as the same edit run for real, which then finds the tree as the plan read it', async () => {
    const d = await fixture();
    const plan = new EditTransaction(undefined, undefined, { check: true });
    const planSeen = await everyOp(plan, d);
    const planDiffs = await plan.diffs();
    const real = new EditTransaction(path.join(d, 'backups'));
    const realSeen = await everyOp(real, d);
    await real.commit();
    expect(planSeen).toEqual(realSeen);
    expect(plan.changed).toEqual(real.changed);
    const realDiffs = await real.diffs((f) => f.startsWith(path.join(d, 'backups')));
    expect(planDiffs).toEqual(realDiffs);
    // What the diffs say: the config changed, the page created, the old file and a link removed, a link re-pointed.
    const byFile = Object.fromEntries(
      realDiffs.map((x) => [x.after_header === '/dev/null' ? x.before_header : x.after_header, x]),
    );
    expect(byFile[path.join(d, 'conf', 'httpd.conf')]?.after).toBe(
      'Listen 80\nInclude extra.conf\n# more\n',
    );
    expect(byFile[path.join(d, 'conf', 'old.conf')]).toMatchObject({
      before: 'old\n',
      after: '',
      after_header: '/dev/null',
    });
    expect(byFile[path.join(d, 'mods-enabled', 'a.load')]).toMatchObject({
      before: 'symlink to ../mods-available/a.load\n',
      after: 'symlink to ../mods-available/b.load\n',
    });
    expect(byFile[path.join(d, 'hosts')]?.after).toBe('127.0.0.1 localhost\n127.0.0.1 one.dd\n');
    // Made and removed in one edit: no change, no diff.
    expect(byFile[path.join(d, 'mods-enabled', 'b.load')]).toBeUndefined();
  });

  it('a write through a symlink (a hosts file that is a link, as writeFileAtomic follows it) lands on its target in the plan too: the link stays, plan and real run diff the same', async () => {
    const d = await fixture();
    await fs.rename(path.join(d, 'hosts'), path.join(d, 'hosts.real'));
    await fs.symlink('hosts.real', path.join(d, 'hosts'));
    const hosts = path.join(d, 'hosts');
    const next = '127.0.0.1 localhost\n127.0.0.1 two.dd\n';
    const run = async (tx: EditTransaction) => {
      await tx.write(hosts, next);
      return {
        link: await tx.readlink(hosts),
        text: await tx.readText(path.join(d, 'hosts.real')),
      };
    };
    const plan = new EditTransaction(undefined, undefined, { check: true });
    const planSeen = await run(plan);
    const real = new EditTransaction();
    const realSeen = await run(real);
    await real.commit();
    expect(planSeen).toEqual({ link: 'hosts.real', text: next });
    expect(realSeen).toEqual(planSeen);
    expect(await plan.diffs()).toEqual(await real.diffs());
    expect(await real.diffs()).toEqual([
      { before_header: hosts, after_header: hosts, before: '127.0.0.1 localhost\n', after: next },
    ]);
  });

  it('a .so is summarised as binary in its diff, and a second identical plan over the real result changes nothing', async () => {
    const d = await fixture();
    const so = path.join(d, 'mod_x.so');
    const bytes = Buffer.concat([Buffer.from('\x7fELF'), Buffer.alloc(64, 0)]);
    const plan = new EditTransaction(undefined, undefined, { check: true });
    await plan.write(so, bytes, 0o755);
    expect(await plan.diffs()).toEqual([
      {
        before_header: '/dev/null',
        after_header: so,
        before: '',
        after: `(binary content, ${bytes.length} bytes)\n`,
      },
    ]);
    const real = new EditTransaction();
    await real.write(so, bytes, 0o755);
    await real.commit();
    const again = new EditTransaction(undefined, undefined, { check: true });
    expect(await again.write(so, bytes, 0o755)).toBe(false);
    expect(again.dirty).toBe(false);
    expect(await again.diffs()).toEqual([]);
  });
});
