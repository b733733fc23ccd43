import type { Command } from 'commander';
import { buildModule, readModuleProject, updateModuleFlags } from '../lib/module/compile.js';
import { setSanitizer } from '../lib/module/project.js';
import { flagsOfOptions, type FlagOptions } from '../lib/module/flags.js';
import { resolveServerRootPath, detectServerRoot } from '../lib/httpd/server-root.js';
import { toolchainForServer } from '../lib/module/toolchain.js';
import { jobsArg, withServerRoot } from './options.js';
import type { Runner } from './types.js';

/** The toolchain of the target server root, or the system's apxs when there is none. */
export async function toolchainFor(serverRootOpt: string | undefined) {
  const p = await resolveServerRootPath(serverRootOpt, process.cwd());
  const sr = p ? await detectServerRoot(p) : undefined;
  return { sr, tc: await toolchainForServer(sr) };
}

const collect = (v: string, prev: string[] = []) => [...prev, v];
const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

export function register(program: Command, run: Runner): void {
  withServerRoot(program.command('build'))
    .argument('[dir]', 'module directory', '.')
    .option('--force', 'rebuild even if up to date')
    .option('--jobs <n>', 'parallel compiles for multi-file modules', jobsArg)
    .option('-I, --include <dir>', 'add an include directory (repeatable; saved in apxs-ts-module.json)', collect)
    .option('-D, --define <name[=value]>', 'define a macro (repeatable; saved; a new value replaces the saved one)', collect)
    .option('-L, --lib-dir <dir>', 'add a library directory (repeatable; saved)', collect)
    .option('-l, --lib <lib>', 'link a library, as -lz (repeatable; saved)', collect)
    .option('-W <c,flag|l,flag>', '-Wc,FLAG for the compiler, -Wl,FLAG for the link (repeatable; saved)', collect)
    .option('--reset-flags', 'forget the saved flags (before adding the ones given)')
    .option('--sanitize <kind>', 'address or undefined: build with that sanitizer and frame pointers (saved; none takes it out); ctl start preloads its runtime into httpd')
    .description('compile the module (only what changed) into mod_NAME.so and check its symbols against the target httpd')
    .addHelpText('after', [
      '',
      'Flags are kept in apxs-ts-module.json (and apxs-ts.mk for the Makefile), so the next build uses them;',
      '$CFLAGS, $CPPFLAGS ($CXXFLAGS for C++, else $CFLAGS), $LDFLAGS and $LIBS are added to every build.',
      '',
      'Examples:',
      '  cd mod_info && apxs-ts build',
      '  apxs-ts build -lz -D GREETING=\'"hi"\' -Wc,-O0 -Wl,-z,defs',
    ].join('\n'))
    .action(run(async (dir: string, o: FlagOptions & { serverRoot?: string; force?: boolean; jobs?: number; resetFlags?: boolean; sanitize?: string }) => {
      let project = await readModuleProject(dir);
      const added = flagsOfOptions(o, process.cwd(), project.dir);
      if (Object.keys(added).length > 0 || o.resetFlags) project = await updateModuleFlags(project, added, o.resetFlags);
      if (o.sanitize !== undefined) project = await setSanitizer(project, o.sanitize);
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
        data: { ...res, warnings: res.warnings.length, warningLines: res.warnings, flags: project.flags, module: project.module.stem, sanitize: project.sanitize ?? null },
        human,
      };
    }));
}
