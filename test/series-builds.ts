/**
 * Real old httpds for e2e tests, built from the shared release archive with
 * `apxs-ts source build` once per machine boot and shared by every test file
 * and test run: the builds (1.3 ~10 s, 2.0/2.2 ~1 min each) are most of the
 * cost of a series test.
 *
 *   const { prefix, port } = await builtHttpd('2.2.34');
 *
 * Each version lives in os.tmpdir()/apxs-ts-series-builds/VERSION/prefix,
 * listening on localhost:PORT, a port found free when it was built (kept,
 * so the prefix's httpd.conf and the caller agree). A lock per version makes
 * parallel test files wait for one build instead of racing two; a build that
 * failed leaves nothing behind and is tried again by the next caller.
 *
 * The prefix is shared: a test that installs into it or starts it should do
 * so inside `withBuiltHttpd(version, fn)`, which holds a per-version lock for
 * the duration of `fn`, and should leave it as it found it (uninstall, stop).
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { withLock } from '../lib/core/lock.js';
import { cli, freePort, ROOT } from './helpers.js';

export interface BuiltHttpd {
  /** The installed prefix: a server root (bin/httpd, conf/httpd.conf, bin/apxs). */
  prefix: string;
  /** The port its httpd.conf listens on (localhost). */
  port: number;
  version: string;
}

/** Where the release tarballs, their checksums, signatures and KEYS are. */
export const SERIES_ARCHIVE = path.resolve(ROOT, '..', 'shared', 'archive', 'httpd');
export const SERIES_BUILDS_DIR = path.join(os.tmpdir(), 'apxs-ts-series-builds');

/** The real 2.4 release, with Apache's own KEYS. */
export const SERIES_MIRROR = path.resolve(ROOT, '..', 'shared', 'mirror', 'httpd');

/** One release per series: the archive's 1.3, 2.0 and 2.2, and the mirror's 2.4. */
export const SERIES_VERSIONS = ['1.3.42', '2.0.65', '2.2.34', '2.4.68'] as const;

/** The mirror directory (for --mirror, beside its KEYS) holding `version`'s tarball. */
export function mirrorOf(version: string): string {
  return version.startsWith('2.4.') ? SERIES_MIRROR : SERIES_ARCHIVE;
}

/** Bumped when what a build produces changes, so an older build is not reused. */
const FORMAT = 1;
const BUILD_LOCK_MS = 15 * 60_000;

const memo = new Map<string, Promise<BuiltHttpd>>();

async function readDone(file: string, version: string): Promise<BuiltHttpd | undefined> {
  const done = await fs.readFile(file, 'utf8').then(
    (t) => JSON.parse(t) as BuiltHttpd & { format?: number },
    () => undefined,
  );
  if (done?.format !== FORMAT || done.version !== version) return undefined;
  // /tmp may have been cleaned under it.
  const ok = await fs.stat(path.join(done.prefix, 'bin', 'httpd')).then(
    () => true,
    () => false,
  );
  return ok ? { prefix: done.prefix, port: done.port, version } : undefined;
}

/** A build variant: `ssl` is `source build --with-ssl` (its own dir, VERSION-ssl, so the plain build is untouched). */
export interface BuildVariant {
  ssl?: boolean;
}

async function build(version: string, variant: BuildVariant = {}): Promise<BuiltHttpd> {
  if (!/^\d+\.\d+\.\d+$/.test(version))
    throw new Error(
      `builtHttpd: a full version is needed (1.3.42), not ${JSON.stringify(version)}`,
    );
  const dir = path.join(SERIES_BUILDS_DIR, `${version}${variant.ssl ? '-ssl' : ''}`);
  // 755 all the way down: httpd's children run as another user and must traverse it.
  await fs.mkdir(dir, { recursive: true, mode: 0o755 });
  await fs.chmod(SERIES_BUILDS_DIR, 0o755).catch(() => undefined);
  await fs.chmod(dir, 0o755);
  const doneFile = path.join(dir, 'built.json');
  const quick = await readDone(doneFile, version);
  if (quick) return quick;
  return withLock(
    path.join(dir, 'build.apxs-ts.lock'),
    async () => {
      const again = await readDone(doneFile, version); // built by whoever held the lock before us
      if (again) return again;
      const prefix = path.join(dir, 'prefix');
      await fs.rm(prefix, { recursive: true, force: true });
      const port = await freePort();
      const r = await cli(
        [
          'source',
          'build',
          version,
          '--mirror',
          mirrorOf(version),
          '--keys',
          path.join(mirrorOf(version), 'KEYS'),
          '--prefix',
          prefix,
          '--port',
          String(port),
          '--cache-dir',
          path.join(SERIES_BUILDS_DIR, 'cache'),
          '--jobs',
          String(os.availableParallelism()),
          ...(variant.ssl ? ['--with-ssl'] : []),
        ],
        { timeoutMs: BUILD_LOCK_MS },
      );
      if (r.code !== 0) {
        await fs.rm(prefix, { recursive: true, force: true });
        throw new Error(
          `building httpd ${version} failed (exit ${r.code}):\n${r.stderr.split('\n').slice(-30).join('\n')}`,
        );
      }
      const built: BuiltHttpd = { prefix, port, version };
      await fs.writeFile(`${doneFile}.tmp`, JSON.stringify({ ...built, format: FORMAT }));
      await fs.rename(`${doneFile}.tmp`, doneFile);
      return built;
    },
    BUILD_LOCK_MS,
  );
}

/** httpd `version` (e.g. '1.3.42', '2.0.65', '2.2.34') installed under a temp prefix, built at most once per boot. */
export function builtHttpd(version: string, variant: BuildVariant = {}): Promise<BuiltHttpd> {
  const key = `${version}${variant.ssl ? '-ssl' : ''}`;
  let p = memo.get(key);
  if (!p) {
    p = build(version, variant);
    // A failure is not remembered: the next caller tries again.
    p.catch(() => memo.delete(key));
    memo.set(key, p);
  }
  return p;
}

/** Runs `fn` with the built prefix while no other test (file) uses that version's prefix. */
export async function withBuiltHttpd<T>(
  version: string,
  fn: (h: BuiltHttpd) => Promise<T>,
  waitMs = 15 * 60_000,
  variant: BuildVariant = {},
): Promise<T> {
  const h = await builtHttpd(version, variant);
  return withLock(path.join(path.dirname(h.prefix), 'use.apxs-ts.lock'), () => fn(h), waitMs);
}
