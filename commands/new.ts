import type { Command } from 'commander';
import { MODULE_TEMPLATES, parseTemplate, scaffoldModule } from '../lib/module/scaffold.js';
import type { Runner } from './types.js';

export function register(program: Command, run: Runner): void {
  program
    .command('new')
    .argument('<name>', 'module name, with or without mod_ (letters, digits, _)')
    .option('--cpp', 'a C++ module (compiled and linked with the C++ compiler)')
    .option('--template <t>', `one of ${MODULE_TEMPLATES.join(', ')}`, 'handler')
    .option('--dir <parent>', 'create the module directory here', '.')
    .option('--force', 'write the template files into an existing directory')
    .description('scaffold a C or C++ httpd module with a Makefile')
    .addHelpText('after', '\nExamples:\n  apxs-ts new mod_info --cpp --template info\n  apxs-ts new hello --template hello')
    .action(run(async (name: string, o: { cpp?: boolean; template: string; dir: string; force?: boolean }) => {
      const res = await scaffoldModule({ name, parentDir: o.dir, template: parseTemplate(o.template), language: o.cpp ? 'cpp' : 'c', force: o.force });
      return {
        data: { ...res, module: res.module.stem },
        human: [`created ${res.dir} (${res.language === 'cpp' ? 'C++' : 'C'}, ${res.template}): ${res.files.join(', ')}`,
          `next: cd ${res.dir} && apxs-ts build && apxs-ts install, then open ${res.url}`],
      };
    }));
}
