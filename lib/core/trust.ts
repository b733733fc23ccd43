/**
 * Whose files apxs-ts may act on. A config apxs-ts finds by itself (an
 * apxs-ts.json upward from the working directory, $APXS_TS_SERVER_ROOT, a
 * server root's sandbox record, the programs and envvars it names) decides
 * which program runs, as whoever runs apxs-ts: root running `apxs-ts doctor`
 * below a directory another user can write would run that user's program
 * (git's CVE-2022-24765, answered with safe.directory; OpenSSH's StrictModes
 * is the same rule).
 *
 * The rule: the file, its real target when it is a symlink, and every
 * directory above both must be owned by the invoking user or root (under
 * sudo, also the user sudo was run by: SUDO_UID), and writable by no other
 * user: not by others, and by a group only when nobody but those owners is
 * in it. A directory writable by others is fine when its sticky bit is set
 * (/tmp): others cannot replace what they do not own in it. Anything else is
 * UNSAFE_CONFIG (exit 2) with the path and its owner, unless the user trusts
 * it: `--trust DIR`, or DIR in $APXS_TS_SAFE_DIRECTORIES (colon-separated;
 * `*` trusts everything, as git's safe.directory does).
 *
 * Synchronous (its functions return values, not Promises): a few stats of
 * local inodes, asked by sync readers too (lib/core/cache.ts).
 */
import {
  accessSync,
  constants as fsc,
  lstatSync,
  readFileSync,
  realpathSync,
  statSync,
  type Stats,
} from 'node:fs';
import path from 'node:path';
import { ApxsError, isErrno } from './errors.js';

export const SAFE_DIRS_ENV = 'APXS_TS_SAFE_DIRECTORIES';

interface Who {
  uids: Set<number>;
  gids: Set<number>;
}

function who(env: NodeJS.ProcessEnv): Who {
  const uid = process.geteuid?.() ?? 0;
  const gid = process.getegid?.() ?? 0;
  const uids = new Set([uid, 0]);
  const gids = new Set([gid]);
  // Root by sudo acts for the user who ran it (git does the same since 2.37).
  if (uid === 0 && /^\d+$/.test(env.SUDO_UID ?? '')) uids.add(Number(env.SUDO_UID));
  if (uid === 0 && /^\d+$/.test(env.SUDO_GID ?? '')) gids.add(Number(env.SUDO_GID));
  return { uids, gids };
}

interface Account {
  name: string;
  uid: number;
  gid: number;
}

function passwd(): Account[] {
  let text = '';
  try {
    text = readFileSync('/etc/passwd', 'utf8');
  } catch {
    /* no passwd: uids shown as numbers */
  }
  return text
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f.length > 3)
    .map((f) => ({ name: f[0]!, uid: Number(f[2]), gid: Number(f[3]) }));
}

function groups(): { name: string; gid: number; members: string[] }[] {
  let text = '';
  try {
    text = readFileSync('/etc/group', 'utf8');
  } catch {
    /* none */
  }
  return text
    .split('\n')
    .map((l) => l.split(':'))
    .filter((f) => f.length > 3)
    .map((f) => ({
      name: f[0]!,
      gid: Number(f[2]),
      members: (f[3] ?? '').split(',').filter(Boolean),
    }));
}

export function userName(uid: number): string {
  const a = passwd().find((p) => p.uid === uid);
  return a ? `${a.name} (uid ${uid})` : `uid ${uid}`;
}

/** "owned by root (uid 0), mode 0644": who may change a file, for a message. */
function ownerAndMode(st: Stats): string {
  return `owned by ${userName(st.uid)}, mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}`;
}

function groupName(gid: number): string {
  const g = groups().find((x) => x.gid === gid);
  return g ? `${g.name} (gid ${gid})` : `gid ${gid}`;
}

/**
 * A group only trusted users are in (a user private group, or root's): its write bit lets no one
 * else in.
 */
function privateGroup(gid: number, w: Who): boolean {
  if (!w.gids.has(gid)) return false;
  const accounts = passwd();
  const uidOf = new Map(accounts.map((a) => [a.name, a.uid]));
  const members = [
    ...accounts.filter((a) => a.gid === gid).map((a) => a.uid),
    ...(groups().find((g) => g.gid === gid)?.members ?? []).map((n) => uidOf.get(n) ?? -1),
  ];
  return members.every((u) => w.uids.has(u));
}

/** The user's explicitly trusted directories: $APXS_TS_SAFE_DIRECTORIES, to which --trust adds. */
export function trustedDirs(env: NodeJS.ProcessEnv = process.env): string[] {
  // Absolute paths and `*` only: a relative entry (`proj`, `.`) would trust
  // whatever directory of that name is below the directory apxs-ts runs in,
  // which, for a variable set once in a shell profile, is anyone's (git's
  // safe.directory likewise takes no relative paths). --trust resolves its DIR.
  return (env[SAFE_DIRS_ENV] ?? '').split(':').filter((d) => d === '*' || path.isAbsolute(d));
}

function realOrSelf(p: string): string {
  try {
    return realpathSync.native(p);
  } catch {
    return p;
  }
}

const within = (p: string, dir: string) =>
  p === dir || p.startsWith(dir.endsWith(path.sep) ? dir : `${dir}${path.sep}`);

/**
 * Whether the user trusts `p` explicitly (it is, or is below, a trusted directory, by its name or
 * its real path).
 */
export function explicitlyTrusted(p: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const dirs = trustedDirs(env);
  if (dirs.length === 0) return false;
  if (dirs.includes('*')) return true;
  const abs = path.resolve(p);
  const real = realOrSelf(abs);
  return dirs.some((d) => {
    const t = path.resolve(d);
    const tr = realOrSelf(t);
    return within(abs, t) || within(real, t) || within(abs, tr) || within(real, tr);
  });
}

export interface Unsafe {
  /** The path checked, as given (absolute). */
  path: string;
  /** The entry that failed: the path, its real target, or a directory above either. */
  culprit: string;
  owner: string;
  why: string;
}

function judge(p: string, st: Stats, w: Who): Omit<Unsafe, 'path'> | undefined {
  // The owner's name only for a refusal: /etc/passwd is not read on the way to a yes.
  const no = (why: (owner: string) => string) => ({
    culprit: p,
    owner: userName(st.uid),
    why: why(userName(st.uid)),
  });
  if (!w.uids.has(st.uid)) return no((owner) => `${p} is owned by ${owner}, not by you or root`);
  const sticky = st.isDirectory() && (st.mode & 0o1000) !== 0;
  if (st.mode & 0o002 && !sticky) return no(() => `${p} is writable by every user`);
  if (st.mode & 0o020 && !sticky && !privateGroup(st.gid, w))
    return no(() => `${p} is writable by group ${groupName(st.gid)}`);
  return undefined;
}

/**
 * A symlink in a sticky directory (/tmp) owned by someone else: its owner may
 * repoint it at will, at any file, so following it acts where they choose (the
 * kernel's protected_symlinks rule, off on some systems and in containers).
 */
function plantedLink(q: string, st: Stats, w: Who): Omit<Unsafe, 'path'> | undefined {
  if (w.uids.has(st.uid)) return undefined;
  const dir = lstatSync(path.dirname(q), { throwIfNoEntry: false });
  if (!dir || (dir.mode & 0o1000) === 0) return undefined;
  return {
    culprit: q,
    owner: userName(st.uid),
    why:
      `${q} is a symlink owned by ${userName(st.uid)}, not by ` +
      `you or root, in the sticky directory ${path.dirname(q)}`,
  };
}

/**
 * Refuses (UNSAFE_CONFIG) a file apxs-ts is told to write (the hosts file)
 * when its name goes through another user's symlink in a sticky directory:
 * root editing /tmp/x/hosts would write whatever file that user pointed it at.
 * The file itself may be another user's (lib/core/foreign-file.ts says how it is written).
 */
export function assertNoPlantedLink(
  file: string,
  what: string,
  env: NodeJS.ProcessEnv = process.env,
): void {
  const abs = path.resolve(file);
  if (explicitlyTrusted(abs, env)) return;
  const w = who(env);
  for (const q of [abs, ...ancestors(abs)]) {
    const st = lstatSync(q, { throwIfNoEntry: false });
    const bad = st?.isSymbolicLink() ? plantedLink(q, st, w) : undefined;
    if (bad) {
      throw new ApxsError('UNSAFE_CONFIG', `refusing ${what} ${abs}: ${bad.why}`, {
        hint:
          'another user could point it at any file, and apxs-ts would write that file ' +
          `as you; name the real file, or pass --trust ${path.dirname(q)} if you trust it`,
        data: { path: abs, culprit: bad.culprit, owner: bad.owner },
      });
    }
  }
}

function ancestors(p: string): string[] {
  const out: string[] = [];
  for (let d = path.dirname(p); ; d = path.dirname(d)) {
    out.push(d);
    if (d === path.dirname(d)) return out;
  }
}

/**
 * Directories found safe in this run (a run is one command: seconds, not
 * days), by their real paths: the same directories sit above every file of
 * a root, and a file in one of them needs one lstat, no realpath.
 */
const safeDirs = new Set<string>();

/**
 * Why `p` may not be trusted, or undefined when it may (or does not exist:
 * there is nothing to act on then). Checks `p`, its real target and every
 * directory above both; a symlink on the way is judged by its target and the
 * directory it sits in (the link's own mode means nothing).
 */
export function whyUntrusted(p: string, env: NodeJS.ProcessEnv = process.env): Unsafe | undefined {
  const abs = path.resolve(p);
  if (explicitlyTrusted(abs, env)) return undefined;
  const w = who(env);
  // Fast path: a plain file or directory in a directory already found safe, by its real path.
  if (safeDirs.has(path.dirname(abs))) {
    const st = lstatSync(abs, { throwIfNoEntry: false });
    if (!st) return undefined;
    if (!st.isSymbolicLink()) {
      const bad = judge(abs, st, w);
      if (!bad && st.isDirectory()) safeDirs.add(abs);
      return bad && { path: abs, ...bad };
    }
  }
  let real: string;
  try {
    // the JS realpath costs ~7x more, on every command that finds a root
    real = realpathSync.native(abs);
  } catch (err) {
    if (isErrno(err, 'ENOENT') || isErrno(err, 'ENOTDIR')) return undefined;
    throw err;
  }
  const realDirs = new Set(ancestors(real));
  const seen = new Set<string>();
  for (const q of [real, ...realDirs, abs, ...ancestors(abs)]) {
    // abs: the name itself may be a symlink
    if (seen.has(q) || safeDirs.has(q)) continue;
    seen.add(q);
    let st: Stats;
    try {
      st = lstatSync(q);
    } catch {
      continue; // gone between the realpath and now: the next read fails on its own
    }
    if (st.isSymbolicLink()) {
      // Its target is on the real chain, its directory on this one; but see plantedLink.
      const bad = plantedLink(q, st, w);
      if (bad) return { path: abs, ...bad };
      continue;
    }
    const bad = judge(q, st, w);
    if (bad) return { path: abs, ...bad };
    // Only real paths: a name that goes through a symlink may point elsewhere tomorrow.
    if (st.isDirectory() && (q === real || realDirs.has(q)) && safeDirs.size < 256) safeDirs.add(q);
  }
  return undefined;
}

/**
 * Refuses (UNSAFE_CONFIG, exit 2) a discovered file or directory another user could have planted or
 * changed.
 */
export function assertTrusted(p: string, what: string, env: NodeJS.ProcessEnv = process.env): void {
  const bad = whyUntrusted(p, env);
  if (!bad) return;
  const dir = statSync(bad.path, { throwIfNoEntry: false })?.isDirectory()
    ? bad.path
    : path.dirname(bad.path);
  throw new ApxsError('UNSAFE_CONFIG', `refusing ${what} ${bad.path}: ${bad.why}`, {
    hint:
      'another user could have planted or changed it, and apxs-ts would act on ' +
      `it as you. If you trust it, pass --trust ${dir} (or add it to ` +
      `${SAFE_DIRS_ENV}, colon-separated); otherwise remove it or fix its owner and mode`,
    data: { path: bad.path, culprit: bad.culprit, owner: bad.owner },
  });
}

/**
 * Refuses (PERMISSION_DENIED) to replace `file` when the invoking user may
 * not write it: a rename into a directory the user can write would replace a
 * file they cannot (and give it their owner). For every atomic write of a
 * file apxs-ts does not own (the hosts file, a user's config).
 */
export function assertWritable(file: string): void {
  try {
    accessSync(file, fsc.W_OK);
  } catch (err) {
    // A new file: the directory's permission decides. A read-only file system: the write fails and
    // says so.
    if (isErrno(err, 'ENOENT') || isErrno(err, 'EROFS')) return;
    if (isErrno(err, 'EACCES') || isErrno(err, 'EPERM')) {
      const st = statSync(file, { throwIfNoEntry: false });
      throw new ApxsError(
        'PERMISSION_DENIED',
        `permission denied writing ${file}${st ? ` (${ownerAndMode(st)})` : ''}`,
        {
          hint:
            'run the same command with sudo, or pass ' +
            'a path you own; the file was left as it was',
          cause: err,
          data: { path: file },
        },
      );
    }
    throw err;
  }
}
