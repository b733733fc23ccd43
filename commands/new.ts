import type { Command } from 'commander';
import { MODULE_APIS, MODULE_TEMPLATES, defaultTemplate, parseModuleApi, parseTemplate, scaffoldModule, targetModuleApi } from '../lib/module/scaffold.js';
import { serverRootOf, withServerRoot } from './options.js';
import { apxsCommand, shellWord } from '../lib/core/command-hint.js';
import type { Runner } from './types.js';

export function register(program: Command, run: Runner): void {
  withServerRoot(program.command('new'))
    .argument('<name>', 'module name, with or without mod_ (letters, digits, _)')
    .option('--cpp', 'a C++ module (compiled and linked with the C++ compiler)')
    .option('--template <t>', `one of ${MODULE_TEMPLATES.join(', ')} (default: the one the name names, as mod_info or hello; else handler)`)
    .option('--api <api>', `module API, ${MODULE_APIS.join(' or ')} (default: the server root's httpd series; 2 without a server root)`)
    .option('--dir <parent>', 'create the module directory here', '.')
    .option('--force', 'write the template files into an existing directory')
    .description('scaffold a C or C++ httpd module with a Makefile, for the module API of the target server')
    .addHelpText('after', '\nExamples:\n  apxs-ts new mod_info --cpp    (the info template: the name says it)\n  apxs-ts new mod_counter --template hello\n  apxs-ts new hello --server-root /opt/apache13\n  apxs-ts new hello --api 1.3')
    .action(run(async (name: string, o: { cpp?: boolean; template?: string; api?: string; dir: string; force?: boolean; serverRoot?: string }) => {
      const template = o.template === undefined ? defaultTemplate(name) : parseTemplate(o.template);
      const target = o.api ? { api: parseModuleApi(o.api), from: '--api' } : await targetModuleApi(o.serverRoot, process.cwd());
      const res = await scaffoldModule({ name, parentDir: o.dir, template, language: o.cpp ? 'cpp' : 'c', api: target.api, force: o.force });
      return {
        data: { ...res, module: res.module.stem, apiFrom: target.from },
        human: [`created ${res.dir} (${res.language === 'cpp' ? 'C++' : 'C'}, ${res.template}, module API ${res.api}: ${target.from}): ${res.files.join(', ')}`,
          `next: cd ${shellWord(res.dir)} && ${apxsCommand('build', { serverRoot: serverRootOf(o.serverRoot) })} && ${apxsCommand('install', { serverRoot: serverRootOf(o.serverRoot) })}, then open ${res.url}`,
          `test it: cd ${shellWord(res.dir)} && apxs-ts test   (the cases of ${res.files.find((f) => f.startsWith('tests/')) ?? 'tests/*.yaml'}, on a throwaway server)`],
      };
    }));
}
