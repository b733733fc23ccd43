import { buildModule, readModuleProject, updateModuleFlags } from '../lib/module/compile.js';
import { setSanitizer } from '../lib/module/project.js';
import { flagsOfOptions, type FlagOptions } from '../lib/module/flags.js';
import { targetServerRootIfAny } from './server-root.js';
import { warningLines } from './output.js';
import { toolchainForServer } from '../lib/module/toolchain.js';
import type { Outcome } from './types.js';

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

export async function build(
  dir: string,
  o: FlagOptions & {
    serverRoot?: string;
    force?: boolean;
    jobs?: number;
    resetFlags?: boolean;
    sanitize?: string;
  },
): Promise<Outcome> {
  let project = await readModuleProject(dir);
  const added = flagsOfOptions(o, process.cwd(), project.dir);
  if (Object.keys(added).length > 0 || o.resetFlags)
    project = await updateModuleFlags(project, added, o.resetFlags);
  if (o.sanitize !== undefined) project = await setSanitizer(project, o.sanitize);
  // The target server root's toolchain, or the system's apxs when there is none.
  const tc = await toolchainForServer(await targetServerRootIfAny(o));
  const res = await buildModule(project, tc, { force: o.force, jobs: o.jobs });
  const human = [
    res.upToDate
      ? `${res.so} is up to date`
      : `built ${res.so} (${res.compiled.join(', ')}; linked with ${res.linkedWith}) in ${Math.round(res.durationMs)} ms${res.warnings.length ? `, ${plural(res.warnings.length, 'compiler warning')}:` : ''}`,
  ];
  human.push(...res.warnings.map((w) => `  ${w}`));
  if (res.warnings.length) human.push(`  (the compiler's full output: ${res.log})`);
  human.push(...warningLines(res.symbolNotes));
  return {
    // warnings stays a count in JSON (scripts compare it with 0); the lines are warningLines.
    data: {
      ...res,
      warnings: res.warnings.length,
      warningLines: res.warnings,
      flags: project.flags,
      module: project.module.stem,
      sanitize: project.sanitize ?? null,
    },
    human,
  };
}
