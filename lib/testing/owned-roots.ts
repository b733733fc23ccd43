/**
 * Which throwaway roots of `apxs-ts test` belong to a run that is gone.
 * A kill -9 of the CLI leaves its servers running and its temp roots on
 * disk (no handler runs). So each root is recorded, before its directory
 * exists, in apxs-ts's cache dir (`test-roots/NAME.json`: the directory,
 * the owner's pid, its start ticks, the boot and pid namespace, a random
 * token), and the directory holds the same token (`apxs-ts-test-owner`).
 * The next run (any directory, same cache dir) sweeps the records whose
 * owner is proven dead (the pid does not run with those start ticks, or
 * the machine booted since): it stops the root's httpd through ctl (which
 * signals only a process proven to be that root's httpd, lib/ctl/
 * identity.ts) and deletes the directory only when it holds the record's
 * token (or is still empty: the owner died between mkdir and the token).
 * A record of another pid namespace is left alone (its pid means nothing here).
 */
import { randomBytes } from 'node:crypto';
import { promises as fs, readlinkSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.js';
import { cacheDir } from '../core/cache.js';
import { failpoint } from '../core/failpoint.js';
import { bootId, isAlive, startTicks } from '../core/proc.js';
import { assertTrusted } from '../core/trust.js';
import { ApxsError, fileError } from '../core/errors.js';
import { stop } from '../ctl/lifecycle.js';
import { configPath } from '../httpd/config-values.js';
import { detectServerRoot } from '../httpd/server-root.js';

export const OWNER_FILE = 'apxs-ts-test-owner';
export const ROOT_PREFIX = 'apxs-ts-testroot-';

interface OwnerRecord {
  dir: string;
  pid: number;
  start: string;
  boot: string;
  pidns: string;
  token: string;
}

const recordsDir = (env: NodeJS.ProcessEnv = process.env) => path.join(cacheDir(env), 'test-roots');
const pidns = () => {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return '-';
  }
};

/**
 * Where the roots are made (TMPDIR), checked once before any is: its path
 * is written into each root's httpd config, where `${HOME}` would be
 * expanded by httpd and a quote or line break would end the directive.
 */
export function rootsParent(parent: string): string {
  const what = 'temp dir for the test server roots (TMPDIR)';
  const abs = configPath(what, parent);
  if (/["\\]/.test(abs)) {
    throw new ApxsError(
      'BAD_INPUT',
      `bad ${what} ${JSON.stringify(abs)}: it contains a quote or ` +
        `backslash, which httpd's config cannot hold in ServerRoot`,
      { hint: 'set TMPDIR to a plain directory path, e.g. TMPDIR=/tmp' },
    );
  }
  return abs;
}

/**
 * Makes a new root directory below `parent` (0755: httpd's children run as
 * another user), recorded as this process's before it exists. Returns its
 * path and `release`, which forgets the record once the directory is gone
 * (or kept on purpose).
 */
export async function makeOwnedRoot(
  parent: string,
): Promise<{ dir: string; release: () => Promise<void> }> {
  const name = `${ROOT_PREFIX}${randomBytes(6).toString('hex')}`;
  const dir = path.join(rootsParent(parent), name);
  const rec: OwnerRecord = {
    dir,
    pid: process.pid,
    start: startTicks(process.pid) ?? '0',
    boot: bootId(),
    pidns: pidns(),
    token: randomBytes(12).toString('hex'),
  };
  const recFile = path.join(recordsDir(), `${name}.json`);
  try {
    await fs.mkdir(path.dirname(recFile), { recursive: true, mode: 0o700 });
    await writeFileAtomic(recFile, `${JSON.stringify(rec)}\n`);
  } catch (err) {
    throw fileError(recFile, err) ?? err;
  }
  const release = () => fs.rm(recFile, { force: true });
  failpoint('test:after-record');
  try {
    await fs.mkdir(dir, { mode: 0o755 });
    await fs.chmod(dir, 0o755);
    await fs.writeFile(path.join(dir, OWNER_FILE), `${rec.token}\n`, { mode: 0o644 });
  } catch (err) {
    await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
    await release().catch(() => undefined);
    throw fileError(dir, err) ?? err;
  }
  return { dir, release };
}

/**
 * A record's temp file whose writer is dead: a run killed while it wrote a record (a kill -9 of a
 * run whose other case file was making its root at that moment) leaves
 * `.apxs-ts-testroot-X.json.apxs-ts-PID-T.tmp`, which nothing else would ever remove. The writer's
 * pid alone decides: a live pid (its own or a reused one) keeps the file for a later sweep.
 */
function deadWriterTemp(name: string): boolean {
  const m = /^\.apxs-ts-testroot-[0-9a-f]+\.json\.apxs-ts-(\d+)-[0-9a-z]+\.tmp$/.exec(name);
  return !!m && !isAlive(Number(m[1]));
}

function ownerDead(r: OwnerRecord): boolean {
  if (r.boot !== bootId() && r.boot !== '-') return true;
  if (r.pidns !== pidns()) return false;
  return startTicks(r.pid) !== r.start;
}

/**
 * Stops and deletes the roots of dead runs; returns the directories deleted.
 * A root that cannot be stopped (its httpd not proven to be its own) is
 * left, with its record, for the user (`apxs-ts ctl stop --server-root DIR/root`).
 */
export async function sweepDeadRoots(env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const dir = recordsDir(env);
  const all = await fs.readdir(dir).catch(() => [] as string[]);
  const names = all.filter((n) => n.startsWith(ROOT_PREFIX) && n.endsWith('.json'));
  const torn = all.filter((n) => deadWriterTemp(n));
  if (!names.length && !torn.length) return [];
  // Its records name directories apxs-ts stops servers in and deletes: only the user's (or root's)
  // own.
  assertTrusted(dir, "apxs-ts's list of test roots", env);
  for (const n of torn) await fs.rm(path.join(dir, n), { force: true });
  const swept: string[] = [];
  for (const n of names) {
    const file = path.join(dir, n);
    let r: OwnerRecord;
    try {
      r = JSON.parse(await fs.readFile(file, 'utf8')) as OwnerRecord;
    } catch {
      continue; // half-written or gone: its owner's own business
    }
    if (
      typeof r.dir !== 'string' ||
      path.basename(r.dir) !== n.slice(0, -'.json'.length) ||
      !ownerDead(r)
    )
      continue;
    const token = await fs.readFile(path.join(r.dir, OWNER_FILE), 'utf8').then(
      (t) => t.trim(),
      () => undefined,
    );
    const entries = await fs
      .readdir(r.dir)
      .catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? null : undefined));
    if (entries === null) {
      await fs.rm(file, { force: true });
      continue;
    } // never made, or deleted
    if (entries === undefined) continue;
    if (token !== r.token && entries.length > 0) continue; // not (provably) the directory it made
    const root = path.join(r.dir, 'root');
    const sr = await detectServerRoot(root).catch(() => undefined);
    try {
      // No detectable root: its config was never written, so no httpd was started from it.
      if (sr) await stop(sr, { timeoutSec: 15 });
    } catch (e) {
      if (!(e instanceof ApxsError && e.code === 'NOT_RUNNING')) continue;
    }
    await fs.rm(r.dir, { recursive: true, force: true });
    await fs.rm(file, { force: true });
    swept.push(r.dir);
  }
  return swept;
}
