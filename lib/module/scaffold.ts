import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ApxsError, isErrno } from '../core/errors.js';
import { parseModuleName, type ModuleName } from './names.js';
import { renderTemplateDirs, templatesRoot } from '../core/templates.js';

export const MODULE_TEMPLATES = ['hello', 'handler', 'info'] as const;
export type ModuleTemplate = (typeof MODULE_TEMPLATES)[number];
export type Language = 'c' | 'cpp';

export interface ScaffoldOptions {
  name: string;
  /** Directory the module directory is created in. */
  parentDir: string;
  template: ModuleTemplate;
  language: Language;
  force?: boolean;
}

export interface ScaffoldResult {
  module: ModuleName;
  dir: string;
  template: ModuleTemplate;
  language: Language;
  files: string[];
  url: string;
}

export function parseTemplate(t: string): ModuleTemplate {
  if ((MODULE_TEMPLATES as readonly string[]).includes(t)) return t as ModuleTemplate;
  throw new ApxsError('USAGE', `unknown template "${t}"`, { hint: `choose one of ${MODULE_TEMPLATES.join(', ')}` });
}

export async function scaffoldModule(opts: ScaffoldOptions): Promise<ScaffoldResult> {
  const module = parseModuleName(opts.name);
  const dir = path.resolve(opts.parentDir, module.stem);
  const existing = await fs.stat(dir).catch((err: unknown) => (isErrno(err, 'ENOENT') ? undefined : Promise.reject(err)));
  if (existing && !opts.force) {
    throw new ApxsError('DIR_EXISTS', `${dir} already exists`, { hint: 'pick another name, or pass --force to write the template files over it' });
  }
  if (existing && !existing.isDirectory()) {
    throw new ApxsError('DIR_EXISTS', `${dir} exists and is not a directory`);
  }
  const url = `/${module.name}`;
  // hello answers every URL; handler templates answer where a SetHandler names them.
  const handler = opts.template === 'hello' ? null : module.name;
  const root = templatesRoot();
  const files = await renderTemplateDirs(
    [path.join(root, 'module', `common-${opts.language}`), path.join(root, 'module', opts.language, opts.template)],
    {
      name: module.name,
      stem: module.stem,
      symbol: module.symbol,
      template: opts.template,
      language: opts.language === 'cpp' ? 'C++' : 'C',
      lang: opts.language,
      url,
      handlerJson: JSON.stringify(handler),
    },
  );
  // Render everything first, then write into a temp dir renamed into place,
  // so a failure never leaves half a module behind.
  const target = existing ? dir : await fs.mkdtemp(path.join(path.dirname(dir), `.${module.stem}.tmp-`));
  try {
    for (const f of files) {
      const dest = path.join(target, f.rel);
      await fs.mkdir(path.dirname(dest), { recursive: true });
      await fs.writeFile(dest, f.content, { mode: f.mode });
    }
    if (!existing) {
      await fs.chmod(target, 0o755);
      await fs.rename(target, dir);
    }
  } catch (err) {
    if (!existing) await fs.rm(target, { recursive: true, force: true });
    throw err;
  }
  return { module, dir, template: opts.template, language: opts.language, files: files.map((f) => f.rel), url };
}
