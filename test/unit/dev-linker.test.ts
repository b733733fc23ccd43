/**
 * dev's debug build links with the fastest linker installed (mold, then
 * lld, then gold), found on PATH as gcc finds it; with none, the
 * toolchain's own (no -fuse-ld at all).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fastLinkerFlag } from '../../lib/dev/dev-loop.js';
import { tmpDir } from '../helpers.js';

async function pathWith(names: string[]): Promise<string> {
  const dir = await tmpDir('apxs-ts-linker-');
  for (const n of names) await fs.writeFile(path.join(dir, n), '#!/bin/sh\n', { mode: 0o755 });
  return dir;
}

describe('fastLinkerFlag', () => {
  it('mold before lld before gold; none installed: no flag', async () => {
    const all = await pathWith(['ld.gold', 'ld.lld', 'ld.mold']);
    expect(await fastLinkerFlag({ PATH: all })).toEqual(['-fuse-ld=mold']);
    const two = await pathWith(['ld.gold', 'ld.lld']);
    expect(await fastLinkerFlag({ PATH: two })).toEqual(['-fuse-ld=lld']);
    const gold = await pathWith(['ld.gold', 'ld.bfd']);
    expect(await fastLinkerFlag({ PATH: gold })).toEqual(['-fuse-ld=gold']);
    const none = await pathWith(['ld', 'ld.bfd']);
    expect(await fastLinkerFlag({ PATH: none })).toEqual([]);
  });
});
