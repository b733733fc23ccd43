import {
  defaultTemplate,
  parseModuleApi,
  parseTemplate,
  scaffoldModule,
  targetModuleApi,
} from '../lib/module/scaffold.js';
import { serverRootOf } from './options.js';
import { apxsCommand, shellWord } from '../lib/core/command-hint.js';
import type { Outcome } from './types.js';

export async function newModule(
  name: string,
  o: {
    cpp?: boolean;
    template?: string;
    api?: string;
    dir: string;
    force?: boolean;
    serverRoot?: string;
  },
): Promise<Outcome> {
  const template = o.template === undefined ? defaultTemplate(name) : parseTemplate(o.template);
  const target = o.api
    ? { api: parseModuleApi(o.api), from: '--api' }
    : await targetModuleApi(o.serverRoot, process.cwd());
  const res = await scaffoldModule({
    name,
    parentDir: o.dir,
    template,
    language: o.cpp ? 'cpp' : 'c',
    api: target.api,
    force: o.force,
  });
  return {
    data: { ...res, module: res.module.stem, apiFrom: target.from },
    human: [
      `created ${res.dir} (${res.language === 'cpp' ? 'C++' : 'C'}, ${res.template}, ` +
        `module API ${res.api}: ${target.from}): ${res.files.join(', ')}`,
      `next: cd ${shellWord(res.dir)} && ` +
        `${apxsCommand('build', { serverRoot: serverRootOf(o.serverRoot) })} ` +
        `&& ${apxsCommand('install', { serverRoot: serverRootOf(o.serverRoot) })}, ` +
        `then open ${res.url}`,
      `test it: cd ${shellWord(res.dir)} && apxs-ts test   (the cases of ` +
        `${res.files.find((f) => f.startsWith('tests/')) ?? 'tests/*.yaml'}, on a throwaway ` +
        'server)',
    ],
  };
}
