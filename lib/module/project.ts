/**
 * A module directory as `build` and `install` see it: its name, sources,
 * language, module API and saved flags, from apxs-ts-module.json and the
 * files beside it.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ApxsError, isErrno } from '../core/errors.js';
import { exists, readJson, readTextIfAny } from '../core/fs.js';
import { writeFileAtomic } from '../core/atomic-file.js';
import { flagsOfManifest, mergeFlags, noFlags, saveFlags, type ModuleFlags } from './flags.js';
import { parseModuleName, type ModuleName } from './names.js';
import type { ModuleApi, Toolchain } from './toolchain.js';

export const SOURCE_EXT = /\.(c|cc|cpp|cxx|C)$/;
export const CXX_EXT = /\.(cc|cpp|cxx|C)$/;

export interface ModuleProject {
  dir: string;
  module: ModuleName;
  /** Relative to dir: the manifest's "sources", else every C and C++ file in dir. */
  sources: string[];
  /** True when the manifest lists the sources (apxs-ts.mk then names them for make too). */
  sourcesListed: boolean;
  cpp: boolean;
  /**
   * From apxs-ts-module.json: the handler name for <Location>, or null (hello answers everywhere).
   */
  handler: string | null;
  url: string;
  /**
   * The httpd module API its code is written for; undefined when neither the manifest nor the
   * source says.
   */
  api: ModuleApi | undefined;
  /** Flags saved by `build -I -D -L -l -Wc, -Wl,`. */
  flags: ModuleFlags;
  /** `build --sanitize`: compiled and linked with -fsanitize=KIND (issue #21); undefined: none. */
  sanitize: Sanitizer | undefined;
  manifestFile: string;
}

export const SANITIZERS = ['address', 'undefined'] as const;
export type Sanitizer = (typeof SANITIZERS)[number];

interface Manifest {
  name?: string;
  language?: string;
  handler?: string | null;
  url?: string;
  api?: string;
  sources?: unknown;
  sanitize?: unknown;
}

/**
 * A module's API from its source, for a module scaffolded before the
 * manifest recorded it (or written by hand): the module record's macro says.
 */
async function apiOfSources(dir: string, sources: string[]): Promise<ModuleApi | undefined> {
  for (const src of sources) {
    // Unreadable: the compiler will say so.
    const text = await fs.readFile(path.join(dir, src), 'utf8').catch(() => '');
    if (/\bSTANDARD20_MODULE_STUFF\b/.test(text)) return '2';
    if (/\bSTANDARD_MODULE_STUFF\b|\bhandler_rec\b/.test(text)) return '1.3';
  }
  return undefined;
}

const API_NAME: Record<ModuleApi, string> = {
  '1.3': 'Apache 1.3 module API',
  '2': 'httpd 2.x module API',
};
const SERVERS_OF: Record<ModuleApi, string> = {
  '1.3': 'an Apache 1.3 server',
  '2': 'an httpd 2.0, 2.2 or 2.4 server',
};

/**
 * Refuses, before anything is compiled, a module written for the other API than the target server
 * loads.
 */
export function checkModuleApi(project: ModuleProject, tc: Toolchain): void {
  if (!project.api || project.api === tc.target.api) return;
  throw new ApxsError(
    'API_MISMATCH',
    `${project.module.stem} is written for the ${API_NAME[project.api]}, ` +
      `not the ${API_NAME[tc.target.api]} of ${tc.target.describe}`,
    {
      hint:
        `scaffold it again for that server (apxs-ts new ${project.module.name} ` +
        `--api ${tc.target.api} --dir OTHER_DIR) and move your code over, ` +
        `or pass --server-root of ${SERVERS_OF[project.api]}`,
      data: { moduleApi: project.api, serverApi: tc.target.api },
    },
  );
}

async function listedSources(abs: string, listed: unknown, file: string): Promise<string[]> {
  if (
    !Array.isArray(listed) ||
    listed.length === 0 ||
    listed.some((s) => typeof s !== 'string' || !SOURCE_EXT.test(s))
  ) {
    throw new ApxsError(
      'BAD_INPUT',
      `${file}: "sources" must be a non-empty array of .c/.cpp file names`,
      { hint: 'fix it, or remove "sources" to build every C and C++ file in the directory' },
    );
  }
  const sources = (listed as string[]).map((s) => path.normalize(s));
  for (const s of sources) {
    if (path.isAbsolute(s) || s.startsWith('..'))
      throw new ApxsError('BAD_INPUT', `${file}: source ${s} is outside the module directory`, {
        hint: 'list sources relative to the module directory',
      });
    if (!(await exists(path.join(abs, s))))
      throw new ApxsError('NOT_FOUND', `${path.join(abs, s)} does not exist (listed in ${file})`, {
        hint: 'fix "sources" in apxs-ts-module.json',
      });
  }
  return sources;
}

export async function readModuleProject(dir: string): Promise<ModuleProject> {
  const abs = path.resolve(dir);
  let entries: string[];
  try {
    entries = await fs.readdir(abs);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) throw new ApxsError('NOT_FOUND', `${abs} does not exist`);
    throw err;
  }
  const manifestFile = path.join(abs, 'apxs-ts-module.json');
  const manifest = (await readJson<Manifest>(manifestFile)) ?? {};
  const sourcesListed = manifest.sources !== undefined;
  const sources = sourcesListed
    ? await listedSources(abs, manifest.sources, manifestFile)
    : entries.filter((e) => SOURCE_EXT.test(e)).sort();
  if (sources.length === 0) {
    throw new ApxsError('NOT_FOUND', `no C or C++ source in ${abs}`, {
      hint: 'scaffold a module with `apxs-ts new NAME`',
    });
  }
  const stem =
    manifest.name ??
    (sources.length === 1
      ? path.basename(sources[0]!).replace(SOURCE_EXT, '')
      : path.basename(abs));
  const module = parseModuleName(stem);
  const api =
    manifest.api === '1.3' || manifest.api === '2'
      ? manifest.api
      : await apiOfSources(abs, sources);
  return {
    dir: abs,
    module,
    sources,
    sourcesListed,
    cpp: manifest.language === 'cpp' || sources.some((s) => CXX_EXT.test(s)),
    handler: manifest.handler === undefined ? module.name : manifest.handler,
    url: manifest.url ?? `/${module.name}`,
    api,
    flags: flagsOfManifest(manifest as Record<string, unknown>, manifestFile),
    sanitize: sanitizerOf(manifest.sanitize, manifestFile),
    manifestFile,
  };
}

/**
 * Adds flags given on the command line to the module's saved ones (`reset` drops those first) and
 * saves them.
 */
export async function updateModuleFlags(
  project: ModuleProject,
  add: Partial<ModuleFlags>,
  reset = false,
): Promise<ModuleProject> {
  const flags = mergeFlags(reset ? noFlags() : project.flags, add);
  await saveFlags(project.manifestFile, flags);
  return { ...project, flags };
}

/** `where`: the manifest file (its "sanitize" key), or the option that gave `v`. */
function sanitizerOf(v: unknown, where: string): Sanitizer | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string' && (SANITIZERS as readonly string[]).includes(v)) return v as Sanitizer;
  const what = where.startsWith('--') ? where : `${where}: "sanitize"`;
  throw new ApxsError(
    'BAD_INPUT',
    `${what} is ${JSON.stringify(v)}: it must be ${SANITIZERS.join(', ')} or none`,
    { hint: 'apxs-ts build --sanitize address (or undefined); --sanitize none takes it out' },
  );
}

/** `build --sanitize KIND|none`: kept in apxs-ts-module.json like the other build flags. */
export async function setSanitizer(project: ModuleProject, kind: string): Promise<ModuleProject> {
  const want = kind === 'none' ? undefined : sanitizerOf(kind, '--sanitize');
  if (want === project.sanitize) return project;
  const manifest = (await readJson<Record<string, unknown>>(project.manifestFile)) ?? {};
  if (want) manifest.sanitize = want;
  else delete manifest.sanitize;
  await writeFileAtomic(project.manifestFile, `${JSON.stringify(manifest, null, 2)}\n`);
  return { ...project, sanitize: want };
}

/**
 * The compile and link words of a sanitizer: frame pointers kept, so that its reports unwind
 * through every frame.
 */
export function sanitizerFlags(kind: Sanitizer | undefined): {
  compile: string[];
  link: string[];
  libs: string[];
} {
  if (!kind) return { compile: [], link: [], libs: [] };
  return {
    compile: [
      `-fsanitize=${kind}`,
      '-fno-omit-frame-pointer',
      ...(kind === 'undefined' ? ['-fno-sanitize-recover=undefined'] : []),
    ],
    link: [`-fsanitize=${kind}`],
    // Named after the objects too: with apxs's -Wl,--as-needed (Debian's) the driver's own early
    // -lasan is dropped before any object needs it, and the .so would not name its runtime
    // (DT_NEEDED).
    libs: [kind === 'address' ? '-lasan' : '-lubsan'],
  };
}
