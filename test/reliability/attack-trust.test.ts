/**
 * Attacks on the trust rule (lib/core/trust.ts) that the #16 tests did not
 * name. As root, each plants a sandbox whose record names a program that
 * touches a mark file, reached in a way another user (nobody) controls; the
 * run must be refused (UNSAFE_CONFIG, exit 2) with the program never run.
 * Controls: the same tree with the part nobody controls made root's (or the
 * trust entry made absolute) runs the program, so a refusal is the rule's.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cli, tmpDir as newTmpDir } from '../helpers.js';

const made: string[] = [];
async function tmpDir(prefix: string): Promise<string> {
  const d = await newTmpDir(prefix);
  made.push(d);
  return d;
}
afterAll(async () => {
  for (const d of made) await fs.rm(d, { recursive: true, force: true });
});

const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;

/** `dir`/srv: a sandbox (root's) whose record names srv/prog.sh, which touches `dir`/MARK. */
async function sandbox(dir: string): Promise<{ root: string; mark: string }> {
  const root = path.join(dir, 'srv');
  const mark = path.join(dir, 'MARK');
  const program = path.join(root, 'prog.sh');
  await fs.mkdir(path.join(root, 'conf'), { recursive: true, mode: 0o755 });
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
  return { root, mark };
}

const exists = (p: string) =>
  fs.stat(p).then(
    () => true,
    () => false,
  );

describe.skipIf(!isRoot)('trust: attacks the #16 tests did not name', () => {
  it("a symlink apxs-ts.json owned by nobody in a sticky directory, pointing at root's own project file: refused (nobody could repoint it); root's own link runs", async () => {
    const outcomes: string[] = [];
    for (const linkOwner of [NOBODY, 0]) {
      const base = await tmpDir('apxs-ts-attack-stickylink-');
      const sticky = path.join(base, 'sticky');
      await fs.mkdir(path.join(sticky, 'work'), { recursive: true, mode: 0o755 });
      await fs.chmod(sticky, 0o1777);
      const project = path.join(base, 'rootproj');
      await fs.mkdir(project, { mode: 0o755 });
      const { root, mark } = await sandbox(project);
      await fs.writeFile(path.join(project, 'apxs-ts.json'), JSON.stringify({ serverRoot: root }));
      const link = path.join(sticky, 'apxs-ts.json');
      await fs.symlink(path.join(project, 'apxs-ts.json'), link);
      await fs.lchown(link, linkOwner, linkOwner === 0 ? 0 : NOBODY);
      const r = await cli(['ctl', 'configtest', '--json'], {
        cwd: path.join(sticky, 'work'),
        env: { APXS_TS_SERVER_ROOT: '' },
      });
      outcomes.push(
        `link owner ${linkOwner}: exit ${r.code} ${r.json?.error?.code ?? 'ok'} culprit=${r.json?.culprit} ran=${await exists(mark)}`,
      );
      if (linkOwner === NOBODY) {
        expect(r.code, outcomes.join('\n')).toBe(2);
        expect(r.json?.error?.code).toBe('UNSAFE_CONFIG');
        expect(r.json?.culprit).toBe(link);
        expect(r.json?.error?.message).toContain('symlink owned by nobody');
        expect(await exists(mark)).toBe(false);
      } else {
        expect(r.code, outcomes.join('\n')).toBe(0);
        expect(await exists(mark)).toBe(true);
      }
    }
  }, 60_000);

  it('a relative entry in APXS_TS_SAFE_DIRECTORIES trusts nothing (it would trust a directory of that name below wherever apxs-ts runs); the absolute entry trusts', async () => {
    const outcomes: string[] = [];
    for (const entry of ['evil', '.', './evil', 'ABS']) {
      const base = await tmpDir('apxs-ts-attack-relsafe-');
      const evil = path.join(base, 'evil');
      await fs.mkdir(evil, { mode: 0o755 });
      const { mark } = await sandbox(evil);
      await fs.writeFile(path.join(evil, 'apxs-ts.json'), JSON.stringify({ serverRoot: './srv' }));
      // nobody owns the whole project: only an explicit trust of it lets root run it.
      for (const p of [
        evil,
        path.join(evil, 'apxs-ts.json'),
        path.join(evil, 'srv'),
        path.join(evil, 'srv', 'conf'),
        path.join(evil, 'srv', 'conf', 'httpd.conf'),
        path.join(evil, 'srv', 'prog.sh'),
        path.join(evil, 'srv', 'apxs-ts-sandbox.json'),
      ]) {
        await fs.chown(p, NOBODY, NOBODY);
      }
      const safe = entry === 'ABS' ? evil : entry;
      const cwd = entry === '.' ? evil : base;
      const r = await cli(
        ['ctl', 'configtest', '--server-root', path.join(evil, 'srv'), '--json'],
        { cwd, env: { APXS_TS_SERVER_ROOT: '', APXS_TS_SAFE_DIRECTORIES: `:${safe}:` } },
      );
      const ran = await exists(mark);
      outcomes.push(`${entry}: exit ${r.code} ${r.json?.error?.code ?? 'ok'} ran=${ran}`);
      if (entry === 'ABS') {
        expect(r.code, outcomes.join('\n')).toBe(0);
        expect(ran).toBe(true);
      } else {
        expect(r.code, outcomes.join('\n')).toBe(2);
        expect(r.json?.error?.code).toBe('UNSAFE_CONFIG');
        expect(ran).toBe(false);
      }
    }
    expect(outcomes).toHaveLength(4);
  }, 60_000);

  it("a FIFO planted by nobody as the hosts file's lock in a sticky dir: hosts add and hosts remove exit 2 (UNSAFE_CONFIG naming it) instead of hanging; hosts file byte-identical", async () => {
    const dir = await tmpDir('apxs-ts-attack-fifolock-');
    await fs.chmod(dir, 0o1777);
    const hosts = path.join(dir, 'hosts');
    await fs.writeFile(hosts, '127.0.0.1 localhost\n', { mode: 0o644 });
    // A name already mapped, so that its removal is a real change (one that takes the lock).
    const added = await cli(['hosts', 'add', 'present.test', '--hosts-file', hosts]);
    expect(added.code, added.stderr).toBe(0);
    const before = await fs.readFile(hosts, 'utf8');
    const entries = await fs.readdir(dir); // the hosts file and its backup
    const lock = path.join(dir, 'hosts.apxs-ts.lock');
    execFileSync('mkfifo', [lock]);
    await fs.lchown(lock, NOBODY, NOBODY);
    // Nothing to do (a name not there) is answered from one read of the file, without the lock:
    // the FIFO is never opened.
    const noop = await cli(['hosts', 'remove', 'fifo.test', '--hosts-file', hosts, '--json'], {
      timeoutMs: 15_000,
    });
    expect([noop.code, noop.json?.changed], noop.stdout).toEqual([0, false]);
    const outcomes: string[] = [];
    for (const args of [
      ['hosts', 'add', 'fifo.test'],
      ['hosts', 'remove', 'present.test'],
    ]) {
      // Without the fix the open of the FIFO blocks: the run is killed at 15 s (code 124).
      const r = await cli([...args, '--hosts-file', hosts, '--json'], { timeoutMs: 15_000 });
      outcomes.push(`${args.join(' ')}: exit ${r.code} ${r.json?.error?.code}`);
      expect(r.code, outcomes.join('\n')).toBe(2);
      expect(r.json?.error?.code).toBe('UNSAFE_CONFIG');
      expect(r.json?.error?.message).toContain(lock);
      expect(r.json?.error?.message).toContain('FIFO');
    }
    expect(await fs.readFile(hosts, 'utf8')).toBe(before);
    expect((await fs.lstat(lock)).isFIFO()).toBe(true);
    expect((await fs.readdir(dir)).sort()).toEqual([...entries, 'hosts.apxs-ts.lock'].sort());
  }, 60_000);

  it("a hosts file named through nobody's symlink in a sticky dir, pointing at a root file: hosts add and hosts remove exit 2 (UNSAFE_CONFIG naming the link), the root file byte-identical, no backup left; root's own link is followed", async () => {
    const outcomes: string[] = [];
    for (const linkOwner of [NOBODY, 0]) {
      const base = await tmpDir('apxs-ts-attack-hostslink-');
      const sticky = path.join(base, 'sticky');
      await fs.mkdir(sticky, { mode: 0o755 });
      await fs.chmod(sticky, 0o1777);
      const victim = path.join(base, 'victim');
      const before = 'root:x:0:0:root:/root:/bin/bash\n';
      await fs.writeFile(victim, before, { mode: 0o644 });
      const link = path.join(sticky, 'hosts');
      await fs.symlink(victim, link);
      await fs.lchown(link, linkOwner, linkOwner === 0 ? 0 : NOBODY);
      for (const args of [
        ['hosts', 'add', 'planted.test'],
        ['hosts', 'remove', 'planted.test'],
      ]) {
        const r = await cli([...args, '--hosts-file', link, '--json']);
        const after = await fs.readFile(victim, 'utf8');
        outcomes.push(
          `owner ${linkOwner} ${args.join(' ')}: exit ${r.code} ${r.json?.error?.code ?? 'ok'} victim ${after === before ? 'unchanged' : 'changed'}`,
        );
        if (linkOwner === NOBODY) {
          expect(r.code, outcomes.join('\n')).toBe(2);
          expect(r.json?.error?.code).toBe('UNSAFE_CONFIG');
          expect(r.json?.culprit).toBe(link);
          expect(after).toBe(before);
        } else {
          expect(r.code, outcomes.join('\n')).toBe(0);
        }
      }
      if (linkOwner === NOBODY)
        expect((await fs.readdir(sticky)).sort(), outcomes.join('\n')).toEqual(['hosts']);
      else expect(await fs.readFile(victim, 'utf8')).toBe(before); // added then removed: the block went again
    }
  }, 60_000);

  it("12 future-dated backup names planted by nobody beside a hosts file in a sticky dir: root's hosts add keeps its own backup and deletes none of nobody's files", async () => {
    const dir = await tmpDir('apxs-ts-attack-backups-');
    await fs.chmod(dir, 0o1777);
    const hosts = path.join(dir, 'hosts');
    await fs.writeFile(hosts, '127.0.0.1 localhost\n', { mode: 0o644 });
    const planted: string[] = [];
    for (let m = 1; m <= 12; m++) {
      const f = path.join(dir, `hosts.2099${String(m).padStart(2, '0')}01T000000Z.bak`);
      await fs.writeFile(f, 'planted\n');
      await fs.chown(f, NOBODY, NOBODY);
      planted.push(f);
    }
    const r = await cli(['hosts', 'add', 'backup.test', '--hosts-file', hosts, '--json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const backup = r.json?.backup as string;
    expect(await fs.readFile(backup, 'utf8')).toBe('127.0.0.1 localhost\n');
    const left = await Promise.all(planted.map(exists));
    expect(left.filter(Boolean)).toHaveLength(12);
  }, 60_000);
});
