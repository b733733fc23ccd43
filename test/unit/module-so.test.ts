/** Which .so install copies, and when it builds: file times only, a fake build (no compiler). */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { BuildResult, ModuleProject } from '../../lib/module/compile.js';
import { chooseModuleSo } from '../../lib/module/module-so.js';
import { parseModuleName } from '../../lib/module/names.js';
import { tmpDir } from '../helpers.js';

const T = 1_700_000_000; // seconds; each file gets T + its offset

async function moduleDir(files: Record<string, number>): Promise<ModuleProject> {
  const dir = await tmpDir('apxs-ts-so-');
  for (const [rel, offset] of Object.entries(files)) {
    const f = path.join(dir, rel);
    await fs.mkdir(path.dirname(f), { recursive: true });
    await fs.writeFile(f, rel);
    await fs.utimes(f, T + offset, T + offset);
  }
  return {
    dir,
    module: parseModuleName('mod_t'),
    sources: ['mod_t.c'],
    cpp: false,
    handler: null,
    url: '/t',
    api: '2',
  };
}

function fakeBuild(project: ModuleProject): { calls: number; build: () => Promise<BuildResult> } {
  const state = {
    calls: 0,
    build: async (): Promise<BuildResult> => {
      state.calls++;
      return {
        so: path.join(project.dir, 'mod_t.so'),
        symbol: 't_module',
        upToDate: false,
        compiled: ['mod_t.c'],
        linkedWith: 'cc',
        warnings: 0,
        durationMs: 1,
      };
    },
  };
  return state;
}

describe('chooseModuleSo', () => {
  it.each([
    // [case, files with their times, builds?, chosen .so, made by]
    ['no .so: build', { 'mod_t.c': 0 }, true, 'mod_t.so', 'apxs-ts build'],
    [
      'the source is newer than the only .so: build',
      { 'mod_t.c': 10, 'mod_t.so': 5, '.apxs-ts/build.json': 5 },
      true,
      'mod_t.so',
      'apxs-ts build',
    ],
    [
      'a header beside it is newer: build',
      { 'mod_t.c': 0, 'greeting.h': 10, 'mod_t.so': 5, '.apxs-ts/build.json': 5 },
      true,
      'mod_t.so',
      'apxs-ts build',
    ],
    [
      "build's .so, newer than the sources: installed as it is",
      { 'mod_t.c': 0, 'mod_t.so': 5, '.apxs-ts/build.json': 5 },
      false,
      'mod_t.so',
      'apxs-ts build',
    ],
    [
      "make wrote the .so after build's record: another tool's",
      { 'mod_t.c': 0, '.apxs-ts/build.json': 3, 'mod_t.so': 5 },
      false,
      'mod_t.so',
      'another tool',
    ],
    [
      "make's .so and no build record",
      { 'mod_t.c': 0, 'mod_t.so': 5 },
      false,
      'mod_t.so',
      'another tool',
    ],
    [
      "apxs -c's .libs/ .so is the newest",
      { 'mod_t.c': 0, 'mod_t.so': 5, '.apxs-ts/build.json': 5, '.libs/mod_t.so': 8 },
      false,
      '.libs/mod_t.so',
      'another tool',
    ],
    [
      "build's .so newer than an old .libs/ one",
      { 'mod_t.c': 0, '.libs/mod_t.so': 2, 'mod_t.so': 5, '.apxs-ts/build.json': 5 },
      false,
      'mod_t.so',
      'apxs-ts build',
    ],
    [
      'the source is newer than every .so: build',
      { 'mod_t.c': 10, '.libs/mod_t.so': 8, 'mod_t.so': 5 },
      true,
      'mod_t.so',
      'apxs-ts build',
    ],
  ] as const)('%s', async (_what, files, builds, so, madeBy) => {
    const project = await moduleDir(files);
    const b = fakeBuild(project);
    const choice = await chooseModuleSo(project, b.build);
    expect(b.calls).toBe(builds ? 1 : 0);
    expect(choice.so).toBe(path.join(project.dir, so));
    expect(choice.madeBy).toBe(madeBy);
    expect(choice.build !== null).toBe(builds);
    if (madeBy === 'another tool') expect(choice.reason).toMatch(/another tool .*not rebuilt/);
  });
});
