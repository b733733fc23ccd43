/**
 * What a module registers, read from its C or C++ source text: the handler
 * names it compares `r->handler` with (on 1.3, the names of its handler_rec
 * table) and the filters it registers with ap_register_output_filter /
 * ap_register_input_filter. install writes the <Location> from this, instead
 * of guessing `SetHandler NAME` from the file name (httpd's own
 * mod_example_hooks answers "example-hooks-handler"; its case filters have no
 * handler at all). A reading of text, not a compiler: names given as string
 * literals, `#define NAME "x"` or `static const char NAME[] = "x"` are found;
 * a name computed at run time is not.
 */
import { configToken } from '../httpd/config-values.js';

export interface Registrations {
  /** Handler names, in source order, without duplicates. */
  handlers: string[];
  outputFilters: string[];
  inputFilters: string[];
}

/**
 * Comments blanked out (string and character literals kept), so that a
 * comment such as mod_example_hooks' `SetHandler example-hooks-handler`
 * example or a commented-out call is never read as code. Lengths are kept.
 */
export function stripComments(src: string): string {
  let out = '';
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    const n = src[i + 1];
    if (c === '/' && n === '/') {
      const end = src.indexOf('\n', i);
      const stop = end === -1 ? src.length : end;
      out += ' '.repeat(stop - i);
      i = stop;
    } else if (c === '/' && n === '*') {
      const end = src.indexOf('*/', i + 2);
      const stop = end === -1 ? src.length : end + 2;
      // Line breaks stay: a #define after a comment must still start its line.
      out += src.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < src.length && src[j] !== c && src[j] !== '\n') j += src[j] === '\\' ? 2 : 1;
      out += src.slice(i, j + 1);
      i = j + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

const STRING = String.raw`"(?:[^"\\\n]|\\.)*"`;

/**
 * The value of one or more adjacent C string literals ("a" "b" is "ab"); undefined for anything
 * else.
 */
function literal(expr: string): string | undefined {
  const m = new RegExp(String.raw`^(?:\s*${STRING})+\s*$`).exec(expr);
  if (!m) return undefined;
  const parts = expr.match(new RegExp(STRING, 'g')) ?? [];
  return parts.map((p) => p.slice(1, -1).replace(/\\(["\\'])/g, '$1')).join('');
}

/**
 * Names bound to a string literal: `#define NAME "x"`, `[static] const char NAME[] = "x"`, `const
 * char *NAME = "x"`.
 */
function stringConstants(code: string): Map<string, string> {
  const consts = new Map<string, string>();
  const define = new RegExp(
    String.raw`^[ \t]*#[ \t]*define[ \t]+([A-Za-z_]\w*)[ \t]+((?:${STRING}[ \t]*)+)$`,
    'gm',
  );
  for (const m of code.matchAll(define)) {
    const v = literal(m[2]!);
    if (v !== undefined) consts.set(m[1]!, v);
  }
  const decl = new RegExp(
    String.raw`\bchar\b[\w\s*]*?\b([A-Za-z_]\w*)\s*(?:\[\s*\w*\s*\])?\s*=\s*((?:${STRING}\s*)+)[;,]`,
    'g',
  );
  for (const m of code.matchAll(decl)) {
    const v = literal(m[2]!);
    if (v !== undefined && !consts.has(m[1]!)) consts.set(m[1]!, v);
  }
  return consts;
}

/**
 * The arguments of the call whose `(` is at `open`, split at top-level commas; undefined when
 * unbalanced.
 */
function callArgs(code: string, open: number): string[] | undefined {
  const args: string[] = [];
  let depth = 0;
  let start = open + 1;
  for (let i = open; i < code.length; i++) {
    const c = code[i]!;
    if (c === '"' || c === "'") {
      for (i++; i < code.length && code[i] !== c; i++) if (code[i] === '\\') i++;
    } else if (c === '(' || c === '[' || c === '{') {
      depth++;
    } else if (c === ')' || c === ']' || c === '}') {
      depth--;
      if (depth === 0) {
        args.push(code.slice(start, i).trim());
        return args;
      }
    } else if (c === ',' && depth === 1) {
      args.push(code.slice(start, i).trim());
      start = i + 1;
    }
  }
  return undefined;
}

/**
 * Only names a config can give unquoted: a content type (1.3's "text/html", "*\/*") is no
 * SetHandler name.
 */
function nameable(name: string): boolean {
  try {
    configToken('name', name);
    return true;
  } catch {
    return false;
  }
}

function resolver(consts: Map<string, string>): (expr: string) => string | undefined {
  return (expr) => {
    const e = expr.replace(/^\(\s*(.*?)\s*\)$/s, '$1');
    const v = literal(e) ?? (/^[A-Za-z_]\w*$/.test(e) ? consts.get(e) : undefined);
    return v !== undefined && nameable(v) ? v : undefined;
  };
}

// The comparisons modules write; std::strcmp matches too (the \b is after ::).
const COMPARE =
  /\b(?:strcmp|strcasecmp|apr_strnatcmp|apr_strnatcasecmp|ap_cstr_casecmp|ap_casecmpstr)\s*\(/g;
/**
 * `r->handler`, `req->handler`, `(r->handler)`: the request's handler itself, not a copy of it in a
 * variable.
 */
const HANDLER_FIELD = /^\(?\s*[A-Za-z_]\w*\s*->\s*handler\s*\)?$/;
const FILTER = /\bap_register_(output|input)_filter(?:_protocol)?\s*\(/g;
const HANDLER_REC = /\bhandler_rec\s+[A-Za-z_]\w*\s*\[\s*\]\s*=\s*\{/g;

function handlerRecNames(
  code: string,
  resolve: (e: string) => string | undefined,
): Array<[number, string]> {
  const found: Array<[number, string]> = [];
  for (const m of code.matchAll(HANDLER_REC)) {
    const open = m.index + m[0].length - 1;
    const body = callArgs(code, open);
    for (const entry of body ?? []) {
      // Each entry is `{ "name", function }`; the first element names it.
      const first = /^\{\s*([^,]*),/s.exec(entry)?.[1];
      const name = first === undefined ? undefined : resolve(first);
      if (name !== undefined) found.push([m.index, name]);
    }
  }
  return found;
}

/** What the sources (their texts, in build order) register. */
export function parseRegistrations(sources: string | string[]): Registrations {
  const handlers: Array<[number, string]> = [];
  const outputFilters: Array<[number, string]> = [];
  const inputFilters: Array<[number, string]> = [];
  let offset = 0;
  for (const text of typeof sources === 'string' ? [sources] : sources) {
    const code = stripComments(text);
    const resolve = resolver(stringConstants(code));
    for (const m of code.matchAll(COMPARE)) {
      const args = callArgs(code, m.index + m[0].length - 1);
      if (!args || args.length !== 2) continue;
      const [a, b] = args as [string, string];
      const name = HANDLER_FIELD.test(a)
        ? resolve(b)
        : HANDLER_FIELD.test(b)
          ? resolve(a)
          : undefined;
      if (name !== undefined) handlers.push([offset + m.index, name]);
    }
    for (const [at, name] of handlerRecNames(code, resolve)) handlers.push([offset + at, name]);
    for (const m of code.matchAll(FILTER)) {
      const args = callArgs(code, m.index + m[0].length - 1);
      const name = args?.[0] === undefined ? undefined : resolve(args[0]);
      // A connection or network filter is added to the connection by the module itself;
      // SetOutputFilter cannot place it.
      if (name === undefined || /\bAP_FTYPE_(CONNECTION|NETWORK)\b/.test(args?.[3] ?? '')) continue;
      (m[1] === 'output' ? outputFilters : inputFilters).push([offset + m.index, name]);
    }
    offset += text.length + 1;
  }
  const ordered = (list: Array<[number, string]>) => [
    ...new Set(list.sort((x, y) => x[0] - y[0]).map(([, n]) => n)),
  ];
  return {
    handlers: ordered(handlers),
    outputFilters: ordered(outputFilters),
    inputFilters: ordered(inputFilters),
  };
}
