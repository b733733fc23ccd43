/**
 * The include directories a hand-written Makefile needs for its target httpd.
 * A Makefile that compiles with gcc/g++ directly (the blog's C++ Makefile)
 * must name with -I every directory the target's headers live in: INCLUDEDIR
 * and EXTRA_INCLUDES (Debian needs /usr/include/apr-1.0 beside
 * /usr/include/apache2, since apr.h is there). A Makefile that goes through
 * apxs, or includes apxs-ts.mk, gets them from apxs and is left alone.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { resolveServerRootPath, requireServerRoot } from '../httpd/server-root.js';
import { toolchainForServer } from './toolchain.js';

export interface IncludeCheck {
  /**
   * The Makefile gets its flags from apxs / apxs-ts.mk, or compiles no C/C++ at all: nothing to
   * say.
   */
  viaApxs: boolean;
  /** -I directories the Makefile names, with the line of their first mention. */
  present: { dir: string; line: number }[];
  /** -I directories it names that do not exist (placeholders such as /path/to/apache22/include). */
  missingOnDisk: { dir: string; line: number }[];
  /** Directories the target needs that the Makefile does not name. */
  lacking: string[];
}

const INCLUDE_FLAG = /(^|\s)-I\s*([^\s$()]+)/g;

export function checkMakefileIncludes(text: string, needed: string[], cwd: string): IncludeCheck {
  const code = text.replace(/^\s*#.*$/gm, '');
  const compiles =
    /\b(gcc|g\+\+|clang|clang\+\+|cc|c\+\+)\b|\$[({](CC|CXX)[)}]|\.(c|cc|cpp|cxx)\b|(^|\s)-I/m.test(
      code,
    );
  const viaApxs = !compiles || /\bapxs\b|apxs-ts\.mk/.test(code);
  const present: IncludeCheck['present'] = [];
  text.split('\n').forEach((l, i) => {
    if (/^\s*#/.test(l)) return;
    for (const m of l.matchAll(INCLUDE_FLAG)) present.push({ dir: m[2]!, line: i + 1 });
  });
  const abs = (d: string) => path.resolve(cwd, d).replace(/\/+$/, '');
  const have = new Set(present.map((p) => abs(p.dir)));
  const lacking = viaApxs ? [] : [...new Set(needed.map(abs))].filter((d) => !have.has(d));
  const missingOnDisk = viaApxs ? [] : present.filter((p) => !existsSync(abs(p.dir)));
  return { viaApxs, present, missingOnDisk, lacking };
}

/**
 * The Makefile with its include flags fixed: each -I of a directory that does
 * not exist dropped, the lacking ones added where the first -I was (on that
 * line), or, when there was none, as `CPPFLAGS +=` and `CXXFLAGS +=`/`CFLAGS +=`
 * lines at the top (make's built-in rules and most recipes use them).
 * Undefined when there is nothing to change.
 */
export function fixMakefileIncludes(text: string, check: IncludeCheck): string | undefined {
  if (check.viaApxs || (check.lacking.length === 0 && check.missingOnDisk.length === 0))
    return undefined;
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const lines = text.split(eol);
  const gone = new Set(check.missingOnDisk.map((m) => m.dir));
  const add = check.lacking.map((d) => `-I${d}`).join(' ');
  const first = check.present[0];
  for (const ln of new Set(check.missingOnDisk.map((m) => m.line))) {
    lines[ln - 1] = lines[ln - 1]!.replace(INCLUDE_FLAG, (all, pre: string, dir: string) =>
      gone.has(dir) ? pre : all,
    ).replace(/[ \t]+$/, '');
  }
  if (!add) return lines.join(eol);
  if (first) {
    lines[first.line - 1] = `${lines[first.line - 1]!.replace(/[ \t]+$/, '')} ${add}`;
  } else {
    lines.unshift(
      `# include directories of the target httpd (apxs-ts makefile fix --includes)`,
      `CPPFLAGS += ${add}`,
      `CFLAGS += ${add}`,
      `CXXFLAGS += ${add}`,
    );
  }
  return lines.join(eol);
}

/**
 * The include directories of the target: the server root given (option,
 * environment, apxs-ts.json) or, with none, the system's apxs. Undefined
 * when there is no toolchain to ask (no apxs installed).
 */
export async function targetIncludeDirs(
  serverRoot: string | undefined,
  cwd: string,
): Promise<{ dirs: string[]; serverRoot: string | undefined } | undefined> {
  const p = await resolveServerRootPath(serverRoot, cwd);
  const sr = p ? await requireServerRoot(p, cwd) : undefined;
  const tc = await toolchainForServer(sr).catch(() => undefined);
  return tc && { dirs: [...new Set(tc.includeDirs)], serverRoot: sr?.root };
}
