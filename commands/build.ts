import type { Command } from 'commander';
import { buildModule, readModuleProject, updateModuleFlags } from '../lib/module/compile.js';
import { flagsOfOptions, type FlagOptions } from '../lib/module/flags.js';
import { resolveServerRootPath, detectServerRoot } from '../lib/httpd/server-root.js';
import { toolchainForServer } from '../lib/module/toolchain.js';
import { jobsArg, withServerRoot } from './options.js';
import type { Outcome } from './types.js';

/** The toolchain of the target server root, or the system's apxs when there is none. */
export async function toolchainFor(serverRootOpt: string | undefined) {
  const p = await resolveServerRootPath(serverRootOpt, process.cwd());
  const sr = p ? await detectServerRoot(p) : undefined;
  return { sr, tc: await toolchainForServer(sr) };
}

const collect = (v: string, prev: string[] = []) => [...prev, v];
const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

export async function build(dir: string, o: FlagOptions & { serverRoot?: string; force?: boolean; jobs?: number; resetFlags?: boolean }): Promise<Outcome> {
  let project = await readModuleProject(dir);
  const added = flagsOfOptions(o, process.cwd(), project.dir);
  if (Object.keys(added).length > 0 || o.resetFlags) project = await updateModuleFlags(project, added, o.resetFlags);
  const { tc } = await toolchainFor(o.serverRoot);
  const res = await buildModule(project, tc, { force: o.force, jobs: o.jobs });
  const human = [res.upToDate
    ? `${res.so} is up to date`
    : `built ${res.so} (${res.compiled.join(', ')}; linked with ${res.linkedWith}) in ${Math.round(res.durationMs)} ms${res.warnings.length ? `, ${plural(res.warnings.length, 'compiler warning')}:` : ''}`];
  human.push(...res.warnings.map((w) => `  ${w}`));
  if (res.warnings.length) human.push(`  (the compiler's full output: ${res.log})`);
  human.push(...res.symbolNotes.map((n) => `warning: ${n}`));
  return {
    // warnings stays a count in JSON (scripts compare it with 0); the lines are warningLines.
    data: { ...res, warnings: res.warnings.length, warningLines: res.warnings, flags: project.flags, module: project.module.stem },
    human,
  };
}
