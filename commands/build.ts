import type { Command } from 'commander';
import { buildModule, readModuleProject } from '../lib/module/compile.js';
import { resolveServerRootPath, detectServerRoot } from '../lib/httpd/server-root.js';
import { toolchainForServer } from '../lib/module/toolchain.js';
import { withServerRoot } from './options.js';
import type { Runner } from './types.js';

/** The toolchain of the target server root, or the system's apxs when there is none. */
export async function toolchainFor(serverRootOpt: string | undefined) {
  const p = await resolveServerRootPath(serverRootOpt, process.cwd());
  const sr = p ? await detectServerRoot(p) : undefined;
  return { sr, tc: await toolchainForServer(sr) };
}

export function register(program: Command, run: Runner): void {
  withServerRoot(program.command('build'))
    .argument('[dir]', 'module directory', '.')
    .option('--force', 'rebuild even if up to date')
    .option('--jobs <n>', 'parallel compiles for multi-file modules')
    .description('compile the module (only what changed) into mod_NAME.so')
    .addHelpText('after', '\nExample:\n  cd mod_info && apxs-ts build')
    .action(run(async (dir: string, o: { serverRoot?: string; force?: boolean; jobs?: string }) => {
      const project = await readModuleProject(dir);
      const { tc } = await toolchainFor(o.serverRoot);
      const res = await buildModule(project, tc, { force: o.force, jobs: o.jobs ? Number(o.jobs) : undefined });
      const warned = res.warnings ? `, ${res.warnings} compiler warning${res.warnings === 1 ? '' : 's'}: see ${project.dir}/.apxs-ts/build.log` : '';
      return {
        data: { ...res, module: project.module.stem },
        human: [res.upToDate ? `${res.so} is up to date` : `built ${res.so} (${res.compiled.join(', ')}; linked with ${res.linkedWith}) in ${Math.round(res.durationMs)} ms${warned}`],
      };
    }));
}
