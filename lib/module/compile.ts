/**
 * `apxs-ts build`: compiles a module directory into mod_NAME.so, like
 * `apxs -c` but without libtool, in one compiler call per source, and only
 * when a source, a header it includes, the flags or the compiler changed.
 * C++ sources are compiled and linked with the C++ compiler.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { exportedSymbols } from './elf.js';
import { ApxsError, isErrno } from '../core/errors.js';
import { readJson } from '../core/fs.js';
import { parseModuleName, type ModuleName } from './names.js';
import { lastLines, runCapture, type RunResult } from '../core/run.js';
import type { ModuleApi, Toolchain } from './toolchain.js';

const SOURCE_EXT = /\.(c|cc|cpp|cxx|C)$/;
const CXX_EXT = /\.(cc|cpp|cxx|C)$/;

export interface ModuleProject {
  dir: string;
  module: ModuleName;
  sources: string[];
  cpp: boolean;
  /** From apxs-ts-module.json: the handler name for <Location>, or null (hello answers everywhere). */
  handler: string | null;
  url: string;
  /** The httpd module API its code is written for; undefined when neither the manifest nor the source says. */
  api: ModuleApi | undefined;
}

export interface BuildResult {
  so: string;
  symbol: string;
  upToDate: boolean;
  compiled: string[];
  linkedWith: string;
  /** Compiler warnings in this build (they are in .apxs-ts/build.log). */
  warnings: number;
  durationMs: number;
}

interface Unit {
  argv: string;
  /** The source and the headers it includes, with mtime and size at build time. */
  inputs: Record<string, [number, number]>;
  /** The unit's output (.o, or the .so for a one-source module) when it was made. */
  output: [number, number];
}

interface Stamp {
  version: 2;
  toolchain: string;
  units: Record<string, Unit>;
  /** Link step of a multi-source module. */
  link?: { argv: string; output: [number, number] };
}

interface Manifest {
  name?: string;
  language?: string;
  handler?: string | null;
  url?: string;
  api?: string;
}

/**
 * A module's API from its source, for a module scaffolded before the
 * manifest recorded it (or written by hand): the module record's macro says.
 */
async function apiOfSources(dir: string, sources: string[]): Promise<ModuleApi | undefined> {
  for (const src of sources) {
    const text = await fs.readFile(path.join(dir, src), 'utf8').catch(() => '');
    if (/\bSTANDARD20_MODULE_STUFF\b/.test(text)) return '2';
    if (/\bSTANDARD_MODULE_STUFF\b|\bhandler_rec\b/.test(text)) return '1.3';
  }
  return undefined;
}

const API_NAME: Record<ModuleApi, string> = { '1.3': 'Apache 1.3 module API', '2': 'httpd 2.x module API' };
const SERVERS_OF: Record<ModuleApi, string> = { '1.3': 'an Apache 1.3 server', '2': 'an httpd 2.0, 2.2 or 2.4 server' };

/** Refuses, before anything is compiled, a module written for the other API than the target server loads. */
export function checkModuleApi(project: ModuleProject, tc: Toolchain): void {
  if (!project.api || project.api === tc.target.api) return;
  throw new ApxsError('API_MISMATCH', `${project.module.stem} is written for the ${API_NAME[project.api]}, not the ${API_NAME[tc.target.api]} of ${tc.target.describe}`, {
    hint: `scaffold it again for that server (apxs-ts new ${project.module.name} --api ${tc.target.api} --dir OTHER_DIR) and move your code over, or pass --server-root of ${SERVERS_OF[project.api]}`,
    data: { moduleApi: project.api, serverApi: tc.target.api },
  });
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
  const manifest = (await readJson<Manifest>(path.join(abs, 'apxs-ts-module.json'))) ?? {};
  const sources = entries.filter((e) => SOURCE_EXT.test(e)).sort();
  if (sources.length === 0) {
    throw new ApxsError('NOT_FOUND', `no C or C++ source in ${abs}`, { hint: 'scaffold a module with `apxs-ts new NAME`' });
  }
  const stem = manifest.name ?? (sources.length === 1 ? sources[0]!.replace(SOURCE_EXT, '') : path.basename(abs));
  const module = parseModuleName(stem);
  const api = manifest.api === '1.3' || manifest.api === '2' ? manifest.api : await apiOfSources(abs, sources);
  return {
    dir: abs, module, sources,
    cpp: manifest.language === 'cpp' || sources.some((s) => CXX_EXT.test(s)),
    handler: manifest.handler === undefined ? module.name : manifest.handler,
    url: manifest.url ?? `/${module.name}`,
    api,
  };
}

async function statKey(file: string): Promise<[number, number] | undefined> {
  try {
    const st = await fs.stat(file);
    return [st.mtimeMs, st.size];
  } catch {
    return undefined;
  }
}

/** Parses a make-style dependency file written by -MMD into absolute paths. */
export function parseDepFile(text: string, baseDir: string): string[] {
  const body = text.replace(/\\\r?\n/g, ' ');
  const colon = body.search(/:(\s|$)/);
  const deps = body.slice(colon + 1).match(/(?:\\ |[^\s])+/g) ?? [];
  return deps.map((d) => path.resolve(baseDir, d.replace(/\\ /g, ' ')));
}

async function same(file: string, key: [number, number] | undefined): Promise<boolean> {
  const now = await statKey(file);
  return !!now && !!key && now[0] === key[0] && now[1] === key[1];
}

async function unitIsFresh(unit: Unit | undefined, argv: string, output: string): Promise<boolean> {
  if (!unit || unit.argv !== argv || !(await same(output, unit.output))) return false;
  const checks = await Promise.all(Object.entries(unit.inputs).map(([f, k]) => same(f, k)));
  return checks.every(Boolean);
}

async function readStamp(file: string, toolchain: string): Promise<Stamp | undefined> {
  const stamp = await fs.readFile(file, 'utf8').then((t) => JSON.parse(t) as Stamp, () => undefined);
  return stamp?.version === 2 && stamp.toolchain === toolchain ? stamp : undefined;
}

function compileFailure(res: RunResult, logFile: string): ApxsError {
  // The compiler's own words, not a summary of them.
  const errors = res.all.split('\n').filter((l) => /\b(error|fatal error|undefined reference)\b/.test(l)).length;
  return new ApxsError('COMPILE_FAILED', `compilation failed (${errors || 'no'} error line${errors === 1 ? '' : 's'}; ${res.command.split(' ')[0]} exited ${res.exitCode})`, {
    details: [...lastLines(res.all, 40), `full log: ${logFile}`],
    data: { command: res.command, exitCode: res.exitCode, log: logFile, output: res.all },
  });
}

export async function buildModule(project: ModuleProject, tc: Toolchain, opts: { force?: boolean; jobs?: number } = {}): Promise<BuildResult> {
  const started = performance.now();
  checkModuleApi(project, tc);
  const work = path.join(project.dir, '.apxs-ts');
  const so = path.join(project.dir, `${project.module.stem}.so`);
  // Compile into a temp name and rename: rewriting a .so that a running httpd
  // has mapped would crash it; a rename leaves the old inode intact.
  const tmpSo = `${so}.apxs-ts-tmp`;
  const stampFile = path.join(work, 'build.json');
  const compiler = project.cpp ? tc.cxx : tc.cc;
  const flags = project.cpp ? tc.cxxflags : tc.cflags;
  const single = project.sources.length === 1;
  const objOf = (src: string) => (single ? so : path.join(work, 'obj', `${src}.o`));
  const depOf = (src: string) => path.join(work, 'obj', `${src}.d`);
  // One source: compile and link in one call. Several: compile each, then link.
  const compileArgs = (src: string) => [
    ...flags, ...(single ? tc.ldflags : ['-c']),
    '-MMD', '-MF', depOf(src), '-o', single ? tmpSo : objOf(src), path.join(project.dir, src),
  ];
  const linkArgs = [...tc.ldflags, '-o', tmpSo, ...project.sources.map(objOf)];
  const line = (args: string[]) => [compiler, ...args].join(' ');

  const old = opts.force ? undefined : await readStamp(stampFile, tc.key);
  const stale: string[] = [];
  for (const src of project.sources) {
    if (!(await unitIsFresh(old?.units[src], line(compileArgs(src)), objOf(src)))) stale.push(src);
  }
  const linkFresh = single || (old?.link?.argv === line(linkArgs) && (await same(so, old.link.output)));
  if (stale.length === 0 && linkFresh) {
    return { so, symbol: project.module.symbol, upToDate: true, compiled: [], linkedWith: compiler, warnings: 0, durationMs: performance.now() - started };
  }

  await fs.mkdir(path.join(work, 'obj'), { recursive: true });
  const logFile = path.join(work, 'build.log');
  await fs.writeFile(logFile, '');
  let warnings = 0;
  const runStep = async (args: string[]) => {
    const res = await runCapture(compiler, args, { cwd: project.dir });
    warnings += res.all.split('\n').filter((l) => /\bwarning:/.test(l)).length;
    await fs.appendFile(logFile, `$ ${res.command}\n${res.all}${res.all.endsWith('\n') || !res.all ? '' : '\n'}[exit ${res.exitCode}]\n`);
    if (res.exitCode !== 0) throw compileFailure(res, logFile);
  };
  const units: Record<string, Unit> = { ...(old?.units ?? {}) };
  const recordUnit = async (src: string) => {
    const inputs: Unit['inputs'] = {};
    for (const f of [path.join(project.dir, src), ...parseDepFile(await fs.readFile(depOf(src), 'utf8'), project.dir)]) {
      const k = await statKey(f);
      if (k) inputs[f] = k;
    }
    units[src] = { argv: line(compileArgs(src)), inputs, output: [0, 0] };
  };
  try {
    if (single) {
      await runStep(compileArgs(project.sources[0]!));
    } else {
      const queue = [...stale];
      const jobs = Math.min(Math.max(1, opts.jobs ?? os.availableParallelism()), queue.length);
      await Promise.all(Array.from({ length: jobs }, async () => {
        for (let s = queue.shift(); s !== undefined; s = queue.shift()) await runStep(compileArgs(s));
      }));
      await runStep(linkArgs);
    }
    const symbols = await exportedSymbols(tmpSo);
    if (!symbols.has(project.module.symbol)) {
      throw new ApxsError('NO_MODULE_SYMBOL', `${path.basename(so)} does not export ${project.module.symbol}`, {
        // httpd's LoadModule looks the record up by this exact name.
        hint: `define the module record as a global, not static and not inside a namespace: ${project.cpp ? 'extern "C" ' : ''}${tc.target.api === '1.3'
          ? `module MODULE_VAR_EXPORT ${project.module.symbol} = { STANDARD_MODULE_STUFF, ... };`
          : `module AP_MODULE_DECLARE_DATA ${project.module.symbol} = { STANDARD20_MODULE_STUFF, ... };`}`,
      });
    }
    await fs.rename(tmpSo, so);
  } catch (err) {
    await fs.rm(tmpSo, { force: true });
    throw err;
  }
  for (const src of stale) await recordUnit(src);
  for (const src of project.sources) units[src]!.output = (await statKey(objOf(src)))!;
  for (const src of Object.keys(units)) if (!project.sources.includes(src)) delete units[src];
  const stamp: Stamp = {
    version: 2, toolchain: tc.key, units,
    ...(single ? {} : { link: { argv: line(linkArgs), output: (await statKey(so))! } }),
  };
  await fs.writeFile(stampFile, JSON.stringify(stamp));
  return {
    so, symbol: project.module.symbol, upToDate: false, compiled: stale, linkedWith: compiler, warnings,
    durationMs: performance.now() - started,
  };
}
