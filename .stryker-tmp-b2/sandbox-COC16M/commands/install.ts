// @ts-nocheck
import type { Command } from 'commander';
import { readModuleProject } from '../lib/module/compile.js';
import { uninstallModule } from '../lib/module/install.js';
import { installProject } from '../lib/module/install-project.js';
import { parseModuleName } from '../lib/module/names.js';
import { requireServerRoot } from '../lib/httpd/server-root.js';
import { toolchainForServer } from '../lib/module/toolchain.js';
import { withServerRoot } from './options.js';
import type { Runner } from './types.js';

export function register(program: Command, run: Runner): void {
  withServerRoot(program.command('install'))
    .argument('[dir]', 'module directory', '.')
    .option('--force', 'install even over a module of the same name that apxs-ts did not install')
    .option('--handler <name>', 'SetHandler NAME in the <Location>, instead of what the sources register (kept in apxs-ts-module.json)')
    .option('--location <path>', 'the <Location> path (default /NAME; kept in apxs-ts-module.json)')
    .option('--no-location', 'no <Location> block (kept in apxs-ts-module.json)')
    .description('copy the .so (building it only when there is none or the sources are newer), add LoadModule and the <Location> the module registers, configtest, roll back if broken')
    .addHelpText('after', [
      '',
      'The <Location> comes from the sources: SetHandler for the names compared with r->handler',
      '(1.3: the handler_rec table), else SetOutputFilter/SetInputFilter for the filters registered',
      'with ap_register_output_filter/ap_register_input_filter, else none.',
      '',
      'Examples:',
      '  apxs-ts install --server-root ../srv',
      '  apxs-ts install --handler example-hooks-handler --location /example',
    ].join('\n'))
    .action(run(async (dir: string, o: { serverRoot?: string; force?: boolean; handler?: string; location?: string | boolean }) => {
      const project = await readModuleProject(dir);
      const sr = await requireServerRoot(o.serverRoot, process.cwd());
      const tc = await toolchainForServer(sr);
      // commander turns --no-location into location: false, and a given --location into its string.
      const flags = { handler: o.handler, url: typeof o.location === 'string' ? o.location : undefined, noLocation: o.location === false };
      const res = await installProject(sr, project, tc, { force: o.force, flags });
      const stem = project.module.stem;
      const soLine = res.so.built ? `built ${res.so.so} (${res.so.reason})`
        : res.so.madeBy === 'another tool' ? `installing ${res.so.so}: ${res.so.reason}`
        : `installing ${res.so.so} (${res.so.reason})`;
      const loc = res.location;
      const locLine = loc
        ? `<Location ${loc.path}> ${loc.directives.map(([d, v]) => `${d} ${v}`).join(', ')} (from ${res.locationFrom === 'flags' ? 'the flags given' : res.locationFrom})`
        : `no <Location>${res.locationFrom === 'sources' ? ': the sources compare r->handler with no name and register no filter' : ` (from ${res.locationFrom === 'flags' ? '--no-location' : res.locationFrom})`}`;
      return {
        data: { ...res },
        human: [soLine, ...(res.changed.length === 0
          ? [`${stem} is already installed in ${sr.root}: nothing changed`]
          : [`installed ${stem} into ${sr.root} (${sr.kind}); changed ${res.changed.join(', ')}`,
            locLine,
            ...(res.backups.length ? [`backups: ${res.backups.join(', ')}`] : []),
            ...(res.savedOverrides ? [`kept in ${project.dir}/apxs-ts-module.json for the next install`] : []),
            `reload the server to use it: apxs-ts ctl graceful --server-root ${sr.root}`])],
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
