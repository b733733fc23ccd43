/**
 * lib/core/cache.ts and the rest of lib/core/fs.ts in-process (issue #16
 * mutation testing): the entry's file name (the hash pinned with leading
 * zeros, the name's rule), `cached` (a hit skips compute, a miss computes and
 * keeps unless `keep` says no), `isStringRecord`, `statIfAny`, and
 * `firstGroup` reading the real /etc/group by default; templates.ts's sort.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  cacheDir,
  cached,
  cacheFile,
  isStringRecord,
  readCache,
  shortHash,
} from '../../lib/core/cache.js';
import { firstGroup, statIfAny } from '../../lib/core/fs.js';
import { tmpDir } from '../helpers.js';

describe('cache entries', () => {
  it('shortHash keeps leading zeros: always 16 hex digits', () => {
    // keys whose first / second half hashes below 0x10000000 (found by search, pinned)
    expect(shortHash('/srv/204')).toBe('0ed4e69e8ce656ae');
    expect(shortHash('/srv/11')).toBe('bf6f50020822f76f');
  });

  it('cacheFile: NAME-HASH.json in the cache dir; a name that is not [a-z][a-z0-9-]* is refused', () => {
    const env = { XDG_CACHE_HOME: '/c' };
    expect(cacheFile('listening-2', '/srv/a', env)).toBe(
      `/c/apxs-ts/listening-2-${shortHash('/srv/a')}.json`,
    );
    for (const bad of ['', 'A', '1a', '-a', 'a_b', 'a/b', '../a', 'a.b', 'a b', 'x/', 'a\n']) {
      expect(() => cacheFile(bad, 'k', env), JSON.stringify(bad)).toThrow(
        `bad cache name ${JSON.stringify(bad)}`,
      );
    }
  });

  it('cached: a miss computes and keeps; a hit does not compute; keep=false does not keep', async () => {
    const env = { XDG_CACHE_HOME: await tmpDir('apxs-ts-cachemut-') };
    const isN = (v: unknown): v is number => typeof v === 'number';
    let calls = 0;
    const compute = async () => ++calls * 10;
    expect(await cached('c', 'k1', isN, compute, { env })).toBe(10);
    expect(await cached('c', 'k1', isN, compute, { env })).toBe(10);
    expect(calls).toBe(1);
    expect(readCache('c', 'k1', isN, env)).toBe(10);
    // a kept 0 is a hit too (the test is `!== undefined`, not truthiness)
    expect(await cached('c', 'zero', isN, async () => 0, { env })).toBe(0);
    expect(await cached('c', 'zero', isN, compute, { env })).toBe(0);
    expect(calls).toBe(1);
    expect(await cached('c', 'k2', isN, compute, { env, keep: (v) => v > 100 })).toBe(20);
    expect(readCache('c', 'k2', isN, env)).toBeUndefined();
    expect(await cached('c', 'k2', isN, compute, { env, keep: () => true })).toBe(30);
    expect(readCache('c', 'k2', isN, env)).toBe(30);
    expect((await fs.readdir(cacheDir(env))).sort()).toEqual(
      [cacheFile('c', 'k1', env), cacheFile('c', 'k2', env), cacheFile('c', 'zero', env)]
        .map((f) => path.basename(f))
        .sort(),
    );
  });

  it('cached without env uses $XDG_CACHE_HOME of the process', async () => {
    const dir = await tmpDir('apxs-ts-cachemut-');
    const saved = process.env.XDG_CACHE_HOME;
    process.env.XDG_CACHE_HOME = dir;
    try {
      const isS = (v: unknown): v is string => typeof v === 'string';
      expect(await cached('c', 'k', isS, async () => 'v')).toBe('v');
      expect(readCache('c', 'k', isS, { XDG_CACHE_HOME: dir })).toBe('v');
    } finally {
      if (saved === undefined) delete process.env.XDG_CACHE_HOME;
      else process.env.XDG_CACHE_HOME = saved;
    }
  });

  it('isStringRecord: an object whose values are all strings', () => {
    expect(isStringRecord({})).toBe(true);
    expect(isStringRecord({ a: 'x', b: '' })).toBe(true);
    for (const v of [
      null,
      undefined,
      'a',
      1,
      ['a'],
      [],
      { a: 1 },
      { a: 'x', b: null },
      { a: ['x'] },
    ]) {
      expect(isStringRecord(v), JSON.stringify(v)).toBe(false);
    }
  });
});

describe('fs helpers, the rest', () => {
  it('statIfAny: the stat, or undefined', async () => {
    const d = await tmpDir('apxs-ts-cachemut-');
    await fs.writeFile(path.join(d, 'f'), 'abc');
    expect((await statIfAny(path.join(d, 'f')))?.size).toBe(3);
    expect(await statIfAny(path.join(d, 'f', 'x'))).toBeUndefined();
    expect(await statIfAny(path.join(d, 'nope'))).toBeUndefined();
  });

  it('firstGroup reads /etc/group by default (root is in every one)', async () => {
    expect(await firstGroup(['no-such-group-x', 'root'], 'fallback')).toBe('root');
  });
});

describe('renderTemplateDirs, the order', () => {
  it('files come back sorted by name, not in the order of the dirs given', async () => {
    const { renderTemplateDirs } = await import('../../lib/core/templates.js');
    const a = await tmpDir('apxs-ts-tplmut-');
    const b = await tmpDir('apxs-ts-tplmut-');
    await fs.writeFile(path.join(a, 'z.txt'), 'z');
    await fs.writeFile(path.join(b, 'a.txt'), 'a');
    await fs.writeFile(path.join(b, 'm.txt'), 'm');
    expect((await renderTemplateDirs([a, b], {})).map((f) => f.rel)).toEqual([
      'a.txt',
      'm.txt',
      'z.txt',
    ]);
  });
});
