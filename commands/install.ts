import type { Command } from 'commander';
import { buildModule, readModuleProject } from '../lib/module/compile.js';
import { installModule, uninstallModule } from '../lib/module/install.js';
import { parseModuleName } from '../lib/module/names.js';
import { requireServerRoot } from '../lib/httpd/server-root.js';
import { toolchainForServer } from '../lib/module/toolchain.js';
import { withServerRoot } from './options.js';
import type { Runner } from './types.js';

export function register(program: Command, run: Runner): void {
  withServerRoot(program.command('install'))
    .argument('[dir]', 'module directory', '.')
    .option('--force', 'install even over a module of the same name that apxs-ts did not install')
    .description('build if needed, copy the .so, add LoadModule and <Location>, configtest, roll back if broken')
    .addHelpText('after', '\nExample:\n  apxs-ts install --server-root ../srv')
    .action(run(async (dir: string, o: { serverRoot?: string; force?: boolean }) => {
      const project = await readModuleProject(dir);
      const sr = await requireServerRoot(o.serverRoot, process.cwd());
      const tc = await toolchainForServer(sr);
      // A module of the other module API than this server's is refused here, before anything is compiled or copied.
      const built = await buildModule(project, tc);
      const res = await installModule(sr, { module: project.module, so: built.so, handler: project.handler, url: project.url, force: o.force });
      return {
        data: { ...res },
        human: res.changed.length === 0
          ? [`${project.module.stem} is already installed in ${sr.root}: nothing changed`]
          : [`installed ${project.module.stem} into ${sr.root} (${sr.kind}); changed ${res.changed.join(', ')}`,
            ...(res.backups.length ? [`backups: ${res.backups.join(', ')}`] : []),
            `reload the server to use it: apxs-ts ctl graceful --server-root ${sr.root}`],
      };
    }));

  withServerRoot(program.command('uninstall'))
    .argument('<name>', 'module name (info or mod_info)')
    .description('reverse install: remove the .so, LoadModule and <Location>; configtest, roll back if broken')
    .addHelpText('after', '\nExample:\n  apxs-ts uninstall info --server-root ./srv')
    .action(run(async (name: string, o: { serverRoot?: string }) => {
      const module = parseModuleName(name);
      const sr = await requireServerRoot(o.serverRoot, process.cwd());
      const res = await uninstallModule(sr, module);
      return { data: { ...res }, human: [`removed ${module.stem} from ${sr.root}; changed ${res.changed.join(', ')}`] };
    }));
}
