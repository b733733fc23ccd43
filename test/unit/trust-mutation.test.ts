/**
 * lib/core/trust.ts in-process (issue #16 mutation testing; the CLI's
 * refusals are test/reliability/trust.test.ts): whose file or directory is
 * trusted, by owner, by mode (world- and group-writable, sticky), under sudo
 * (SUDO_UID, SUDO_GID), through symlinks (another user's link in a sticky
 * directory), and what the user trusts explicitly. Runs as root (it chowns to
 * nobody); a run as another user says so and skips.
 */
import { spawnSync } from 'node:child_process';
import { promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  assertNoPlantedLink,
  assertTrusted,
  assertWritable,
  explicitlyTrusted,
  SAFE_DIRS_ENV,
  trustedDirs,
  userName,
  whyUntrusted,
} from '../../lib/core/trust.js';
import { tmpDir } from '../helpers.js';

const root = process.getuid?.() === 0;
const NOBODY = 65534;
const UNKNOWN_GID = 54321; // in no /etc/group line and no account's group

/** The name /etc/group gives a gid, as trust.ts shows it. */
function groupLabel(gid: number): string {
  const line = readFileSync('/etc/group', 'utf8')
    .split('\n')
    .map((l) => l.split(':'))
    .find((f) => f.length > 3 && Number(f[2]) === gid);
  return line ? `${line[0]} (gid ${gid})` : `gid ${gid}`;
}

const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  ...extra,
});

async function dirWith(mode = 0o755): Promise<string> {
  const d = await tmpDir('apxs-ts-trustmut-');
  await fs.chmod(d, mode);
  return d;
}

describe.runIf(root)('whyUntrusted', () => {
  it('a root file in root directories is trusted; a missing path, or one under a file, has nothing to act on', async () => {
    const d = await dirWith();
    const f = path.join(d, 'apxs-ts.json');
    await fs.writeFile(f, '{}');
    expect(whyUntrusted(f, env())).toBeUndefined();
    expect(whyUntrusted(path.join(d, 'missing'), env())).toBeUndefined();
    expect(whyUntrusted(path.join(f, 'below-a-file'), env())).toBeUndefined();
  });

  it("another user's file: refused, naming it and its owner", async () => {
    const d = await dirWith();
    const f = path.join(d, 'apxs-ts.json');
    await fs.writeFile(f, '{}');
    await fs.chown(f, NOBODY, NOBODY);
    const owner = userName(NOBODY);
    expect(owner).toBe('nobody (uid 65534)');
    expect(whyUntrusted(f, env())).toEqual({
      path: f,
      culprit: f,
      owner,
      why: `${f} is owned by ${owner}, not by you or root`,
    });
    // Under sudo by that user: theirs is trusted (a number only).
    expect(whyUntrusted(f, env({ SUDO_UID: String(NOBODY) }))).toBeUndefined();
    expect(whyUntrusted(f, env({ SUDO_UID: `${NOBODY}x` }))?.culprit).toBe(f);
    expect(whyUntrusted(f, env({ SUDO_UID: '' }))?.culprit).toBe(f);
  });

  it('a directory above, writable by every user, is refused unless sticky; a world-writable file is refused, sticky or not', async () => {
    const d = await dirWith(0o777);
    const sub = path.join(d, 'sub');
    await fs.mkdir(sub);
    const f = path.join(sub, 'apxs-ts.json');
    await fs.writeFile(f, '{}');
    expect(whyUntrusted(f, env())).toEqual({
      path: f,
      culprit: d,
      owner: userName(0),
      why: `${d} is writable by every user`,
    });
    await fs.chmod(d, 0o1777);
    expect(whyUntrusted(f, env())).toBeUndefined();
    await fs.chmod(f, 0o1666); // the sticky bit means nothing on a file
    expect(whyUntrusted(f, env())?.why).toBe(`${f} is writable by every user`);
  });

  it("group-writable: refused for a group of others, trusted for a private group (root's, or sudo's with only that user in it)", async () => {
    const d = await dirWith();
    const f = path.join(d, 'apxs-ts.json');
    await fs.writeFile(f, '{}');
    await fs.chmod(f, 0o664);
    expect(whyUntrusted(f, env())).toBeUndefined(); // group root: only root in it
    await fs.chown(f, 0, UNKNOWN_GID);
    expect(whyUntrusted(f, env())?.why).toBe(
      `${f} is writable by group ${groupLabel(UNKNOWN_GID)}`,
    );
    expect(whyUntrusted(f, env({ SUDO_GID: String(UNKNOWN_GID) }))).toBeUndefined(); // nobody else in it
    expect(whyUntrusted(f, env({ SUDO_GID: `x${UNKNOWN_GID}` }))?.culprit).toBe(f);
    // nogroup: nobody's primary group. Sudo's group, but other users are in it (nobody, and on Debian sync and _apt).
    await fs.chown(f, 0, NOBODY);
    expect(whyUntrusted(f, env({ SUDO_GID: String(NOBODY) }))?.why).toBe(
      `${f} is writable by group ${groupLabel(NOBODY)}`,
    );
    // Not group-writable: the group does not matter.
    await fs.chmod(f, 0o644);
    expect(whyUntrusted(f, env())).toBeUndefined();
  });

  it('a directory that is itself the path is judged like a file', async () => {
    const d = await dirWith();
    const sub = path.join(d, 'root');
    await fs.mkdir(sub);
    await fs.chown(sub, NOBODY, NOBODY);
    expect(whyUntrusted(sub, env())?.culprit).toBe(sub);
  });

  it("a symlink is judged by its target and the directories of both; another user's link in a sticky directory is refused", async () => {
    const safe = await dirWith();
    const target = path.join(safe, 'real.json');
    await fs.writeFile(target, '{}');
    const bad = await dirWith();
    const badTarget = path.join(bad, 'real.json');
    await fs.writeFile(badTarget, '{}');
    await fs.chown(badTarget, NOBODY, NOBODY);
    const links = await dirWith(0o1777);
    const mine = path.join(links, 'mine.json');
    await fs.symlink(target, mine);
    expect(whyUntrusted(mine, env())).toBeUndefined();
    const toBad = path.join(links, 'to-bad.json');
    await fs.symlink(badTarget, toBad);
    expect(whyUntrusted(toBad, env())).toMatchObject({ path: toBad, culprit: badTarget });
    const planted = path.join(links, 'planted.json');
    await fs.symlink(target, planted);
    await fs.lchown(planted, NOBODY, NOBODY);
    expect(whyUntrusted(planted, env())).toEqual({
      path: planted,
      culprit: planted,
      owner: userName(NOBODY),
      why: `${planted} is a symlink owned by ${userName(NOBODY)}, not by you or root, in the sticky directory ${links}`,
    });
    // The same link of another user in a directory that is not sticky: only the owner of that directory could place it.
    const plain = await dirWith();
    const theirs = path.join(plain, 'theirs.json');
    await fs.symlink(target, theirs);
    await fs.lchown(theirs, NOBODY, NOBODY);
    expect(whyUntrusted(theirs, env())).toBeUndefined();
  });

  it('a file beside one already found safe is still judged itself (another owner, a world-writable mode)', async () => {
    const d = await dirWith();
    const a = path.join(d, 'a.json');
    const b = path.join(d, 'b.json');
    const c = path.join(d, 'c');
    await fs.writeFile(a, '{}');
    await fs.writeFile(b, '{}');
    await fs.mkdir(c);
    expect(whyUntrusted(a, env())).toBeUndefined(); // d is now known safe
    await fs.chown(b, NOBODY, NOBODY);
    expect(whyUntrusted(b, env())).toMatchObject({ path: b, culprit: b, owner: userName(NOBODY) });
    await fs.chown(b, 0, 0);
    await fs.chmod(b, 0o666);
    expect(whyUntrusted(b, env())?.why).toBe(`${b} is writable by every user`);
    expect(whyUntrusted(path.join(d, 'missing'), env())).toBeUndefined();
    expect(whyUntrusted(c, env())).toBeUndefined(); // a directory: known safe from now on
    const inC = path.join(c, 'x.json');
    await fs.writeFile(inC, '{}');
    await fs.chown(inC, NOBODY, NOBODY);
    expect(whyUntrusted(inC, env())?.culprit).toBe(inC);
    // A symlink beside a safe file takes the full way: its target is judged.
    const link = path.join(d, 'link.json');
    await fs.symlink(inC, link);
    expect(whyUntrusted(link, env())?.culprit).toBe(inC);
  });
});

describe('what the user trusts explicitly', () => {
  it('trustedDirs: absolute entries and * only, from the variable', () => {
    expect(trustedDirs(env({ [SAFE_DIRS_ENV]: '/a:proj:.:*::/b/c' }))).toEqual(['/a', '*', '/b/c']);
    expect(trustedDirs(env())).toEqual([]);
  });

  it('explicitlyTrusted: the directory itself and below, by name or real path; not a sibling with a longer name', async () => {
    const d = await dirWith();
    const real = path.join(d, 'real');
    await fs.mkdir(real);
    const link = path.join(d, 'link');
    await fs.symlink(real, link);
    await fs.writeFile(path.join(real, 'x'), '');
    const t = (dirs: string) => env({ [SAFE_DIRS_ENV]: dirs });
    expect(explicitlyTrusted(real, t(real))).toBe(true);
    expect(explicitlyTrusted(path.join(real, 'x', 'y'), t(real))).toBe(true);
    expect(explicitlyTrusted(path.join(real, 'x'), t(`${real}/`))).toBe(true);
    expect(explicitlyTrusted(`${real}2`, t(real))).toBe(false);
    expect(explicitlyTrusted(path.join(link, 'x'), t(real))).toBe(true); // by its real path
    expect(explicitlyTrusted(path.join(real, 'x'), t(link))).toBe(true); // the trusted dir's real path
    expect(explicitlyTrusted(link, t(link))).toBe(true);
    expect(explicitlyTrusted(d, t(real))).toBe(false);
    expect(explicitlyTrusted('/anything', t('*'))).toBe(true);
    expect(explicitlyTrusted('/anything', env())).toBe(false);
    expect(explicitlyTrusted(real, t('relative/dir'))).toBe(false);
  });

  it.runIf(root)('a trusted directory lifts every refusal below it', async () => {
    const d = await dirWith(0o777);
    const f = path.join(d, 'apxs-ts.json');
    await fs.writeFile(f, '{}');
    await fs.chown(f, NOBODY, NOBODY);
    expect(whyUntrusted(f, env())).toBeDefined();
    expect(whyUntrusted(f, env({ [SAFE_DIRS_ENV]: d }))).toBeUndefined();
    expect(() => assertTrusted(f, 'the config', env({ [SAFE_DIRS_ENV]: d }))).not.toThrow();
  });
});

describe.runIf(root)('assertTrusted and assertNoPlantedLink', () => {
  it("assertTrusted: UNSAFE_CONFIG naming what, the path, why, and the --trust directory (the directory for a directory, else the file's)", async () => {
    const d = await dirWith();
    const f = path.join(d, 'apxs-ts.json');
    await fs.writeFile(f, '{}');
    await fs.chown(f, NOBODY, NOBODY);
    const hint = (dir: string) =>
      `another user could have planted or changed it, and apxs-ts would act on it as you. If you trust it, pass --trust ${dir} (or add it to ${SAFE_DIRS_ENV}, colon-separated); otherwise remove it or fix its owner and mode`;
    expect(() => assertTrusted(f, 'the config', env())).toThrow(
      expect.objectContaining({
        code: 'UNSAFE_CONFIG',
        message: `refusing the config ${f}: ${f} is owned by nobody (uid 65534), not by you or root`,
        hint: hint(d),
        data: { path: f, culprit: f, owner: 'nobody (uid 65534)' },
      }),
    );
    const sub = path.join(d, 'root');
    await fs.mkdir(sub);
    await fs.chown(sub, NOBODY, NOBODY);
    expect(() => assertTrusted(sub, 'the server root', env())).toThrow(
      expect.objectContaining({ hint: hint(sub) }),
    );
    await fs.chown(f, 0, 0);
    expect(() => assertTrusted(f, 'the config', env())).not.toThrow();
  });

  it("assertNoPlantedLink: another user's symlink in a sticky directory, on the path or above it, is refused; one of root, or in a plain directory, or trusted, is not", async () => {
    const safe = await dirWith();
    const target = path.join(safe, 'hosts');
    await fs.writeFile(target, '');
    const sticky = await dirWith(0o1777);
    const planted = path.join(sticky, 'hosts');
    await fs.symlink(target, planted);
    expect(() => assertNoPlantedLink(planted, 'the hosts file', env())).not.toThrow(); // root's own link
    await fs.lchown(planted, NOBODY, NOBODY);
    expect(() => assertNoPlantedLink(planted, 'the hosts file', env())).toThrow(
      expect.objectContaining({
        code: 'UNSAFE_CONFIG',
        message: `refusing the hosts file ${planted}: ${planted} is a symlink owned by nobody (uid 65534), not by you or root, in the sticky directory ${sticky}`,
        hint: `another user could point it at any file, and apxs-ts would write that file as you; name the real file, or pass --trust ${sticky} if you trust it`,
        data: { path: planted, culprit: planted, owner: 'nobody (uid 65534)' },
      }),
    );
    expect(() =>
      assertNoPlantedLink(planted, 'the hosts file', env({ [SAFE_DIRS_ENV]: sticky })),
    ).not.toThrow();
    expect(() =>
      assertNoPlantedLink(planted, 'the hosts file', env({ SUDO_UID: String(NOBODY) })),
    ).not.toThrow();
    // A planted directory link above the file.
    const dirLink = path.join(sticky, 'etc');
    await fs.symlink(safe, dirLink);
    await fs.lchown(dirLink, NOBODY, NOBODY);
    expect(() => assertNoPlantedLink(path.join(dirLink, 'hosts'), 'the hosts file', env())).toThrow(
      expect.objectContaining({ data: expect.objectContaining({ culprit: dirLink }) }),
    );
    // Another user's link in a directory that is not sticky.
    const plainLink = path.join(safe, 'h2');
    await fs.symlink(target, plainLink);
    await fs.lchown(plainLink, NOBODY, NOBODY);
    expect(() => assertNoPlantedLink(plainLink, 'the hosts file', env())).not.toThrow();
    expect(() =>
      assertNoPlantedLink(path.join(safe, 'missing'), 'the hosts file', env()),
    ).not.toThrow();
  });
});

describe.runIf(root)('whyUntrusted on a symlink loop, and assertWritable', () => {
  it('a symlink loop is an error (ELOOP), not a yes', async () => {
    const d = await dirWith();
    const loop = path.join(d, 'loop');
    await fs.symlink(loop, loop);
    expect(() => whyUntrusted(loop, env())).toThrow(expect.objectContaining({ code: 'ELOOP' }));
    expect(() => assertWritable(loop)).toThrow(expect.objectContaining({ code: 'ELOOP' })); // not PERMISSION_DENIED
    const file = path.join(d, 'a-file');
    await fs.writeFile(file, '');
    expect(() => assertWritable(path.join(file, 'below'))).toThrow(
      expect.objectContaining({ code: 'ENOTDIR' }),
    ); // not PERMISSION_DENIED
    // A missing path below a directory not yet known safe: realpath's ENOENT means nothing to act on.
    expect(whyUntrusted(path.join(d, 'no-such-dir', 'apxs-ts.json'), env())).toBeUndefined();
  });

  it('assertWritable: a writable file, a new file and a read-only file system pass (the write says what failed); a file root may not write is PERMISSION_DENIED with owner and mode', async (ctx) => {
    const d = await dirWith();
    const f = path.join(d, 'hosts');
    await fs.writeFile(f, '');
    await fs.chmod(f, 0o640);
    expect(() => assertWritable(f)).not.toThrow();
    expect(() => assertWritable(path.join(d, 'new'))).not.toThrow();
    // Read-only: a read-only bind mount of the directory (EROFS).
    const ro = path.join(d, 'ro');
    await fs.mkdir(ro);
    await fs.writeFile(path.join(ro, 'hosts'), '');
    if (spawnSync('mount', ['--bind', '-o', 'ro', ro, ro]).status === 0) {
      try {
        spawnSync('mount', ['-o', 'remount,bind,ro', ro]);
        expect(() => assertWritable(path.join(ro, 'hosts'))).not.toThrow();
      } finally {
        spawnSync('umount', [ro]);
      }
    } else console.warn('trust-mutation: no read-only bind mount here: EROFS case not run');
    // Immutable (chattr +i): access(W_OK) fails with EPERM even for root.
    if (spawnSync('chattr', ['+i', f]).status !== 0) {
      console.warn('trust-mutation: chattr +i not possible here: PERMISSION_DENIED case not run');
      return ctx.skip();
    }
    try {
      expect(() => assertWritable(f)).toThrow(
        expect.objectContaining({
          code: 'PERMISSION_DENIED',
          message: `permission denied writing ${f} (owned by root (uid 0), mode 0640)`,
          hint: 'run the same command with sudo, or pass a path you own; the file was left as it was',
          data: { path: f },
        }),
      );
    } finally {
      spawnSync('chattr', ['-i', f]);
    }
  });
});

describe.runIf(root)('what is remembered as safe, and explicit trust through links', () => {
  it('an owner without an account is shown by number', async () => {
    const d = await dirWith();
    const f = path.join(d, 'apxs-ts.json');
    await fs.writeFile(f, '{}');
    await fs.chown(f, 54321, 54321);
    expect(userName(54321)).toBe('uid 54321');
    expect(whyUntrusted(f, env())?.owner).toBe('uid 54321');
  });

  it('a directory found unsafe is not remembered as safe: a root file in it is still refused', async () => {
    const d = await dirWith();
    const bad = path.join(d, 'bad');
    await fs.mkdir(bad);
    await fs.chown(bad, NOBODY, NOBODY);
    const f = path.join(bad, 'apxs-ts.json');
    await fs.writeFile(f, '{}');
    await fs.chown(f, 0, 0);
    const beside = path.join(d, 'beside.json');
    await fs.writeFile(beside, '{}');
    expect(whyUntrusted(beside, env())).toBeUndefined(); // d is now known safe: bad is judged on the fast path
    expect(whyUntrusted(bad, env())?.culprit).toBe(bad);
    expect(whyUntrusted(f, env())?.culprit).toBe(bad);
  });

  it('a directory reached through a symlink is not remembered: the link, repointed, is judged again', async () => {
    const d = await dirWith();
    const good = path.join(d, 'good');
    const bad = path.join(d, 'bad');
    for (const x of [good, bad]) {
      await fs.mkdir(path.join(x, 'sub'), { recursive: true });
      await fs.writeFile(path.join(x, 'sub', 'a.json'), '{}');
      await fs.writeFile(path.join(x, 'sub', 'b.json'), '{}');
    }
    await fs.chown(bad, NOBODY, NOBODY);
    const link = path.join(d, 'link');
    await fs.symlink(good, link);
    expect(whyUntrusted(path.join(link, 'sub', 'a.json'), env())).toBeUndefined();
    await fs.rm(link);
    await fs.symlink(bad, link);
    expect(whyUntrusted(path.join(link, 'sub', 'b.json'), env())?.culprit).toBe(bad);
  });

  it('explicit trust: any one of several entries; a missing name below a linked trusted dir; a link inside it that leads out', async () => {
    const d = await dirWith();
    const real = path.join(d, 'real');
    const out = path.join(d, 'out');
    await fs.mkdir(real);
    await fs.mkdir(out);
    const link = path.join(d, 'link');
    await fs.symlink(real, link);
    await fs.symlink(out, path.join(real, 'leads-out'));
    const t = (dirs: string) => env({ [SAFE_DIRS_ENV]: dirs });
    expect(SAFE_DIRS_ENV).toBe('APXS_TS_SAFE_DIRECTORIES'); // the documented name
    expect(explicitlyTrusted(path.join(real, 'x'), t(`/nonexistent/apxs-ts:${real}`))).toBe(true);
    expect(explicitlyTrusted(path.join(link, 'missing'), t(link))).toBe(true); // by name: it has no real path
    expect(explicitlyTrusted(path.join(link, 'leads-out'), t(link))).toBe(true); // by name, though its real path is elsewhere
    expect(explicitlyTrusted(path.join(out, 'x'), t(link))).toBe(false);
  });
});

describe.runIf(root)('whyUntrusted: a group with a member list', () => {
  it("a group whose listed members are all sudo's user is private: its write bit is trusted", async (ctx) => {
    // From this machine's /etc/group: a group whose member list (and whose primary-group accounts) name one uid only.
    const passwd = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .map((l) => l.split(':'))
      .filter((f) => f.length > 3);
    const uidOf = new Map(passwd.map((f) => [f[0]!, Number(f[2])]));
    const pick = readFileSync('/etc/group', 'utf8')
      .split('\n')
      .map((l) => l.split(':'))
      .filter((f) => f.length > 3 && f[3])
      .map((f) => {
        const gid = Number(f[2]);
        const uids = new Set([
          ...f[3]!.split(',').map((n) => uidOf.get(n) ?? -1),
          ...passwd.filter((p) => Number(p[3]) === gid).map((p) => Number(p[2])),
        ]);
        return { gid, uids: [...uids], members: f[3]! };
      })
      .find((g) => g.uids.length === 1 && g.uids[0]! > 0);
    if (!pick) {
      console.warn(
        'trust-mutation: no group in /etc/group lists exactly one user as its members; not run here',
      );
      return ctx.skip();
    }
    const d = await dirWith();
    const f = path.join(d, 'apxs-ts.json');
    await fs.writeFile(f, '{}');
    await fs.chown(f, 0, pick.gid);
    await fs.chmod(f, 0o664);
    const sudo = { SUDO_UID: String(pick.uids[0]), SUDO_GID: String(pick.gid) };
    expect(whyUntrusted(f, env(sudo)), `group ${pick.gid} (${pick.members})`).toBeUndefined();
    // without sudo's user, the listed member is someone else
    expect(whyUntrusted(f, env({ SUDO_GID: String(pick.gid) }))?.why).toBe(
      `${f} is writable by group ${groupLabel(pick.gid)}`,
    );
  });
});
