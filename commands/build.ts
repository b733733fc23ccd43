import { buildModule, readModuleProject, updateModuleFlags } from '../lib/module/compile.js';
import { setSanitizer } from '../lib/module/project.js';
import { flagsOfOptions, type FlagOptions } from '../lib/module/flags.js';
import { targetServerRootIfAny } from './server-root.js';
import { warningLines } from './output.js';
import { toolchainForServer } from '../lib/module/toolchain.js';
import type { Outcome } from './types.js';
import { ApxsError } from '../lib/core/errors.js';

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

export async function build(
  dir: string,
  o: FlagOptions & {
    serverRoot?: string;
    force?: boolean;
    jobs?: number;
    resetFlags?: boolean;
    sanitize?: string;
    check?: boolean;
  },
): Promise<Outcome> {
  let project = await readModuleProject(dir);
  const added = flagsOfOptions(o, process.cwd(), project.dir);
  const savesFlags = Object.keys(added).length > 0 || o.resetFlags || o.sanitize !== undefined;
  // --check decides from the saved flags: saving new ones is a change it may not make.
  if (o.check && savesFlags)
    throw new ApxsError(
      'USAGE',
      '--check with flags to save (-I -D -L -l -W --reset-flags --sanitize)',
      {
        hint: 'save the flags with a real build first, or check without them',
      },
    );
  if (Object.keys(added).length > 0 || o.resetFlags)
    project = await updateModuleFlags(project, added, o.resetFlags);
  if (o.sanitize !== undefined) project = await setSanitizer(project, o.sanitize);
  // The target server root's toolchain, or the system's apxs when there is none.
  const tc = await toolchainForServer(await targetServerRootIfAny(o));
  const res = await buildModule(project, tc, { force: o.force, jobs: o.jobs, check: o.check });
  const msg = res.upToDate
    ? `${res.so} is up to date`
    : o.check
      ? `would build ${res.so} (${res.compiled.length ? res.compiled.join(', ') : 'link'})`
      : `built ${res.so}`;
  const human = [
    res.upToDate || o.check
      ? msg
      : `built ${res.so} (${res.compiled.join(', ')}; linked with ${res.linkedWith}) ` +
        `in ${Math.round(res.durationMs)} ` +
        `ms${res.warnings.length ? `, ${plural(res.warnings.length, 'compiler warning')}:` : ''}`,
  ];
  human.push(...res.warnings.map((w) => `  ${w}`));
  if (res.warnings.length) human.push(`  (the compiler's full output: ${res.log})`);
  human.push(...warningLines(res.symbolNotes));
  return {
    // warnings stays a count in JSON (scripts compare it with 0); the lines are warningLines.
    data: {
      ...res,
      // #23's contract: a no-op build changed nothing (and touched no file); --check says what a
      // build would do.
      changed: !res.upToDate,
      msg,
      ...(o.check ? { check: true } : {}),
      warnings: res.warnings.length,
      warningLines: res.warnings,
      flags: project.flags,
      module: project.module.stem,
      sanitize: project.sanitize ?? null,
    },
    human,
  };
}
