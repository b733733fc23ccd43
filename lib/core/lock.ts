/**
 * The one lock of apxs-ts: a file beside the file being edited (hosts edits,
 * vhost add), built to survive kill -9 at any instant.
 *
 * - It is created complete. "PID STARTTIME BOOT PIDNS" goes into a temp file
 *   first, which is then link()ed to the lock path: link fails with EEXIST
 *   when the lock is held, and the lock path never holds a partial file.
 * - Its owner is dead when no process in this boot has that pid with that
 *   start time (/proc/PID/stat field 22): a recycled pid is another process.
 * - A dead owner's lock is taken over by exactly one taker. The taker first
 *   claims it with a claim file (link(), so exclusive) named after the stale
 *   lock's identity (inode + content hash), re-checks that the lock path still
 *   holds that identity, and only then unlinks it; then everyone races again
 *   with link(). A claimant killed while claiming leaves its claim in slot n;
 *   the next taker takes slot n+1, but only after seeing slot n's claimant
 *   dead, so one identity never has two live claimants. Once a stale lock is
 *   gone its identity never comes back (new locks name a live process), so
 *   claims that outlive it are harmless, and are cleaned up.
 * - A lock file that cannot be parsed (empty, or garbage) cannot come from
 *   this code; an older apxs-ts created its lock with O_EXCL and then wrote
 *   its pid, so for a moment it was empty. Such a file is stale once its mtime
 *   is 1 s old. The older format, just a pid, is judged by that pid.
 *
 * Why not proper-lockfile: it judges staleness by mtime alone (at least 2 s,
 * refreshed by a timer), so a lock left by a killed writer blocks the next run
 * for seconds, and a live but busy or stopped owner can be judged stale; the
 * rules here need a dead owner's lock recovered within 1 s and judged by pid
 * and start time.
 */
import { constants as fsc, promises as fs, type Stats } from 'node:fs';
import path from 'node:path';
import { ApxsError, fileError, isErrno } from './errors.js';
import { configureLockWaits, describeHolder, lockWaits } from './lock-settings.js';
import { sha256 } from './sha256.js';

export { describeHolder };
import { isAlive, procInfo, sleep, startTicks } from './proc.js';
import { trace } from './trace.js';

/** An unparseable lock or claim this old (by mtime) is left over, not being written. */
const GARBAGE_STALE_MS = 1000;

export interface Seen {
  ino: number;
  mtimeMs: number;
  content: string;
}

let selfId: Promise<{ start: string; boot: string; pidns: string }> | undefined;
function self(): Promise<{ start: string; boot: string; pidns: string }> {
  selfId ??= (async () => ({
    start: startTicks(process.pid) ?? '0',
    boot:
      (await fs.readFile('/proc/sys/kernel/random/boot_id', 'utf8').catch(() => '-')).trim() || '-',
    pidns: (await fs.readlink('/proc/self/ns/pid').catch(() => '-')).replace(/\s/g, '') || '-',
  }))();
  return selfId;
}

type State = { alive: boolean; pid: number | undefined; otherPidNamespace?: boolean };

/** Whether the process a lock or claim file names still runs. */
async function ownerState(seen: Seen): Promise<State> {
  const me = await self();
  const full = /^(\d+) (\d+) (\S+) (\S+)\n?$/.exec(seen.content);
  if (full) {
    const pid = Number(full[1]);
    if (full[3] !== me.boot && full[3] !== '-' && me.boot !== '-') return { alive: false, pid };
    // Another pid namespace's pid means nothing here: assume it runs (LOCKED says whose it is).
    if (full[4] !== me.pidns && full[4] !== '-' && me.pidns !== '-')
      return { alive: true, pid, otherPidNamespace: true };
    return { alive: startTicks(pid) === full[2], pid };
  }
  const legacy = /^(\d+)\s*$/.exec(seen.content);
  if (legacy) {
    // An older apxs-ts wrote only its pid: a process with that pid that started
    // well after the lock was written is a recycled pid, not the owner.
    const pid = Number(legacy[1]);
    if (!isAlive(pid)) return { alive: false, pid };
    const started = procInfo(pid)?.startedAt?.getTime();
    return { alive: started === undefined || started < seen.mtimeMs + 2000, pid };
  }
  return { alive: Math.abs(Date.now() - seen.mtimeMs) < GARBAGE_STALE_MS, pid: undefined };
}

/**
 * Whether `lockFile` is held by a live process, read only (nothing taken
 * over or removed): a --check waits on a live edit, never on the lock a
 * killed run left behind.
 */
export async function lockHeld(lockFile: string): Promise<boolean> {
  const seen = await readSeen(lockFile);
  return !!seen && (await ownerState(seen)).alive;
}

/** Inode, mtime and content (first 4 KiB) read through one descriptor, so they belong together. */
async function readSeen(file: string): Promise<Seen | undefined> {
  let h: fs.FileHandle;
  try {
    // O_NONBLOCK: a FIFO planted in the lock's place (a sticky /tmp lets anyone
    // make one) would block a plain open until a writer came, forever.
    h = await fs.open(file, fsc.O_RDONLY | fsc.O_NONBLOCK);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return undefined;
    throw fileError(file, err) ?? err;
  }
  try {
    const st = await h.stat();
    if (!st.isFile()) {
      // Not a file this code made (link() of a regular temp file): a FIFO, a device, a directory.
      throw new ApxsError(
        'UNSAFE_CONFIG',
        `${file} is not a lock apxs-ts made: it is ${kindOf(st)}, owned by uid ${st.uid}`,
        {
          hint:
            'another user may have planted it to stop ' +
            'apxs-ts; remove it and run the command again',
          data: { path: file },
        },
      );
    }
    const buf = Buffer.alloc(4096);
    const { bytesRead } = await h.read(buf, 0, buf.length, 0);
    return {
      ino: st.ino,
      mtimeMs: st.mtimeMs,
      content: buf.subarray(0, bytesRead).toString('utf8'),
    };
  } finally {
    await h.close();
  }
}

/** What a file that is not a regular file is, in words. */
const kindOf = (st: Stats): string =>
  st.isFIFO()
    ? 'a FIFO'
    : st.isDirectory()
      ? 'a directory'
      : st.isCharacterDevice()
        ? 'a character device'
        : 'not a regular file';

const same = (a: Seen | undefined, b: Seen) => !!a && a.ino === b.ino && a.content === b.content;
const claimPrefix = (lockFile: string, stale: Seen) => {
  const digest = sha256(stale.content).slice(0, 16);
  return `${path.basename(lockFile)}.stale-${stale.ino}-${digest}.`;
};

async function unlinkQuietly(file: string): Promise<void> {
  await fs.unlink(file).catch((err: unknown) => {
    if (!isErrno(err, 'ENOENT')) throw err;
  });
}

/**
 * Removes the stale lock `stale` if this process wins the claim on it.
 * Returns false when a live taker holds the claim (wait and look again).
 * Exported for test/unit/lock.test.ts: the re-check after the claim guards a
 * window (another taker replaced the lock between our look and our claim)
 * that a test can only open deterministically by calling this directly.
 */
export async function takeOver(lockFile: string, tmp: string, stale: Seen): Promise<boolean> {
  const dir = path.dirname(lockFile);
  const prefix = claimPrefix(lockFile, stale);
  let n = 0;
  for (let tries = 0; ; tries++) {
    if (tries > 1000) return false;
    const claim = path.join(dir, `${prefix}${n}.claim`);
    try {
      await fs.link(tmp, claim);
    } catch (err) {
      if (!isErrno(err, 'EEXIST')) throw fileError(dir, err) ?? err;
      const other = await readSeen(claim);
      if (!other) continue; // its claimant just finished: try this slot again
      if ((await ownerState(other)).alive) return false;
      n++; // that claimant died while claiming: the next slot
      continue;
    }
    break;
  }
  try {
    // Ours alone to decide: the lock path still holds the stale lock, or it is already gone.
    if (same(await readSeen(lockFile), stale)) await unlinkQuietly(lockFile);
  } finally {
    // The stale lock is gone either way, and its identity never recurs: every claim on it is moot.
    for (const f of await fs.readdir(dir).catch(() => [] as string[])) {
      if (f.startsWith(prefix) && f.endsWith('.claim'))
        await unlinkQuietly(path.join(dir, f)).catch(() => undefined);
    }
  }
  return true;
}

/**
 * Who holds a lock another run waits for: what the waiter is told (onWait) and what LOCKED names.
 */
export interface LockHolder {
  lockFile: string;
  pid: number | null;
  /** Its command line (/proc/PID/cmdline), cut to 200 characters; null when it cannot be read. */
  command: string | null;
  /** When it took the lock (the lock file's mtime), ISO 8601. */
  since: string;
  /**
   * 'stopped': SIGSTOP or Ctrl-Z (/proc/PID/stat state T or t); it will not let go until continued.
   */
  state: 'stopped' | 'running' | 'unknown';
  /** How long this run waits for it in all, in ms. */
  waitMs: number;
}

export interface LockOptions {
  /**
   * How long to wait for a live holder (default 15 s); a wait set by configureLockWaits overrides
   * it.
   */
  timeoutMs?: number;
  /** Called once per holder, as soon as it is stopped or after WAIT_NOTICE_MS of waiting. */
  onWait?: (holder: LockHolder) => void;
}

/** A live holder is announced after this long: a short wait for a busy peer stays silent. */
const WAIT_NOTICE_MS = 300;

/** The CLI's settings (lock-settings.ts): the user's wait, and who is told. */
const waits = lockWaits;
export { configureLockWaits };

function holderOf(lockFile: string, seen: Seen, owner: State, waitMs: number): LockHolder {
  // A pid of another pid namespace names some other process here: nothing of it is read.
  const info =
    owner.pid !== undefined && !owner.otherPidNamespace ? procInfo(owner.pid) : undefined;
  const command = info?.cmdline.length ? info.cmdline.join(' ') : null;
  return {
    lockFile,
    pid: owner.pid ?? null,
    command: command && command.length > 200 ? `${command.slice(0, 199)}…` : command,
    since: new Date(seen.mtimeMs).toISOString(),
    state: !info ? 'unknown' : info.state === 'T' || info.state === 't' ? 'stopped' : 'running',
    waitMs,
  };
}

const seconds = (ms: number) => `${Math.round(ms / 100) / 10} s`;

function lockedError(h: LockHolder): ApxsError {
  const how = 'set the wait with --wait SECONDS or APXS_TS_LOCK_WAIT';
  return new ApxsError(
    'LOCKED',
    `${h.lockFile} is held by ${describeHolder(h)}; waited ${seconds(h.waitMs)}`,
    {
      hint:
        h.state === 'stopped' && h.pid !== null
          ? `continue it (kill -CONT ${h.pid}) or end it, then run this again; ${how}`
          : h.pid !== null
            ? `another apxs-ts (pid ${h.pid}) is using it; try again when it is done, or ${how}`
            : 'another apxs-ts is writing this lock; try again',
      data: { lockFile: h.lockFile, pid: h.pid, holder: { ...h } },
    },
  );
}

export async function withLock<T>(
  lockFile: string,
  fn: () => Promise<T>,
  options: number | LockOptions = {},
): Promise<T> {
  const opts = typeof options === 'number' ? { timeoutMs: options } : options;
  const timeoutMs = waits.waitMs ?? opts.timeoutMs ?? 15_000;
  const onWait = opts.onWait ?? waits.onWait;
  const began = Date.now();
  const deadline = began + timeoutMs;
  const announced = new Set<string>();
  const traced = new Set<string>();
  const dir = path.dirname(lockFile);
  const me = await self();
  const content = `${process.pid} ${me.start} ${me.boot} ${me.pidns}\n`;
  // A random part that needs no node:crypto: a name made with O_EXCL only has to differ from
  // the others. One that is taken (EEXIST) is not ours to remove: another name is tried.
  const tmpName = () => {
    const random = Math.random().toString(16).slice(2, 10);
    return path.join(dir, `.${path.basename(lockFile)}.${process.pid}-${me.start}-${random}.tmp`);
  };
  let tmp = tmpName();
  let ino: number;
  for (let tries = 1; ; tries++) {
    try {
      await fs.writeFile(tmp, content, { flag: 'wx', mode: 0o644 });
      ino = (await fs.stat(tmp)).ino;
      break;
    } catch (err) {
      if (isErrno(err, 'EEXIST') && tries < 8) {
        tmp = tmpName();
        continue;
      }
      if (!isErrno(err, 'EEXIST')) await fs.rm(tmp, { force: true }).catch(() => undefined);
      throw fileError(dir, err) ?? err;
    }
  }
  try {
    let delay = 2;
    for (;;) {
      try {
        await fs.link(tmp, lockFile);
        break;
      } catch (err) {
        if (!isErrno(err, 'EEXIST')) throw fileError(dir, err) ?? err;
      }
      const seen = await readSeen(lockFile);
      if (!seen) continue; // released between our link and our look
      const owner = await ownerState(seen);
      if (!owner.alive && (await takeOver(lockFile, tmp, seen))) continue;
      const key = `${owner.pid}:${seen.ino}`;
      if (!traced.has(key)) {
        traced.add(key);
        trace('lock:wait', `${lockFile} held by pid ${owner.pid ?? '?'}`);
      }
      const expired = Date.now() > deadline;
      if (expired || (onWait && owner.alive && !announced.has(key))) {
        const holder = holderOf(lockFile, seen, owner, timeoutMs);
        if (expired) throw lockedError(holder);
        // Told at once when the holder is stopped (it will not let go by itself), else once the
        // wait is not short.
        if (holder.state === 'stopped' || Date.now() - began >= WAIT_NOTICE_MS) {
          announced.add(key);
          onWait?.(holder);
        }
      }
      await sleep(Math.min(delay + Math.random() * delay, Math.max(1, deadline - Date.now() + 1)));
      delay = Math.min(delay * 2, 50);
    }
  } finally {
    await fs.rm(tmp, { force: true }).catch(() => undefined);
  }
  if (traced.size) trace('lock:taken', lockFile);
  try {
    await removeLeftovers(lockFile);
    return await fn();
  } finally {
    // Ours only: never unlink a lock someone else put there after removing ours by hand.
    const now = await readSeen(lockFile).catch(() => undefined);
    if (now && now.ino === ino && now.content === content)
      await unlinkQuietly(lockFile).catch(() => undefined);
  }
}

/**
 * What killed processes leave beside the target, removed while the lock is
 * held: the atomic writer's `.NAME.apxs-ts-PID-*.tmp` files, this lock's own
 * temp files, and claims of dead claimants.
 */
async function removeLeftovers(lockFile: string): Promise<void> {
  const target = lockFile.replace(/\.apxs-ts\.lock$/, '');
  const dir = path.dirname(lockFile);
  const writerPrefix = `.${path.basename(target)}.apxs-ts-`;
  const lockTmpPrefix = `.${path.basename(lockFile)}.`;
  const claimPrefixAny = `${path.basename(lockFile)}.stale-`;
  for (const f of await fs.readdir(dir).catch(() => [] as string[])) {
    const full = path.join(dir, f);
    if (f.startsWith(writerPrefix) && f.endsWith('.tmp')) {
      const m = /^(\d+)-/.exec(f.slice(writerPrefix.length));
      if (m && !isAlive(Number(m[1]))) await fs.rm(full, { force: true });
    } else if (f.startsWith(lockTmpPrefix) && f.endsWith('.tmp')) {
      const m = /^(\d+)-(\d+)-/.exec(f.slice(lockTmpPrefix.length));
      if (m && startTicks(Number(m[1])) !== m[2]) await fs.rm(full, { force: true });
    } else if (f.startsWith(claimPrefixAny) && f.endsWith('.claim')) {
      const seen = await readSeen(full).catch(() => undefined);
      if (seen && !(await ownerState(seen)).alive) await fs.rm(full, { force: true });
    }
  }
}
