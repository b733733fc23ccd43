/**
 * Says why a module's symbol is undefined and what to do, for the
 * UNDEFINED_SYMBOL error: an httpd function or macro whose header the source
 * does not include (C then takes it for an external function, which 2.4's
 * inline ap_rputs is not), a typo, or a library not linked. Runs only when
 * the check found something, so it may read headers and spawn c++filt.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ApxsError } from '../core/errors.js';
import { escapeRegExp } from '../core/fs.js';
import { runCapture } from '../core/run.js';
import { parseDepFile } from './stamp.js';
import type { ModuleProject } from './project.js';
import type { SymbolCheck } from './symbols.js';
import type { ModuleApi } from './toolchain.js';

/**
 * Where the functions and macros modules use most are declared, per module API; the target's
 * headers answer for the rest.
 */
const KNOWN: Record<
  string,
  Partial<Record<ModuleApi, string>> & { note?: Partial<Record<ModuleApi, string>> }
> = {
  ap_rputs: { '1.3': 'http_protocol.h', '2': 'http_protocol.h' },
  ap_rputc: { '1.3': 'http_protocol.h', '2': 'http_protocol.h' },
  ap_rprintf: { '1.3': 'http_protocol.h', '2': 'http_protocol.h' },
  ap_rvputs: { '1.3': 'http_protocol.h', '2': 'http_protocol.h' },
  ap_rwrite: { '1.3': 'http_protocol.h', '2': 'http_protocol.h' },
  ap_rflush: { '1.3': 'http_protocol.h', '2': 'http_protocol.h' },
  ap_set_content_type: {
    '2': 'http_protocol.h',
    note: { '1.3': 'Apache 1.3 has no ap_set_content_type: set r->content_type' },
  },
  ap_send_http_header: {
    '1.3': 'http_protocol.h',
    note: {
      '2':
        "ap_send_http_header is Apache 1.3's: httpd 2.x sends " +
        'the headers with the first output, so drop the call',
    },
  },
  ap_log_rerror: { '1.3': 'http_log.h', '2': 'http_log.h' },
  ap_log_error: { '1.3': 'http_log.h', '2': 'http_log.h' },
  ap_log_cerror: { '2': 'http_log.h' },
  ap_log_perror: { '2': 'http_log.h' },
  ap_get_module_config: { '1.3': 'http_config.h', '2': 'http_config.h' },
  ap_set_module_config: { '1.3': 'http_config.h', '2': 'http_config.h' },
};

export interface Diagnosis {
  symbol: string;
  /** The header declaring it, when known. */
  header?: string;
  /** True when no file the module compiled includes that header. */
  notIncluded?: boolean;
  /** A close name httpd or its headers have (a typo). */
  didYouMean?: string;
  note: string;
}

async function headersIn(dirs: string[]): Promise<{ file: string; text: string }[]> {
  const out: { file: string; text: string }[] = [];
  for (const dir of [...new Set(dirs)]) {
    const names = (await fs.readdir(dir).catch(() => [] as string[]))
      .filter((f) => f.endsWith('.h'))
      .sort();
    out.push(
      ...(await Promise.all(
        names.map(async (f) => ({
          file: f,
          text: await fs.readFile(path.join(dir, f), 'utf8').catch(() => ''),
        })),
      )),
    );
  }
  return out;
}

/** The header declaring `name` as a function, an inline function, a macro or a hook. */
function declaringHeader(
  name: string,
  headers: { file: string; text: string }[],
): string | undefined {
  const n = escapeRegExp(name);
  const hook = /^ap_(hook|run)_(\w+)$/.exec(name);
  const patterns = [
    new RegExp(`^\\s*#\\s*define\\s+${n}\\b`, 'm'),
    new RegExp(
      '\\b(AP_DECLARE\\w*|AP_CORE_DECLARE\\w*|API_EXPORT\\w*|APR_DECLARE\\w*|APU_DECLARE\\w*|' +
        `APR_INLINE|extern)\\b[^;{}#]*?\\b${n}\\s*\\(`,
    ),
    ...(hook
      ? [
          new RegExp(
            '(AP_DECLARE_HOOK|APR_DECLARE_EXTERNAL_HOOK)\\s*\\([^)]*?\\b' +
              `${escapeRegExp(hook[2]!)}\\s*,`,
          ),
        ]
      : []),
  ];
  return headers.find((h) => patterns.some((p) => p.test(h.text)))?.file;
}

/**
 * Headers the module's sources include, as the compiler's -MMD files list them (and their
 * own #include lines).
 */
async function includedHeaders(project: ModuleProject): Promise<Set<string>> {
  const out = new Set<string>();
  for (const src of project.sources) {
    const dep = await fs
      .readFile(path.join(project.dir, '.apxs-ts', 'obj', `${src}.d`), 'utf8')
      .catch(() => '');
    for (const d of parseDepFile(dep, project.dir)) out.add(path.basename(d));
    const text = await fs.readFile(path.join(project.dir, src), 'utf8').catch(() => '');
    for (const m of text.matchAll(/^\s*#\s*include\s*[<"]([^>"]+)[>"]/gm))
      out.add(path.basename(m[1]!));
  }
  return out;
}

/**
 * True when the module's own files declare it (a prototype or an extern): it means it to come from
 * elsewhere at run time.
 */
async function declaredByModule(project: ModuleProject, name: string): Promise<boolean> {
  const dirs = new Set(project.sources.map((s) => path.dirname(path.join(project.dir, s))));
  const files = [...project.sources.map((s) => path.join(project.dir, s))];
  for (const d of dirs)
    for (const f of await fs.readdir(d).catch(() => [] as string[]))
      if (/\.(h|hh|hpp|hxx)$/.test(f)) files.push(path.join(d, f));
  const n = escapeRegExp(name);
  const fn = new RegExp(
    '^\\s*(?!return\\b|else\\b|case\\b|goto\\b|sizeof\\b|throw\\b)' +
      `(extern\\s+("C"\\s+)?)?[A-Za-z_][\\w\\s*]*[\\s*]${n}\\s*\\([^;{]*\\)\\s*;`,
    'm',
  );
  const variable = new RegExp(`^\\s*extern\\s+[^;(]*\\b${n}\\s*(\\[[^\\]]*\\])?\\s*;`, 'm');
  for (const f of files) {
    const text = await fs.readFile(f, 'utf8').catch(() => '');
    if (fn.test(text) || variable.test(text)) return true;
  }
  return false;
}

function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i]![j] = Math.min(
        d[i - 1]![j]! + 1,
        d[i]![j - 1]! + 1,
        d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
  }
  return d[a.length]![b.length]!;
}

function closest(name: string, pool: Iterable<string>): string | undefined {
  let best: [string, number] | undefined;
  for (const c of pool) {
    if (c === name || Math.abs(c.length - name.length) > 2 || c.slice(0, 3) !== name.slice(0, 3))
      continue;
    const d = distance(name, c);
    if (d <= 2 && (!best || d < best[1])) best = [c, d];
  }
  return best?.[0];
}

/** C++ names as the developer wrote them (c++filt), for messages. */
async function demangle(names: string[]): Promise<Map<string, string>> {
  const mangled = names.filter((n) => n.startsWith('_Z'));
  if (mangled.length === 0) return new Map();
  const res = await runCapture('c++filt', mangled).catch(() => undefined);
  const lines = res?.exitCode === 0 ? res.stdout.split('\n') : [];
  return new Map(mangled.map((m, i) => [m, lines[i] || m]));
}

export interface DiagnoseInput {
  project: ModuleProject;
  check: SymbolCheck;
  api: ModuleApi;
  includeDirs: string[];
  /** Everything httpd and its libraries define, for "did you mean". */
  provided: string[];
}

/**
 * Each unresolved symbol with what to do; `expected` are those the module declares itself (they may
 * come from a LoadFile).
 */
export async function diagnose(
  input: DiagnoseInput,
): Promise<{ fatal: Diagnosis[]; expected: Diagnosis[] }> {
  const { project, check, api } = input;
  const headers = await headersIn(input.includeDirs);
  const included = await includedHeaders(project);
  const pretty = await demangle(check.unresolved);
  let words: Set<string> | undefined;
  const fatal: Diagnosis[] = [];
  const expected: Diagnosis[] = [];
  for (const symbol of check.unresolved) {
    const shown = pretty.get(symbol) ?? symbol;
    const base = /([A-Za-z_]\w*)\s*(\(|$)/.exec(shown.replace(/<.*>/g, ''))?.[1] ?? symbol;
    if (await declaredByModule(project, base)) {
      expected.push({
        symbol: shown,
        note:
          `${shown}: declared by the module, provided by nothing httpd loads: ` +
          'it must come from a LoadFile or a module loaded before it',
      });
      continue;
    }
    const known = KNOWN[base];
    const header =
      known?.[api] ?? (known?.note?.[api] ? undefined : declaringHeader(base, headers));
    const d: Diagnosis = { symbol: shown, note: '' };
    if (known?.note?.[api]) {
      d.note = `${shown}: ${known.note[api]}`;
    } else if (header) {
      d.header = header;
      d.notIncluded = !included.has(header);
      d.note = d.notIncluded
        ? `${shown} is declared in ${header}, which the module ` +
          `does not include: add #include "${header}"`
        : `${shown} is declared in ${header}, but ` +
          `${api === '1.3' ? 'this Apache 1.3' : 'this httpd'} does ` +
          'not export it';
    } else {
      // The functions modules use most come first: on a tie (ap_rputz: ap_rputs or ap_rputc) the
      // first wins.
      words ??= new Set([
        ...Object.keys(KNOWN),
        ...input.provided,
        ...headers.flatMap((h) => h.text.match(/\b[A-Za-z_]\w{2,}\b/g) ?? []),
      ]);
      d.didYouMean = closest(base, words);
      const where =
        d.didYouMean && (KNOWN[d.didYouMean]?.[api] ?? declaringHeader(d.didYouMean, headers));
      if (where && !included.has(where))
        d.didYouMean += ` (declared in ${where}: #include "${where}")`;
      d.note = d.didYouMean
        ? `${shown}: no such function in httpd or the libraries ` +
          `it loads; did you mean ${d.didYouMean}?`
        : `${shown}: not provided by httpd or the libraries it loads; ` +
          'if a library has it, link it with -l NAME (and -L DIR)';
    }
    fatal.push(d);
  }
  return { fatal, expected };
}

export function undefinedSymbolError(
  so: string,
  fatal: Diagnosis[],
  rtDescribe: string,
  missingLibs: string[],
  warnings: string[],
): ApxsError {
  const first = fatal[0];
  if (!first) {
    return new ApxsError(
      'LIBRARY_NOT_FOUND',
      `${path.basename(so)} needs ${missingLibs.join(', ')}, ` +
        `which the loader will not find as ${rtDescribe} runs`,
      {
        hint:
          'link it with -Wl,-rpath,DIR (DIR: where the library is), ' +
          "or add DIR to LD_LIBRARY_PATH in the server's envvars",
        data: { symbols: [], missingLibs },
      },
    );
  }
  const names = fatal.map((d) => d.symbol);
  const hint = first.notIncluded
    ? `add #include "${first.header}" to ${fatal.length > 1 ? 'the sources' : 'the source'} ` +
      `(without it, C takes ${first.symbol} for an external function)`
    : first.didYouMean
      ? `did you mean ${first.didYouMean}?`
      : first.note.replace(/^[^:]*: /, '');
  return new ApxsError(
    'UNDEFINED_SYMBOL',
    `${path.basename(so)} needs ${names.join(', ')}, which neither ` +
      `${rtDescribe} nor the libraries it loads provide`,
    {
      hint,
      // The compiler's warnings say the same from its side (implicit declaration of ...).
      details: [
        ...fatal.map((d) => d.note),
        ...missingLibs.map(
          (l) => `${l}: needed by the module, not found by the loader as httpd runs`,
        ),
        ...(warnings.length ? ['compiler warnings:', ...warnings.map((w) => `  ${w}`)] : []),
      ],
      data: { symbols: fatal, missingLibs },
    },
  );
}
