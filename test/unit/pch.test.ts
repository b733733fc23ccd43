/**
 * dev's precompiled header (lib/module/pch.ts) with the system's gcc and
 * apxs: made on the first build and used on the next; never used once a
 * header it was made of changed (the .so then holds the header's new text),
 * nor for other flags; a .gch replaced, rewritten or owned by another user
 * is a miss; one the cache vouches for but GCC cannot use is a fallback to
 * the compile without it, not an error. A private cache (XDG_CACHE_HOME).
 * On the built lib (dist/lib, `npm run build`): the build requires its
 * symbol check lazily, as the CLI does.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Toolchain } from '../../lib/module/toolchain.js';
import { cli, ROOT, tmpDir } from '../helpers.js';

const built = <T>(m: string): T => require(path.join(ROOT, 'dist', 'lib', m)) as T;
const { cacheFile, readCache, writeCache } =
  built<typeof import('../../lib/core/cache.js')>('core/cache.js');
const { buildModule, readModuleProject } =
  built<typeof import('../../lib/module/compile.js')>('module/compile.js');
const { leadingIncludes, pchPlan } =
  built<typeof import('../../lib/module/pch.js')>('module/pch.js');
const { loadToolchain } =
  built<typeof import('../../lib/module/toolchain.js')>('module/toolchain.js');

let work: string;
let dir: string;
let inc: string;
let tc: Toolchain;
const GREETING_H =
  '#ifndef PCHT_GREETING_H\n#define PCHT_GREETING_H\n#include "pcht_inner.h"\n#endif\n';
const src = () => path.join(dir, 'mod_pcht.c');

beforeAll(async () => {
  work = await tmpDir('apxs-ts-pch-');
  process.env.XDG_CACHE_HOME = path.join(work, 'cache');
  const r = await cli(['new', 'pcht', '--template', 'hello'], { cwd: work });
  if (r.code !== 0) throw new Error(r.stderr);
  dir = path.join(work, 'mod_pcht');
  // A header outside the module, included first, and one it includes, whose text ends up in the .so:
  // the source names only the first, so only the header's own record knows of the second.
  inc = path.join(work, 'inc');
  await fs.mkdir(inc);
  await fs.writeFile(path.join(inc, 'pcht_greeting.h'), GREETING_H);
  await fs.writeFile(path.join(inc, 'pcht_inner.h'), '#define PCHT_GREETING "greeting-one"\n');
  const text = await fs.readFile(src(), 'utf8');
  await fs.writeFile(
    src(),
    `#include <pcht_greeting.h>\n${text}\nconst char *pcht_greeting = PCHT_GREETING;\n`,
  );
  tc = await loadToolchain({});
}, 60_000);
// Each run's private cache holds a precompiled header or two (~10 MB each).
afterAll(() => fs.rm(work, { recursive: true, force: true }));

const env = (extra = '') => ({ ...process.env, CPPFLAGS: `-I${inc}`, CFLAGS: `-O0 -g ${extra}` });
const build = async (extra = '') =>
  buildModule(await readModuleProject(dir), tc, { pch: true, env: env(extra) });
/** A save of the source that changes its code (a new line at the end). */
const save = async (n: number) => fs.appendFile(src(), `int pcht_save_${n};\n`);
const soHas = async (s: string) => (await fs.readFile(path.join(dir, 'mod_pcht.so'))).includes(s);

describe('leadingIncludes', () => {
  it('takes the leading #include lines across comments and blank lines, and stops at anything else or an own header', () => {
    const text = [
      '/* a comment',
      ' * #include <not_this.h> */',
      '#include <string.h>  // trailing comment',
      '',
      '#  include "httpd.h"',
      '#include "own.h"',
      '#include <after_own.h>',
    ].join('\n');
    expect(leadingIncludes(text, (q) => q === 'own.h')).toEqual([
      '#include <string.h>',
      '#include "httpd.h"',
    ]);
    expect(leadingIncludes('#define X 1\n#include <a.h>\n', () => false)).toEqual([]);
    expect(leadingIncludes('#include <a.h>\n#if X\n#include <b.h>\n#endif\n', () => false)).toEqual(
      ['#include <a.h>'],
    );
    expect(leadingIncludes('#include HEADER_MACRO\n', () => false)).toEqual([]);
  });
});

describe('a precompiled header in dev builds', () => {
  it('made by the first build, used by the next; a changed header is never used stale: made again, and the .so has the new text', async () => {
    expect((await build()).pch).toEqual({ 'mod_pcht.c': 'built' });
    expect(await soHas('greeting-one')).toBe(true);
    await save(1);
    expect((await build()).pch).toEqual({ 'mod_pcht.c': 'used' });
    // GCC really reads the .gch (it would read the stub's text if it refused it): -H marks a used one with '!'.
    expect(await gccReadsGch()).toMatch(/^! \S+\/pch-[0-9a-f]{16}\.h\.gch$/m);

    // A header the source does not name changes; the source does not: the build is due all the same.
    await fs.writeFile(path.join(inc, 'pcht_inner.h'), '#define PCHT_GREETING "greeting-two"\n');
    const b = await build();
    expect(b.upToDate).toBe(false);
    expect(b.pch).toEqual({ 'mod_pcht.c': 'built' });
    expect(await soHas('greeting-two')).toBe(true);
    expect(await soHas('greeting-one')).toBe(false);
    await save(2);
    expect((await build()).pch).toEqual({ 'mod_pcht.c': 'used' });
  }, 120_000);

  it('another flag is another header: made for it, not taken from the other flags', async () => {
    await save(3);
    expect((await build('-DPCHT_OTHER=1')).pch).toEqual({ 'mod_pcht.c': 'built' });
    await save(4);
    expect((await build('-DPCHT_OTHER=1')).pch).toEqual({ 'mod_pcht.c': 'used' });
    await save(5);
    expect((await build()).pch).toEqual({ 'mod_pcht.c': 'used' });
  }, 120_000);

  it('a .gch rewritten in place, replaced, or owned by another user is a miss (made again), never an error', async () => {
    const plan = (await pchPlan(src(), tc.cc, planFlags(), 'c', tc.key))!;
    const gch = await gchOf(plan.key);
    // Rewritten in place: same inode, other bytes.
    const fh = await fs.open(gch, 'r+');
    await fh.write(Buffer.from('garbage, no precompiled header'), 0);
    await fh.close();
    await save(6);
    expect((await build()).pch).toEqual({ 'mod_pcht.c': 'built' });
    // Replaced by another file of the same size.
    const size = (await fs.stat(gch)).size;
    await fs.writeFile(`${gch}.x`, Buffer.alloc(size, 1));
    await fs.rename(`${gch}.x`, gch);
    await save(7);
    expect((await build()).pch).toEqual({ 'mod_pcht.c': 'built' });
    // Another user's.
    execFileSync('chown', ['nobody', await gchOf(plan.key)]);
    await save(8);
    expect((await build()).pch).toEqual({ 'mod_pcht.c': 'built' });
    await save(9);
    expect((await build()).pch).toEqual({ 'mod_pcht.c': 'used' });
  }, 120_000);

  it('a .gch the cache vouches for that GCC cannot use: GCC reads the stub instead, the .so is right', async () => {
    const plan = (await pchPlan(src(), tc.cc, planFlags(), 'c', tc.key))!;
    const gch = await gchOf(plan.key);
    await fs.writeFile(gch, 'garbage, no precompiled header');
    const st = await fs.stat(gch);
    const entry = readCache('pch', plan.key, (v): v is { inputs: unknown } => !!v)!;
    await writeCache('pch', plan.key, { ...entry, gch: [st.ino, st.size, st.mtimeMs] });
    await save(10);
    const b = await build();
    expect(b.upToDate).toBe(false);
    expect(await soHas('greeting-two')).toBe(true);
  }, 120_000);

  it('a header that cannot be included twice (no guard): the compile with the .gch fails, the one without decides (fallback)', async () => {
    await fs.writeFile(
      path.join(inc, 'pcht_greeting.h'),
      '#include "pcht_inner.h"\nstruct pcht_once { int a; };\n',
    );
    try {
      await save(12);
      expect((await build()).pch).toEqual({ 'mod_pcht.c': 'built' });
      await save(13);
      const b = await build();
      expect(b.pch).toEqual({ 'mod_pcht.c': 'fallback' });
      expect(b.warnings).toEqual([]);
      expect(await soHas('greeting-two')).toBe(true);
    } finally {
      await fs.writeFile(path.join(inc, 'pcht_greeting.h'), GREETING_H);
    }
  }, 120_000);

  it('a compile error is the compile error without the header (COMPILE_FAILED naming the line)', async () => {
    await save(11);
    expect((await build()).pch?.['mod_pcht.c']).toMatch(/built|used/);
    const good = await fs.readFile(src(), 'utf8');
    await fs.writeFile(src(), `${good}int broken = ;\n`);
    try {
      const err = await build().then(
        () => undefined,
        (e: unknown) => e as { code: string; details: string[] },
      );
      expect(err?.code).toBe('COMPILE_FAILED');
      expect(err?.details.join('\n')).toMatch(/mod_pcht\.c:\d+:\d+: error/);
    } finally {
      await fs.writeFile(src(), good);
    }
  }, 120_000);
});

/** The last compile in build.log with its -include, run again with -H -fsyntax-only: which headers GCC read. */
async function gccReadsGch(): Promise<string> {
  const log = await fs.readFile(path.join(dir, '.apxs-ts', 'build.log'), 'utf8');
  const cmd = log
    .split('\n')
    .filter((l) => l.startsWith('$ ') && l.includes(' -include '))
    .pop()!;
  const words = cmd.slice(2).split(' ');
  const o = words.indexOf('-o');
  const args = [...words.slice(1, o), '-H', '-fsyntax-only', src()].filter(
    (w) => !/^-(shared|Wl,|l\w|L|MMD|MF)/.test(w) && !w.endsWith('.d'),
  );
  // -H writes to stderr.
  return spawnSync(words[0]!, args, { encoding: 'utf8' }).stderr;
}

/** The flags buildModule compiles mod_pcht.c with (the toolchain's, then $CPPFLAGS and $CFLAGS). */
function planFlags(): string[] {
  return [...tc.cflags, `-I${inc}`, '-O0', '-g'];
}

async function gchOf(key: string): Promise<string> {
  return cacheFile('pch', key).replace(/\.json$/, '.h.gch');
}
