/**
 * A module's own compiler and linker flags, as `apxs -c` takes them
 * (-I -D -L -l -Wc, -Wl,), kept in apxs-ts-module.json so every later build
 * (and `install`, and the Makefile through apxs-ts.mk) uses them, plus the
 * environment's CFLAGS, CPPFLAGS, LDFLAGS and LIBS, which are not kept.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.js';
import { ApxsError, fileError, isErrno } from '../core/errors.js';
import { readRegular } from '../core/fs.js';
import { quoteArg } from '../core/run.js';

export interface ModuleFlags {
  /** -I DIR, relative to the module directory unless given absolute. */
  includes: string[];
  /** -D NAME[=VALUE], one per NAME. */
  defines: string[];
  /** -L DIR. */
  libDirs: string[];
  /** -l LIB (without the -l). */
  libs: string[];
  /** -Wc,FLAG: given to the compiler as they are. */
  cflags: string[];
  /** -Wl,FLAG: given to the link command. */
  ldflags: string[];
}

export const FLAG_KEYS = ['includes', 'defines', 'libDirs', 'libs', 'cflags', 'ldflags'] as const;

export const noFlags = (): ModuleFlags => ({
  includes: [],
  defines: [],
  libDirs: [],
  libs: [],
  cflags: [],
  ldflags: [],
});

/** The flags in a manifest; anything but an array of strings is an error naming the key. */
export function flagsOfManifest(m: Record<string, unknown>, file: string): ModuleFlags {
  const out = noFlags();
  for (const k of FLAG_KEYS) {
    const v = m[k];
    if (v === undefined) continue;
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
      throw new ApxsError('BAD_INPUT', `${file}: "${k}" must be an array of strings`, {
        hint: `fix it, or remove "${k}" and pass the flags to apxs-ts build again`,
      });
    }
    out[k] = v as string[];
  }
  return out;
}

export interface FlagOptions {
  include?: string[];
  define?: string[];
  libDir?: string[];
  lib?: string[];
  /** The values of -W: "c,FLAG" or "l,FLAG". */
  W?: string[];
}

const bad = (what: string, hint: string) => new ApxsError('USAGE', what, { hint });

/**
 * The flags given on one command line. Directories are kept relative to
 * the module directory (as the compiler runs there), from wherever they were typed.
 */
export function flagsOfOptions(
  o: FlagOptions,
  cwd: string,
  moduleDir: string,
): Partial<ModuleFlags> {
  const dir = (d: string) =>
    path.isAbsolute(d) ? d : path.relative(moduleDir, path.resolve(cwd, d)) || '.';
  const out: Partial<ModuleFlags> = {};
  for (const v of [
    ...(o.include ?? []),
    ...(o.define ?? []),
    ...(o.libDir ?? []),
    ...(o.lib ?? []),
    ...(o.W ?? []),
  ]) {
    if (/[\n\r\0]/.test(v) || v === '')
      throw bad(`bad flag value ${JSON.stringify(v)}`, 'flags are single words without newlines');
  }
  if (o.include?.length) out.includes = o.include.map(dir);
  if (o.libDir?.length) out.libDirs = o.libDir.map(dir);
  if (o.define?.length) {
    out.defines = o.define.map((d) => {
      if (!/^[A-Za-z_]\w*(=|$)/.test(d))
        throw bad(
          `bad -D ${JSON.stringify(d)}: a macro name comes first`,
          `-D NAME or -D NAME=VALUE, e.g. -D GREETING='"hi"'`,
        );
      return d;
    });
  }
  if (o.lib?.length) out.libs = o.lib.map((l) => l.replace(/^-l/, ''));
  for (const w of o.W ?? []) {
    const m = /^([cl]),(.+)$/s.exec(w);
    if (!m)
      throw bad(
        `bad -W${w}: -Wc,FLAG passes FLAG to the compiler, -Wl,FLAG to the linker`,
        'e.g. -Wc,-O0 or -Wl,-z,defs',
      );
    if (m[1] === 'c') out.cflags = [...(out.cflags ?? []), m[2]!];
    // "-Wl,-z,defs" means what it means to gcc: a comma-separated flag is the linker's own.
    else
      out.ldflags = [
        ...(out.ldflags ?? []),
        m[2]!.includes(',') && !m[2]!.startsWith('-Wl,') ? `-Wl,${m[2]!}` : m[2]!,
      ];
  }
  return out;
}

const defineName = (d: string) => d.split('=')[0]!;

/**
 * Saved flags with new ones added: a -D replaces the saved one of its name; the rest is appended
 * once.
 */
export function mergeFlags(saved: ModuleFlags, add: Partial<ModuleFlags>): ModuleFlags {
  const out = noFlags();
  for (const k of FLAG_KEYS) {
    const extra = add[k] ?? [];
    const kept =
      k === 'defines'
        ? saved.defines.filter((d) => !extra.some((e) => defineName(e) === defineName(d)))
        : saved[k].filter((v) => !extra.includes(v));
    out[k] = [...kept, ...extra.filter((v, i) => extra.indexOf(v) === i)];
  }
  return out;
}

/**
 * Writes the flags (and nothing else) into apxs-ts-module.json, keeping every other key; false when
 * nothing changed.
 */
export async function saveFlags(manifestFile: string, flags: ModuleFlags): Promise<boolean> {
  let manifest: Record<string, unknown> = {};
  try {
    manifest = JSON.parse(await fs.readFile(manifestFile, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    if (!isErrno(err, 'ENOENT')) throw err;
  }
  const next: Record<string, unknown> = { ...manifest };
  for (const k of FLAG_KEYS) {
    if (flags[k].length) next[k] = flags[k];
    else delete next[k];
  }
  if (JSON.stringify(next) === JSON.stringify(manifest)) return false;
  await writeFileAtomic(manifestFile, `${JSON.stringify(next, null, 2)}\n`);
  return true;
}

/** What a compile and a link are given beyond the target's own flags, in apxs's order. */
export interface FlagWords {
  /** After the toolchain's flags: -I, -D, -Wc, then $CPPFLAGS and $CFLAGS (or $CXXFLAGS). */
  compile: (cxx: boolean) => string[];
  /** Before the objects: -L, -Wl, $LDFLAGS. */
  link: string[];
  /** After the objects: -l, $LIBS. */
  libs: string[];
}

const words = (s: string | undefined) => (s ?? '').split(/\s+/).filter(Boolean);

export function flagWords(f: ModuleFlags, env: NodeJS.ProcessEnv): FlagWords {
  const own = [...f.includes.map((d) => `-I${d}`), ...f.defines.map((d) => `-D${d}`), ...f.cflags];
  return {
    // C++ takes $CXXFLAGS; a developer who set only $CFLAGS (-O0 -g) means it for both.
    compile: (cxx) => [
      ...own,
      ...words(env.CPPFLAGS),
      ...(cxx && env.CXXFLAGS !== undefined ? words(env.CXXFLAGS) : words(env.CFLAGS)),
    ],
    link: [...f.libDirs.map((d) => `-L${d}`), ...f.ldflags, ...words(env.LDFLAGS)],
    libs: [...f.libs.map((l) => `-l${l}`), ...words(env.LIBS)],
  };
}

/** A word in a make variable that make hands to sh: quoted for sh, $ and # escaped for make. */
const mkWord = (w: string) => quoteArg(w).replace(/\$/g, '$$$$').replace(/#/g, '\\#');
const mkLine = (name: string, ws: string[]) =>
  `${name} =${ws.map((w) => ` ${mkWord(w)}`).join('')}\n`;

/** apxs-ts.mk: the saved flags for the Makefile `new` writes (it includes this file). */
export function renderMk(f: ModuleFlags, sources: string[] | undefined): string {
  return (
    '# Written by apxs-ts build from apxs-ts-module.json; edit the flags with\n' +
    '# apxs-ts build -I DIR -D NAME=VALUE -L DIR -l LIB -Wc,FLAG -Wl,FLAG ' +
    '(--reset-flags to start over).\n' +
    mkLine('APXS_TS_SOURCES', sources ?? []) +
    mkLine('APXS_TS_CFLAGS', [
      ...f.includes.map((d) => `-I${d}`),
      ...f.defines.map((d) => `-D${d}`),
      ...f.cflags,
    ]) +
    mkLine('APXS_TS_LDFLAGS', [...f.libDirs.map((d) => `-L${d}`), ...f.ldflags]) +
    mkLine(
      'APXS_TS_LIBS',
      f.libs.map((l) => `-l${l}`),
    )
  );
}

/**
 * Keeps apxs-ts.mk in step with the flags, when the module's Makefile
 * includes it (or it is there already); written only when its text changes,
 * so make does not rebuild for nothing.
 */
export async function syncMk(
  dir: string,
  f: ModuleFlags,
  sources: string[] | undefined,
): Promise<void> {
  const text = await mkToWrite(dir, f, sources);
  // Its own name replaced, never a link's target: a cloned project could point apxs-ts.mk anywhere.
  if (text !== undefined)
    await writeFileAtomic(path.join(dir, 'apxs-ts.mk'), text, { replaceName: true });
}

/** What syncMk would write in `dir`'s apxs-ts.mk; undefined when it would write nothing. */
export async function mkToWrite(
  dir: string,
  f: ModuleFlags,
  sources: string[] | undefined,
): Promise<string | undefined> {
  // Regular files only (O_NONBLOCK): a cloned project's link to a FIFO or /dev/zero would hang
  // the build. A missing apxs-ts.mk is none yet; any other failure to read it is said.
  const mkFile = path.join(dir, 'apxs-ts.mk');
  const current = await readRegular(mkFile)
    .then((b) => b.toString('utf8'))
    .catch((err: unknown) => {
      if (isErrno(err, 'ENOENT')) return undefined;
      throw err instanceof ApxsError ? err : (fileError(mkFile, err) ?? err);
    });
  const makefile = await readRegular(path.join(dir, 'Makefile'))
    .then((b) => b.toString('utf8'))
    .catch(() => '');
  if (current === undefined && !makefile.includes('apxs-ts.mk')) return undefined;
  const text = renderMk(f, sources);
  return text !== current ? text : undefined;
}
