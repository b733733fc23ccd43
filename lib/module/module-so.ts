/**
 * Which .so install copies. install used to run `build` first, which
 * rebuilt over a .so the developer had just made with the Makefile (other
 * flags) and then said "nothing changed". Now:
 *
 *  - no .so, or a source (or a header beside it) newer than every .so:
 *    build, with build's own flags, as `apxs-ts build` would;
 *  - otherwise the newest .so is installed as it is: the one `build` made,
 *    or one made another way (the Makefile's `make`, `apxs -c` under
 *    .libs/), which is named as such. Nothing is rebuilt behind the
 *    developer's back.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { BuildResult, ModuleProject } from './compile.js';

export type SoMaker = 'apxs-ts build' | 'another tool';

export interface SoChoice {
  so: string;
  madeBy: SoMaker;
  /** The build install ran, or null when it installed a .so that was there. */
  build: BuildResult | null;
  /** Why this .so, in words. */
  reason: string;
}

const HEADER = /\.(h|hh|hpp|hxx|H)$/;

async function mtime(file: string): Promise<number | undefined> {
  return fs.stat(file).then(
    (s) => s.mtimeMs,
    () => undefined,
  );
}

/**
 * The .so files a module directory can hold: build's and the Makefile's (same name), and libtool's
 * from `apxs -c`.
 */
export function soCandidates(project: Pick<ModuleProject, 'dir' | 'module'>): string[] {
  return [
    path.join(project.dir, `${project.module.stem}.so`),
    path.join(project.dir, '.libs', `${project.module.stem}.so`),
  ];
}

/**
 * Whether `so` is the file `build` wrote: build writes its record
 * (.apxs-ts/build.json) right after renaming the .so into place, so a .so
 * written after that record (by make, say) is someone else's. Only the
 * record's time is read, not its format, which belongs to build.
 */
async function madeByBuild(
  project: Pick<ModuleProject, 'dir' | 'module'>,
  so: string,
  soTime: number,
): Promise<boolean> {
  if (so !== soCandidates(project)[0]) return false;
  const stamp = await mtime(path.join(project.dir, '.apxs-ts', 'build.json'));
  return stamp !== undefined && stamp >= soTime;
}

export async function chooseModuleSo(
  project: ModuleProject,
  build: () => Promise<BuildResult>,
  /** --check: build nothing; say why a build would be made (`unbuilt`). */
  opts: { noBuild?: boolean } = {},
): Promise<SoChoice & { unbuilt?: string }> {
  const rel = (f: string) => path.relative(project.dir, f);
  const built = async (reason: string): Promise<SoChoice & { unbuilt?: string }> => {
    if (opts.noBuild)
      return {
        so: soCandidates(project)[0]!,
        madeBy: 'apxs-ts build',
        build: null,
        reason,
        unbuilt: reason,
      };
    const res = await build();
    return { so: res.so, madeBy: 'apxs-ts build', build: res, reason };
  };
  const found: Array<[string, number]> = [];
  for (const so of soCandidates(project)) {
    const t = await mtime(so);
    if (t !== undefined) found.push([so, t]);
  }
  const newest = found.sort((a, b) => b[1] - a[1])[0];
  if (!newest) return built(`no ${project.module.stem}.so yet`);
  const headers = (await fs.readdir(project.dir)).filter((f) => HEADER.test(f));
  let input: [string, number] | undefined;
  for (const f of [...project.sources, ...headers]) {
    const t = await mtime(path.join(project.dir, f));
    if (t !== undefined && (!input || t > input[1])) input = [f, t];
  }
  if (input && input[1] > newest[1]) return built(`${input[0]} is newer than ${rel(newest[0])}`);
  const ours = await madeByBuild(project, newest[0], newest[1]);
  return {
    so: newest[0],
    madeBy: ours ? 'apxs-ts build' : 'another tool',
    build: null,
    reason: ours
      ? `${rel(newest[0])} from apxs-ts build is newer than the sources`
      : `${rel(newest[0])} was made by another tool than apxs-ts build (make, apxs ` +
        '-c) and is newer than the sources: installed as it is, not rebuilt',
  };
}
