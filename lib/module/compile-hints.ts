/**
 * The `#include` a compile error is missing. gcc and g++ name the identifier
 * they do not know ("'APLOG_MARK' undeclared", "'ap_rputs' was not declared
 * in this scope", "implicit declaration of function 'ap_set_content_type'",
 * "unknown type name 'request_rec'"); the header that declares it is found
 * by reading the target's own include directories (the toolchain's
 * INCLUDEDIR and EXTRA_INCLUDES), so the answer is right for the series and
 * the layout being built against (1.3's ap_rputs is in http_protocol.h as
 * 2.4's is, APLOG_MARK in http_log.h, apr_table_do in apr_tables.h), with no
 * list written by hand.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ApxsError } from '../core/errors.js';
import { escapeRegExp } from '../core/fs.js';

/** An identifier the compiler did not know, where it said so. */
export interface Undeclared {
  name: string;
  file?: string;
  line?: number;
}

const Q = `['‘\`]`;
const Q_END = `['’]`;
/** gcc (C) and g++ (C++) messages that name an identifier no header in scope declared. */
const UNDECLARED = [
  new RegExp(`${Q}([A-Za-z_]\\w*)${Q_END} undeclared`),
  new RegExp(`${Q}([A-Za-z_]\\w*)${Q_END} was not declared in this scope`),
  new RegExp(`implicit declaration of function ${Q}([A-Za-z_]\\w*)${Q_END}`),
  new RegExp(`unknown type name ${Q}([A-Za-z_]\\w*)${Q_END}`),
  new RegExp(`${Q}([A-Za-z_]\\w*)${Q_END} does not name a type`),
  new RegExp(`${Q}([A-Za-z_]\\w*)${Q_END} has not been declared`),
];

/** Each identifier once, in the order the compiler first named it. */
export function undeclaredIdentifiers(output: string): Undeclared[] {
  const seen = new Map<string, Undeclared>();
  for (const l of output.split('\n')) {
    for (const re of UNDECLARED) {
      const m = re.exec(l);
      if (!m || seen.has(m[1]!)) continue;
      const at = /^(.+?):(\d+):(?:\d+:)?\s/.exec(l);
      seen.set(m[1]!, { name: m[1]!, ...(at ? { file: at[1]!, line: Number(at[2]) } : {}) });
    }
  }
  return [...seen.values()];
}

/**
 * How surely a header's text declares `name`: 0 not at all, then a use in a
 * declaring position, ranked so that the defining header wins over one that
 * only mentions it: a macro, a typedef or struct, a function declaration.
 */
export function declarationRank(text: string, name: string): number {
  const n = escapeRegExp(name);
  if (!new RegExp(`\\b${n}\\b`).test(text)) return 0;
  if (new RegExp(`^[ \\t]*#[ \\t]*define[ \\t]+${n}\\b`, 'm').test(text)) return 3;
  if (
    new RegExp(
      `typedef\\b[^;{]*\\b${n}[ \\t]*;|\\}[ \\t]*${n}[ \\t]*;|^[ \\t]*(?:typedef[ ` +
        `\\t]+)?(?:struct|union|enum)[ \\t]+${n}\\b[^;]*\\{`,
      'm',
    ).test(text)
  )
    return 3;
  // AP_DECLARE(int) ap_rputs( API_EXPORT(int) ap_rputs( static APR_INLINE int ap_rputs(
  // APR_DECLARE_NONSTD(int) apr_table_do(
  const decl = new RegExp(
    `^[ \\t]*(?!return\\b)(?:[A-Za-z_][\\w]*(?:\\([^()]*\\))?[ \\t*]+)+\\(?\\*?${n}\\)?[ \\t]*\\(`,
    'm',
  );
  if (decl.test(text)) return 2;
  return 0;
}

/** The headers of an include directory (its own files, not its subdirectories), with their text. */
async function headersOf(dir: string): Promise<{ file: string; text: string }[]> {
  const names = await fs.readdir(dir).catch((): string[] => []);
  const hs = names.filter((f) => f.endsWith('.h')).sort();
  return Promise.all(
    hs.map(async (f) => ({
      file: path.join(dir, f),
      text: await fs.readFile(path.join(dir, f), 'utf8').catch(() => ''),
    })),
  );
}

/** A header to include, with what it declares of what the compiler missed. */
export interface IncludeAdvice {
  header: string;
  /** Its path, in which include directory. */
  path: string;
  declares: string[];
}

/**
 * For each identifier, the header of the include directories that declares
 * it (the surest declaration; on a tie the first directory, as the compiler
 * searches them); grouped by header, in the compiler's order of the names.
 * Identifiers no header declares (a typo, the module's own) are left out.
 */
export async function includesFor(
  names: string[],
  includeDirs: string[],
): Promise<IncludeAdvice[]> {
  if (names.length === 0) return [];
  const dirs = [...new Set(includeDirs.map((d) => path.resolve(d)))];
  const headers = (await Promise.all(dirs.map(headersOf))).flat();
  const byHeader = new Map<string, IncludeAdvice>();
  for (const name of names) {
    let best: { file: string; rank: number } | undefined;
    for (const h of headers) {
      const rank = declarationRank(h.text, name);
      if (rank > (best?.rank ?? 0)) best = { file: h.file, rank };
    }
    if (!best) continue;
    const header = path.basename(best.file);
    const a = byHeader.get(header) ?? { header, path: best.file, declares: [] };
    a.declares.push(name);
    byHeader.set(header, a);
  }
  return [...byHeader.values()];
}

/** One line per header: `add #include "http_log.h" (declares APLOG_MARK, APLOG_ERR)`. */
export function includeHint(advice: IncludeAdvice[]): string | undefined {
  if (advice.length === 0) return undefined;
  return advice
    .map((a) => `add #include "${a.header}" (${a.path}: declares ${a.declares.join(', ')})`)
    .join('; ');
}

/**
 * The hint for a compiler's output, from the target's include directories; undefined when it names
 * nothing they declare.
 */
export async function compileErrorHint(
  output: string,
  includeDirs: string[],
  cwd = process.cwd(),
): Promise<{ hint: string; includes: IncludeAdvice[] } | undefined> {
  const missing = undeclaredIdentifiers(output);
  const found = await includesFor(
    missing.map((u) => u.name),
    includeDirs,
  );
  // A header the source already includes is not the fix (the name is then hidden by a condition, or
  // misspelt).
  const sources = new Map<string, string>();
  for (const f of new Set(missing.map((u) => u.file).filter((f): f is string => !!f))) {
    sources.set(f, await fs.readFile(path.resolve(cwd, f), 'utf8').catch(() => ''));
  }
  const includes = found
    .map((a) => ({
      ...a,
      declares: a.declares.filter((name) => {
        const src = sources.get(missing.find((u) => u.name === name)?.file ?? '');
        return (
          !src ||
          !new RegExp(
            `^[ \\t]*#[ \\t]*include[ \\t]*[<"](?:[^">]*/)?${escapeRegExp(a.header)}[">]`,
            'm',
          ).test(src)
        );
      }),
    }))
    .filter((a) => a.declares.length > 0);
  const hint = includeHint(includes);
  return hint ? { hint, includes } : undefined;
}

/** A compile failure with the `#include` its errors miss as its hint. */
export async function withIncludeHint(
  err: ApxsError,
  output: string,
  includeDirs: string[],
  cwd: string,
): Promise<ApxsError> {
  const found = await compileErrorHint(output, includeDirs, cwd).catch(() => undefined);
  if (!found) return err;
  return new ApxsError(err.code, err.message, {
    hint: err.hint ? `${found.hint}; ${err.hint}` : found.hint,
    details: err.details,
    cause: err.cause,
    data: { ...err.data, includes: found.includes },
  });
}
