import { promises as fs } from 'node:fs';
import path from 'node:path';
import { notALink } from '../core/atomic-file.js';
import { ApxsError, fileError, isErrno } from '../core/errors.js';
import { parseModuleName, type ModuleName } from './names.js';
import { renderTemplateDirs, templatesRoot } from '../core/templates.js';
import { serverProfile } from '../httpd/profile.js';
import { detectServerRoot, resolveServerRootPath } from '../httpd/server-root.js';
import type { ModuleApi } from './toolchain.js';
import { MODULE_APIS, MODULE_TEMPLATES, type ModuleTemplate } from './template-names.js';

export { MODULE_APIS, MODULE_TEMPLATES, type ModuleTemplate };

export type Language = 'c' | 'cpp';

export interface ScaffoldOptions {
  name: string;
  /** Directory the module directory is created in. */
  parentDir: string;
  template: ModuleTemplate;
  language: Language;
  /** The httpd module API the code is written for: 1.3's (handler_rec) or 2.x's (hooks). */
  api: ModuleApi;
  force?: boolean;
}

export interface ScaffoldResult {
  module: ModuleName;
  dir: string;
  template: ModuleTemplate;
  language: Language;
  api: ModuleApi;
  files: string[];
  url: string;
}

/**
 * The template `new NAME` uses without --template: the one named like the
 * module (`new mod_info --cpp` is the info module, `new mod_hello` the hello
 * one: the name is how a developer asks for it), else handler.
 */
export function defaultTemplate(name: string): ModuleTemplate {
  const bare = name.startsWith('mod_') ? name.slice(4) : name;
  return (MODULE_TEMPLATES as readonly string[]).includes(bare)
    ? (bare as ModuleTemplate)
    : 'handler';
}

export function parseTemplate(t: string): ModuleTemplate {
  if ((MODULE_TEMPLATES as readonly string[]).includes(t)) return t as ModuleTemplate;
  throw new ApxsError('USAGE', `unknown template "${t}"`, {
    hint: `choose one of ${MODULE_TEMPLATES.join(', ')}`,
  });
}

export function parseModuleApi(a: string): ModuleApi {
  // 2.0, 2.2 and 2.4 share one module API (hooks, APR); 2.x names it too.
  const api = a === '2.x' || /^2\.[024]$/.test(a) ? '2' : a;
  if ((MODULE_APIS as readonly string[]).includes(api)) return api as ModuleApi;
  throw new ApxsError('USAGE', `unknown module API "${a}"`, {
    hint: `choose ${MODULE_APIS.join(' or ')} (1.3 for Apache 1.3, 2 for httpd 2.0, 2.2 and 2.4)`,
  });
}

/**
 * The module API of the server a new module is for: the server root's
 * (--server-root, $APXS_TS_SERVER_ROOT or apxs-ts.json upward) httpd series,
 * or 2.x's when there is none (apache2-dev's apxs is 2.4).
 */
export async function targetModuleApi(
  serverRootOpt: string | undefined,
  cwd: string,
): Promise<{ api: ModuleApi; from: string }> {
  const p = await resolveServerRootPath(serverRootOpt, cwd);
  if (!p) return { api: '2', from: 'the default without a server root' };
  try {
    const sr = await detectServerRoot(p);
    const profile = await serverProfile(sr);
    return { api: profile.traits.moduleApi, from: `httpd ${profile.version} at ${sr.root}` };
  } catch (err) {
    // The server root may be named by an apxs-ts.json the developer forgot about: say how to do
    // without it.
    if (!(err instanceof ApxsError)) throw err;
    throw new ApxsError(err.code, err.message, {
      hint:
        `${err.hint ? `${err.hint}; or ` : ''}pass --api ${MODULE_APIS.join(' or ')} ` +
        'to choose the module API without a server root',
      details: err.details,
      cause: err,
    });
  }
}

export async function scaffoldModule(opts: ScaffoldOptions): Promise<ScaffoldResult> {
  const module = parseModuleName(opts.name);
  const dir = path.resolve(opts.parentDir, module.stem);
  const existing = await fs
    .stat(dir)
    .catch((err: unknown) => (isErrno(err, 'ENOENT') ? undefined : Promise.reject(err)));
  if (existing && !opts.force) {
    throw new ApxsError('DIR_EXISTS', `${dir} already exists`, {
      hint: 'pick another name, or pass --force to write the template files over it',
    });
  }
  if (existing && !existing.isDirectory()) {
    throw new ApxsError('DIR_EXISTS', `${dir} exists and is not a directory`);
  }
  const url = `/${module.name}`;
  const root = templatesRoot();
  // 1.3's sources live in c13/ and cpp13/, with a Makefile for its apxs in common-c13/ and
  // common-cpp13/.
  const v13 = opts.api === '1.3' ? '13' : '';
  // tests/<template>: the case file `apxs-ts test` runs, for every language and API.
  const dirs = [
    `common-${opts.language}`,
    ...(v13 ? [`common-${opts.language}${v13}`] : []),
    path.join(`${opts.language}${v13}`, opts.template),
    path.join('tests', opts.template),
  ];
  const files = await renderTemplateDirs(
    dirs.map((d) => path.join(root, 'module', d)),
    {
      name: module.name,
      stem: module.stem,
      symbol: module.symbol,
      template: opts.template,
      language: opts.language === 'cpp' ? 'C++' : 'C',
      lang: opts.language,
      url,
      // what the C++ templates add to the text they answer with
      cppSuffix: opts.language === 'cpp' ? ' (C++)' : '',
      // null: install reads the handler from the source (lib/module/registrations.ts), so
      // renaming it there needs no manifest edit; `install --handler NAME` writes one here.
      handlerJson: 'null',
      api: opts.api,
      apiName: opts.api === '1.3' ? 'Apache 1.3' : 'httpd 2.x',
    },
  );
  // Render everything first, then write into a temp dir renamed into place,
  // so a failure never leaves half a module behind.
  // Its failure is the parent directory's (missing, not writable): said with that path, not the
  // temp name.
  const target = existing
    ? dir
    : await fs
        .mkdtemp(path.join(path.dirname(dir), `.${module.stem}.tmp-`))
        .catch((err: unknown) => {
          throw fileError(path.dirname(dir), err) ?? err;
        });
  try {
    for (const f of files) {
      const dest = path.join(target, f.rel);
      await fs.mkdir(path.dirname(dest), { recursive: true });
      // --force into a directory someone else made (a clone): a link at a template's
      // name (or its tests/ dir) is replaced or refused, never written through.
      if (path.dirname(dest) !== target) await notALink(path.dirname(dest));
      await fs.rm(dest, { force: true });
      await fs.writeFile(dest, f.content, { mode: f.mode, flag: 'wx' });
    }
    if (!existing) {
      await fs.chmod(target, 0o755);
      await fs.rename(target, dir).catch((err: unknown) => {
        // Another run (or the user) made it since the check above: the same answer as if it had
        // been there.
        if (isErrno(err, 'ENOTEMPTY') || isErrno(err, 'EEXIST') || isErrno(err, 'ENOTDIR')) {
          throw new ApxsError('DIR_EXISTS', `${dir} already exists`, {
            hint: 'pick another name, or pass --force to write the template files over it',
            cause: err,
          });
        }
        throw err;
      });
    }
  } catch (err) {
    if (!existing) await fs.rm(target, { recursive: true, force: true });
    throw err;
  }
  return {
    module,
    dir,
    template: opts.template,
    language: opts.language,
    api: opts.api,
    files: files.map((f) => f.rel),
    url,
  };
}
