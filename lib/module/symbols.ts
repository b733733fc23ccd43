/**
 * What a module's undefined symbols resolve to when httpd loads it: the
 * httpd binary's dynamic symbols, the libraries it loads (ldd: APR,
 * APR-util, PCRE, libc, ...), and the libraries the module itself was linked
 * with (libstdc++ for C++, every -l). httpd's set is cached on disk per
 * binary identity (and its libraries' identities), each other library's per
 * file identity, so a build pays an ldd only for a module that links
 * libraries httpd does not load.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readCache, writeCache } from '../core/cache.js';
import { runCapture } from '../core/run.js';
import { readDynamic, NotElf64Error, type DynamicInfo } from './elf.js';
import type { RuntimeTarget } from './toolchain.js';

export interface SymbolCheck {
  /** Undefined symbols nothing httpd loads provides. */
  unresolved: string[];
  /**
   * Symbols another module in the server's module directories exports: there once that module is
   * loaded first.
   */
  fromModules: { symbol: string; module: string }[];
  /** Libraries the module needs that httpd's loader will not find. */
  missingLibs: string[];
}

async function identity(file: string): Promise<string | undefined> {
  const st = await fs.stat(file).catch(() => undefined);
  return st && `${path.resolve(file)}:${st.mtimeMs}:${st.size}`;
}

/** `ldd FILE`: soname -> path, and the sonames it could not find. */
export function parseLdd(out: string): { libs: Map<string, string>; missing: string[] } {
  const libs = new Map<string, string>();
  const missing: string[] = [];
  for (const line of out.split('\n')) {
    const m = /^\s*(\S+)\s+=>\s+(.*?)\s*(\(0x[0-9a-f]+\))?$/.exec(line);
    if (m) {
      if (m[2] === 'not found') missing.push(m[1]!);
      else if (m[2]) libs.set(m[1]!, m[2]);
      continue;
    }
    const loader = /^\s*(\/\S+)\s+\(0x[0-9a-f]+\)$/.exec(line);
    if (loader) libs.set(path.basename(loader[1]!), loader[1]!);
  }
  return { libs, missing };
}

/**
 * Undefined when ldd cannot say (not installed, or not a dynamic file): the check is then skipped,
 * not guessed.
 */
async function ldd(
  file: string,
  env: Record<string, string>,
): Promise<{ libs: Map<string, string>; missing: string[] } | undefined> {
  const res = await runCapture('ldd', [file], { env }).catch(() => undefined);
  return res?.exitCode === 0 ? parseLdd(res.stdout) : undefined;
}

type LibIds = [string, string, string][];
const isLibIds = (v: unknown): v is LibIds =>
  Array.isArray(v) &&
  v.every((e) => Array.isArray(e) && e.length === 3 && e.every((x) => typeof x === 'string'));
const isString = (v: unknown): v is string => typeof v === 'string';
const isHttpdEntry = (v: unknown): v is { libs: LibIds; names: string } =>
  typeof v === 'object' &&
  v !== null &&
  isLibIds((v as { libs?: unknown }).libs) &&
  isString((v as { names?: unknown }).names);
const isModuleEntry = (v: unknown): v is { libs: LibIds } =>
  typeof v === 'object' && v !== null && isLibIds((v as { libs?: unknown }).libs);

/**
 * A set of names as one "\nname\n...\n" string: asking it for a module's
 * few dozen symbols is cheaper than building a Set of libc's thousands.
 */
class NameList {
  constructor(readonly text: string) {}
  static of(names: Iterable<string>): NameList {
    return new NameList(`\n${[...names].join('\n')}\n`);
  }
  has(name: string): boolean {
    return this.text.includes(`\n${name}\n`);
  }
  names(): string[] {
    return this.text.split('\n').filter(Boolean);
  }
}

/**
 * A library's defined symbols, cached by its identity (libstdc++ reads faster from the list than it
 * parses).
 */
async function librarySymbols(lib: string): Promise<NameList> {
  const key = await identity(lib);
  if (!key) return NameList.of([]);
  const hit = readCache('lib-symbols', key, isString);
  if (hit !== undefined) return new NameList(hit);
  const list = NameList.of(
    await readDynamic(lib).then(
      (d) => d.defined,
      () => new Set<string>(),
    ),
  );
  await writeCache('lib-symbols', key, list.text);
  return list;
}

interface HttpdSymbols {
  key: string;
  names: NameList;
  libs: Map<string, string>;
}

/** Each cached path still has the identity it had: an upgraded libapr is another set of symbols. */
async function stillSame(libs: LibIds): Promise<boolean> {
  const ids = await Promise.all(libs.map(([, p]) => identity(p)));
  return libs.every(([, , id], i) => ids[i] === id);
}

const withIds = (libs: Map<string, string>) =>
  Promise.all(
    [...libs].map(async ([s, p]) => [s, p, (await identity(p)) ?? ''] as [string, string, string]),
  );

/**
 * The httpd binary's symbols and those of every library it loads, cached per identity of all of
 * them.
 */
async function httpdSymbols(rt: RuntimeTarget): Promise<HttpdSymbols | undefined> {
  const key = await identity(rt.httpd);
  if (!key) return undefined;
  const hit = readCache('httpd-symbols', key, isHttpdEntry);
  if (hit && (await stillSame(hit.libs)))
    return { key, names: new NameList(hit.names), libs: new Map(hit.libs.map(([s, p]) => [s, p])) };
  const libs = (await ldd(rt.httpd, await rt.env()))?.libs;
  if (!libs) return undefined;
  const sets = await Promise.all([
    readDynamic(rt.httpd).then((d) => d.defined),
    ...[...libs.values()].map((l) =>
      readDynamic(l).then(
        (d) => d.defined,
        () => new Set<string>(),
      ),
    ),
  ]);
  const names = NameList.of(new Set(sets.flatMap((s) => [...s])));
  await writeCache('httpd-symbols', key, { libs: await withIds(libs), names: names.text });
  return { key, names, libs };
}

/**
 * Where the loader finds the libraries a module needs beyond httpd's (ldd
 * as httpd runs), cached per httpd and the module's DT_NEEDED and RUNPATH:
 * a C++ module asks for libstdc++ at every build.
 */
async function moduleLibs(
  so: string,
  mod: DynamicInfo,
  rt: RuntimeTarget,
  httpd: HttpdSymbols,
): Promise<{ libs: Map<string, string>; missing: string[] } | undefined> {
  const key = JSON.stringify([httpd.key, mod.needed, mod.runpath]);
  const hit = readCache('module-libs', key, isModuleEntry);
  if (hit && (await stillSame(hit.libs)))
    return { libs: new Map(hit.libs.map(([s, p]) => [s, p])), missing: [] };
  const found = await ldd(so, await rt.env());
  // Only a complete answer is kept: a library not found now may be installed before the next build.
  if (found?.missing.length === 0)
    await writeCache('module-libs', key, { libs: await withIds(found.libs) });
  return found;
}

/** Every symbol httpd and its libraries define: for "did you mean" on the failure path. */
export async function httpdProvides(rt: RuntimeTarget): Promise<string[]> {
  return (await httpdSymbols(rt))?.names.names() ?? [];
}

/** Other modules' exports, read only when something is unresolved. */
async function moduleExports(dirs: string[], self: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const dir of dirs) {
    const files = (await fs.readdir(dir).catch(() => [] as string[])).filter(
      (f) => f.endsWith('.so') && f !== path.basename(self),
    );
    const found = await Promise.all(
      files.map((f) =>
        readDynamic(path.join(dir, f)).then(
          (d) => d.defined,
          () => new Set<string>(),
        ),
      ),
    );
    files.forEach((f, i) => {
      for (const s of found[i]!) if (!out.has(s)) out.set(s, f);
    });
  }
  return out;
}

/**
 * Checks a built .so (its DynamicInfo already read) against what `rt`'s
 * httpd provides at run time, and reports libraries it needs that the
 * loader would not find as httpd runs (an -L directory is not searched then).
 */
export async function checkSymbols(
  so: string,
  mod: DynamicInfo,
  rt: RuntimeTarget,
): Promise<SymbolCheck> {
  const httpd = await httpdSymbols(rt);
  if (!httpd) return { unresolved: [], fromModules: [], missingLibs: [] };
  let pending = mod.undefined.filter((s) => !httpd.names.has(s));
  const missingLibs: string[] = [];
  if (pending.length > 0 && mod.needed.some((n) => !httpd.libs.has(n))) {
    // Libraries httpd does not load (libstdc++, -lz): where the loader finds them, as httpd runs.
    const own = await moduleLibs(so, mod, rt, httpd);
    if (!own) return { unresolved: [], fromModules: [], missingLibs: [] };
    missingLibs.push(...own.missing);
    const extra = [...own.libs].filter(([s]) => !httpd.libs.has(s)).map(([, p]) => p);
    const sets = await Promise.all(extra.map(librarySymbols));
    pending = pending.filter((s) => !sets.some((set) => set.has(s)));
  }
  const fromModules: SymbolCheck['fromModules'] = [];
  if (pending.length > 0) {
    const others = await moduleExports(rt.moduleDirs, so);
    for (const s of pending) {
      const m = others.get(s);
      if (m) fromModules.push({ symbol: s, module: m });
    }
    pending = pending.filter((s) => !others.has(s));
  }
  return { unresolved: pending, fromModules, missingLibs };
}

export { NotElf64Error };
