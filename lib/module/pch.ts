/**
 * A precompiled header for dev's builds: parsing httpd's, APR's and (for
 * C++) the standard library's headers is most of a small module's compile
 * at -O0 (the C++ info module: ~0.5 s of g++, ~0.05 s of it its own code).
 *
 * What goes in: the source's leading run of #include lines (only comments
 * and blank lines between them), up to the first line that is anything else
 * (#define, #if, code) or the first "header" of the module's own directory
 * (it is edited too often to be worth it). Those lines become a stub header,
 * compiled once (`-x c-header`/`c++-header`) into STUB.gch in apxs-ts's cache
 * (lib/core/cache.ts), and the source is compiled with `-include STUB`: GCC
 * reads the .gch instead of the headers, then the source's own #include
 * lines find every header already included (all are guarded). Nothing
 * precedes those lines in the source, so no macro the source defines can
 * see a different header: the result is the same program.
 *
 * When it is used: the entry's key is the compiler, every compile flag and
 * the stub's text; the entry holds the identity of the .gch it made and the
 * size and mtime of every header the stub read (from -MD, system headers
 * too). A flag or an #include line changed is another key; a header changed
 * since, or a .gch that is not the one the entry names (replaced, torn,
 * another user's) is a miss and the header is built again. GCC itself
 * refuses a .gch of another compiler version or incompatible options (it
 * then reads the stub's text: slower, not wrong). A compile with the header
 * that fails is run again without it, and that run's answer is the build's:
 * an error is reported exactly as without the header.
 */
import { promises as fs, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { cacheDir, cacheSidecar, readCache, writeCache } from '../core/cache.js';
import { runCapture } from '../core/run.js';
import { whyUntrusted } from '../core/trust.js';
import { parseDepFile, same, statKey, type FileKey } from './stamp.js';

export interface PchPlan {
  key: string;
  compiler: string;
  /** The unit's compile flags (no -o, no dependency or link flags). */
  flags: string[];
  lang: 'c' | 'c++';
  /** The stub's text: the source's leading #include lines. */
  header: string;
}

/** What the cache entry holds. */
interface PchEntry {
  /** The .gch as written: [inode, size, mtimeMs]. */
  gch: [number, number, number];
  /** Every header it was made of, with its [mtimeMs, size] then. */
  inputs: Record<string, FileKey>;
}

export interface PchUse {
  /** The stub to pass as `-include`; its .gch is beside it. */
  stub: string;
  /** The headers in it: a unit compiled with it depends on them too. */
  inputs: Record<string, FileKey>;
}

/** How many precompiled headers the cache keeps (each is 10-30 MB): the oldest go first. */
const KEEP = 6;

function isEntry(v: unknown): v is PchEntry {
  const e = v as PchEntry;
  return (
    typeof v === 'object' &&
    v !== null &&
    Array.isArray(e.gch) &&
    e.gch.length === 3 &&
    e.gch.every((n) => typeof n === 'number') &&
    typeof e.inputs === 'object' &&
    e.inputs !== null &&
    Object.values(e.inputs).every(
      (k) => Array.isArray(k) && k.length === 2 && k.every((n) => typeof n === 'number'),
    )
  );
}

/** Text with comments blanked (newlines kept), for reading the #include lines. */
function withoutComments(text: string): string {
  return text
    .replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' '))
    .replace(/\/\/[^\n]*/g, '');
}

/**
 * The source's leading #include lines, as written, up to the first other
 * line or the first quoted header that `isOwn` says is the module's own.
 */
export function leadingIncludes(text: string, isOwn: (quoted: string) => boolean): string[] {
  const out: string[] = [];
  for (const raw of withoutComments(text).split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const m = /^#\s*include\s*(<[^<>"]+>|"[^<>"]+")$/.exec(line);
    if (!m) break;
    const name = m[1]!;
    if (name.startsWith('"') && isOwn(name.slice(1, -1))) break;
    out.push(`#include ${name}`);
  }
  return out;
}

/** GCC's precompiled headers (`-include X` finds X.gch); another compiler gets none. */
export function compilerMakesGch(compiler: string): boolean {
  const base = path.basename(compiler);
  return /(^|-)(gcc|g\+\+|cc|c\+\+)(-\d+)?$/.test(base) && !/clang/.test(base);
}

/** The plan for one source, or undefined when it starts with no header worth precompiling. */
export async function pchPlan(
  src: string,
  compiler: string,
  flags: string[],
  lang: 'c' | 'c++',
  toolchainKey: string,
): Promise<PchPlan | undefined> {
  if (!compilerMakesGch(compiler)) return undefined;
  const text = await fs.readFile(src, 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const dir = path.dirname(src);
  const lines = leadingIncludes(text, (name) => statKey(path.resolve(dir, name)) !== undefined);
  if (lines.length === 0) return undefined;
  const header = `${lines.join('\n')}\n`;
  const key = JSON.stringify([toolchainKey, compiler, lang, flags, header]);
  return { key, compiler, flags, lang, header };
}

function gchIdentity(file: string): [number, number, number] | undefined {
  const st = statSync(file, { throwIfNoEntry: false });
  return st?.isFile() ? [st.ino, st.size, st.mtimeMs] : undefined;
}

/** The precompiled header of `plan` when the cache has a valid one: else undefined (build it). */
export async function findPch(plan: PchPlan): Promise<PchUse | undefined> {
  const entry = readCache('pch', plan.key, isEntry);
  if (!entry) return undefined;
  const stub = await cacheSidecar('pch', plan.key, '.h');
  if (!stub) return undefined;
  const gch = `${stub}.gch`;
  const id = gchIdentity(gch);
  if (!id || id.some((n, i) => n !== entry.gch[i]) || whyUntrusted(gch)) return undefined;
  let text: string | undefined;
  try {
    text = readFileSync(stub, 'utf8');
  } catch {
    return undefined;
  }
  if (text !== plan.header) return undefined;
  for (const [f, k] of Object.entries(entry.inputs)) if (!same(f, k)) return undefined;
  return { stub, inputs: entry.inputs };
}

/**
 * Compiles `plan`'s stub into its .gch in the cache (temp names, renamed
 * into place) and records it. Returns the build's log lines; a failure is
 * no error (the module is compiled without it), only said in the log.
 */
export async function buildPch(plan: PchPlan, cwd: string): Promise<{ ok: boolean; log: string }> {
  const stub = await cacheSidecar('pch', plan.key, '.h');
  if (!stub) return { ok: false, log: `no cache directory to keep a precompiled header in\n` };
  const tmp = `${stub}.${process.pid}-${Date.now().toString(36)}`;
  const args = [
    ...plan.flags,
    '-x',
    plan.lang === 'c++' ? 'c++-header' : 'c-header',
    // -MD, not -MMD: the standard library's headers are inputs too.
    '-MD',
    '-MF',
    `${tmp}.d`,
    '-o',
    `${tmp}.gch`,
    `${tmp}.h`,
  ];
  try {
    await fs.writeFile(`${tmp}.h`, plan.header, { flag: 'wx', mode: 0o644 });
    const res = await runCapture(plan.compiler, args, { cwd });
    const log = `$ ${res.command}\n${res.all}[exit ${res.exitCode}]\n`;
    if (res.exitCode !== 0) return { ok: false, log };
    // The headers it read, except the temp stub: [mtime, size] as the build's stamp keeps them.
    const inputs: Record<string, FileKey> = {};
    for (const f of parseDepFile(await fs.readFile(`${tmp}.d`, 'utf8'), cwd)) {
      if (f === `${tmp}.h`) continue;
      const k = statKey(f);
      if (!k) return { ok: false, log: `${log}${f}: gone while it was read\n` };
      inputs[f] = k;
    }
    await fs.rename(`${tmp}.h`, stub);
    await fs.rename(`${tmp}.gch`, `${stub}.gch`);
    const gch = gchIdentity(`${stub}.gch`);
    if (!gch) return { ok: false, log: `${log}${stub}.gch: gone after it was written\n` };
    await writeCache('pch', plan.key, { gch, inputs } satisfies PchEntry);
    await pruneOld();
    return { ok: true, log };
  } catch (err) {
    return { ok: false, log: `precompiled header not kept: ${String(err)}\n` };
  } finally {
    for (const f of [`${tmp}.h`, `${tmp}.gch`, `${tmp}.d`]) await fs.rm(f, { force: true });
  }
}

/**
 * Keeps the KEEP newest precompiled headers; the others' files go (each entry: .json, .h, .h.gch).
 */
async function pruneOld(): Promise<void> {
  const dir = cacheDir();
  const names = await fs.readdir(dir).catch(() => [] as string[]);
  const gchs = names.filter((n) => /^pch-[0-9a-f]{16}\.h\.gch$/.test(n));
  if (gchs.length <= KEEP) return;
  const aged = gchs
    .map((n) => ({ n, t: statSync(path.join(dir, n), { throwIfNoEntry: false })?.mtimeMs ?? 0 }))
    .sort((a, b) => b.t - a.t);
  for (const { n } of aged.slice(KEEP)) {
    const base = path.join(dir, n.replace(/\.h\.gch$/, ''));
    for (const f of [`${base}.h.gch`, `${base}.h`, `${base}.json`]) await fs.rm(f, { force: true });
  }
}
