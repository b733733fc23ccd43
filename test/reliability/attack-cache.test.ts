/**
 * Attacks on the one cache module (lib/core/cache.ts, #19): entries that are
 * not small regular files (a FIFO, a 1 GB file, a symlink to another file),
 * caches in directories another user (nobody) owns or planted, a poisoned
 * toolchain entry, concurrent writers, and a full disk. A read is bounded and
 * a miss; a write never follows a link out of the cache or writes into a
 * directory another user controls; the command still succeeds.
 *
 * Reads that could block (a FIFO) or balloon (1 GB) run in a child process on
 * the built lib (dist/lib, `npm run build`), so a hang is a failed test, not
 * a stuck runner.
 */
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  cacheDir,
  cacheFile,
  isStringRecord,
  readCache,
  writeCache,
} from '../../lib/core/cache.js';
import { loadToolchain } from '../../lib/module/toolchain.js';
import { ROOT, tmpDir as newTmpDir } from '../helpers.js';

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
const DIST_CACHE = path.join(ROOT, 'dist', 'lib', 'core', 'cache.js');

/** A fresh XDG_CACHE_HOME (0755, root's) with apxs-ts's cache dir made in it. */
async function freshCache(): Promise<NodeJS.ProcessEnv> {
  const home = await tmpDir('apxs-ts-atk-cache-');
  const env = { ...process.env, XDG_CACHE_HOME: home };
  await fs.mkdir(cacheDir(env), { recursive: true });
  return env;
}

/** readCache of toolchain/k in a child (dist/lib): what it returned, its peak RSS in MB, how it ended. */
function readInChild(env: NodeJS.ProcessEnv): {
  out: string;
  maxRssMb: number;
  status: number | null;
  signal: string | null;
} {
  const code = `const c = require(${JSON.stringify(DIST_CACHE)});
    const v = c.readCache('toolchain', 'k', c.isStringRecord);
    process.stdout.write(JSON.stringify({ v: v === undefined ? 'miss' : v, rss: process.resourceUsage().maxRSS }));`;
  const r = spawnSync(process.execPath, ['-e', code], { env, timeout: 20_000, encoding: 'utf8' });
  const parsed = r.stdout
    ? (JSON.parse(r.stdout) as { v: unknown; rss: number })
    : { v: undefined, rss: 0 };
  return {
    out: JSON.stringify(parsed.v),
    maxRssMb: Math.round(parsed.rss / 1024),
    status: r.status,
    signal: r.signal,
  };
}

describe('cache entries that are not small regular files', () => {
  it('a FIFO as the entry: the read is a miss at once (no hang)', async () => {
    const env = await freshCache();
    execFileSync('mkfifo', [cacheFile('toolchain', 'k', env)]);
    const r = readInChild(env);
    expect(r.signal, 'the read blocked on the FIFO until the child was killed').toBeNull();
    expect(r.out).toBe('"miss"');
  });

  it('a 1 GB entry (sparse): a miss, read bounded (peak RSS well below the file size)', async () => {
    const env = await freshCache();
    const f = cacheFile('toolchain', 'k', env);
    // A valid entry padded to 1 GB: only a size cap stops a reader from taking it all in.
    await fs.writeFile(f, JSON.stringify({ key: 'k', value: { CC: 'gcc' } }));
    await fs.truncate(f, 1 << 30);
    const r = readInChild(env);
    expect(r.status).toBe(0);
    expect(r.out).toBe('"miss"');
    expect(r.maxRssMb).toBeLessThan(400);
  });

  it('a symlink as the entry (to /dev/zero, to another file): a miss; a write replaces the link and leaves the other file as it was', async () => {
    const env = await freshCache();
    const f = cacheFile('toolchain', 'k', env);
    await fs.symlink('/dev/zero', f);
    expect(readInChild(env).out).toBe('"miss"');
    await fs.rm(f);
    const victimDir = await tmpDir('apxs-ts-atk-victim-');
    const victim = path.join(victimDir, 'precious');
    await fs.writeFile(victim, 'precious\n');
    // A link to a file holding a valid entry is still no entry: only regular files are.
    await fs.writeFile(victim, JSON.stringify({ key: 'k', value: { CC: 'gcc' } }));
    await fs.symlink(victim, f);
    expect(readCache('toolchain', 'k', isStringRecord, env)).toBeUndefined();
    await writeCache('toolchain', 'k', { CFLAGS: '-fplugin=/tmp/evil.so' }, env);
    expect(await fs.readFile(victim, 'utf8')).toBe(
      JSON.stringify({ key: 'k', value: { CC: 'gcc' } }),
    );
    expect((await fs.lstat(f)).isFile()).toBe(true);
    expect(readCache('toolchain', 'k', isStringRecord, env)).toEqual({
      CFLAGS: '-fplugin=/tmp/evil.so',
    });
  });
});

describe.skipIf(!isRoot)('caches another user controls', () => {
  it('a cache dir owned by nobody: its entries are misses and nothing is written into it', async () => {
    const env = await freshCache();
    const dir = cacheDir(env);
    await fs.chown(dir, NOBODY, NOBODY);
    const f = cacheFile('toolchain', 'k', env);
    await fs.writeFile(f, JSON.stringify({ key: 'k', value: { CC: 'gcc' } }));
    expect(readCache('toolchain', 'k', isStringRecord, env)).toBeUndefined();
    await fs.rm(f);
    await writeCache('toolchain', 'k', { CC: 'gcc' }, env);
    expect(await fs.readdir(dir)).toEqual([]);
  });

  it('the cache dir a symlink nobody planted in a sticky dir (to a dir of root): nothing written through it', async () => {
    const sticky = await tmpDir('apxs-ts-atk-sticky-');
    await fs.chmod(sticky, 0o1777);
    const target = await tmpDir('apxs-ts-atk-target-');
    const xdg = path.join(sticky, 'xdg');
    await fs.mkdir(xdg, { mode: 0o755 });
    await fs.chmod(sticky, 0o1777);
    // nobody's link, in the sticky dir: XDG_CACHE_HOME=sticky (as for a shared /tmp cache).
    execFileSync('setpriv', [
      '--reuid=nobody',
      '--regid=nogroup',
      '--clear-groups',
      'ln',
      '-s',
      target,
      path.join(sticky, 'apxs-ts'),
    ]);
    const env = { ...process.env, XDG_CACHE_HOME: sticky };
    await writeCache('toolchain', 'k', { CC: 'gcc' }, env);
    expect(await fs.readdir(target)).toEqual([]);
  });

  it('entries owned by nobody, or group/world-writable: misses', async () => {
    const env = await freshCache();
    const f = cacheFile('toolchain', 'k', env);
    const entry = JSON.stringify({ key: 'k', value: { CC: 'gcc' } });
    await fs.writeFile(f, entry);
    expect(readCache('toolchain', 'k', isStringRecord, env)).toEqual({ CC: 'gcc' }); // control
    await fs.chown(f, NOBODY, NOBODY);
    expect(readCache('toolchain', 'k', isStringRecord, env)).toBeUndefined();
    await fs.chown(f, 0, 0);
    await fs.chmod(f, 0o666);
    expect(readCache('toolchain', 'k', isStringRecord, env)).toBeUndefined();
  });

  it('a poisoned toolchain entry (nobody-owned, or in a world-writable cache dir) never puts -fplugin into the flags; a wrong-shaped one is a miss', async () => {
    const env = await freshCache();
    const dir = cacheDir(env);
    const clean = await loadToolchain({ apxs: '/usr/bin/apxs' }, env);
    const [entry] = (await fs.readdir(dir)).filter((n) => n.startsWith('toolchain-'));
    expect(entry).toBeDefined();
    const file = path.join(dir, entry!);
    const stored = JSON.parse(await fs.readFile(file, 'utf8')) as {
      key: string;
      value: Record<string, string>;
    };
    const poison = (value: unknown) =>
      fs.writeFile(file, JSON.stringify({ key: stored.key, value }));
    const evil = {
      ...stored.value,
      CFLAGS: '-fplugin=/tmp/evil.so',
      EXTRA_CFLAGS: '-fplugin=/tmp/evil.so',
    };
    const flagsOf = async () => (await loadToolchain({ apxs: '/usr/bin/apxs' }, env)).cflags;
    // Control: root's own entry is used (so the trust rule, not a miss, keeps the plugin out below).
    await poison(evil);
    expect(await flagsOf()).toContain('-fplugin=/tmp/evil.so');
    await poison(evil);
    await fs.chown(file, NOBODY, NOBODY);
    expect(await flagsOf()).not.toContain('-fplugin=/tmp/evil.so');
    // The same root-owned entry in a world-writable cache dir (a new one: a run judges a directory once).
    const open = await freshCache();
    await fs.chmod(cacheDir(open), 0o777);
    await fs.writeFile(
      path.join(cacheDir(open), entry!),
      JSON.stringify({ key: stored.key, value: evil }),
    );
    expect((await loadToolchain({ apxs: '/usr/bin/apxs' }, open)).cflags).not.toContain(
      '-fplugin=/tmp/evil.so',
    );
    await poison({ ...stored.value, CFLAGS: 42 });
    await fs.chown(file, 0, 0);
    expect(await flagsOf()).toEqual(clean.cflags);
  });
});

describe('concurrent writers and a full disk', () => {
  it('8 processes x 20 rounds writing one entry, a reader throughout: every read is a miss or one whole value (0 torn)', async () => {
    const env = await freshCache();
    const writer = (n: number) => `const c = require(${JSON.stringify(DIST_CACHE)});
      (async () => { for (let i = 0; i < 20; i++) await c.writeCache('toolchain', 'k', { W: '${n}-' + i, PAD: 'x'.repeat(20000) }); })();`;
    const kids = Array.from({ length: 8 }, (_, n) =>
      spawn(process.execPath, ['-e', writer(n)], { env, stdio: 'ignore' }),
    );
    const exits = Promise.all(kids.map((k) => new Promise((r) => k.once('exit', r))));
    let running = true;
    void exits.then(() => {
      running = false;
    });
    let reads = 0;
    let bad = 0;
    let hits = 0;
    while (running) {
      const v = readCache('toolchain', 'k', isStringRecord, env);
      reads++;
      if (v !== undefined) {
        hits++;
        if (!/^[0-7]-(1?\d)$/.test(v.W ?? '') || v.PAD?.length !== 20000) bad++;
      }
      await new Promise((r) => setImmediate(r));
    }
    expect(bad).toBe(0);
    expect(reads).toBeGreaterThan(0);
    expect(readCache('toolchain', 'k', isStringRecord, env)?.W).toMatch(/^[0-7]-19$/);
    expect((await fs.readdir(cacheDir(env))).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    void hits;
  }, 60_000);

  it.skipIf(!isRoot)(
    'a full disk (64 KiB tmpfs as XDG_CACHE_HOME): writes fail quietly, no temp file left, the toolchain still loads',
    async () => {
      const mnt = await tmpDir('apxs-ts-atk-full-');
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]);
      } catch {
        console.warn('cannot mount a tmpfs here: full-disk cache test not run');
        return;
      }
      try {
        await fs
          .writeFile(path.join(mnt, 'filler'), Buffer.alloc(60 * 1024))
          .catch(() => undefined);
        const env = { ...process.env, XDG_CACHE_HOME: mnt };
        await writeCache('lib-symbols', 'k', 'x'.repeat(100_000), env);
        const tc = await loadToolchain({ apxs: '/usr/bin/apxs' }, env);
        expect(tc.cc).toBeTruthy();
        const left = await fs.readdir(cacheDir(env)).catch(() => [] as string[]);
        expect(left.filter((n) => n.endsWith('.tmp'))).toEqual([]);
      } finally {
        execFileSync('umount', [mnt]);
      }
    },
  );
});

describe('where the cache is', () => {
  it("a relative XDG_CACHE_HOME is ignored (XDG: must be absolute): a cache in whatever directory a run starts in could be a cloned repo's planted entries", () => {
    expect(cacheDir({ XDG_CACHE_HOME: 'cache', HOME: '/home/u' })).toBe('/home/u/.cache/apxs-ts');
    expect(cacheDir({ XDG_CACHE_HOME: '.', HOME: '/home/u' })).toBe('/home/u/.cache/apxs-ts');
    expect(cacheDir({ XDG_CACHE_HOME: '/var/cache/u', HOME: '/home/u' })).toBe(
      '/var/cache/u/apxs-ts',
    );
  });
});
