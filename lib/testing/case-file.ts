/**
 * The case file of `apxs-ts test`: YAML a module author writes without
 * reading code. Pure: text in, a CaseFile out, or every mistake in it as
 * `file:line: what` (BAD_CASE_FILE, exit 2). The `yaml` package parses;
 * this walks its nodes (not the plain JS value) so each error names the
 * line of the key or value that is wrong, and unknown keys are errors (a
 * typo such as `stauts:` must not make a case pass by asserting nothing).
 *
 *   config: |                     # added to the server config (optional)
 *     <Location /hello> ... </Location>
 *   vhosts:                       # name-based virtual hosts (optional)
 *     - name: one.test
 *       config: "..."
 *   cases:
 *     - name: says hello
 *       request: { method: GET, path: /hello, host: one.test, headers: {X-A: b},
 *                  body: "...", timeoutMs: 30000 }
 *       expect:
 *         status: 200
 *         headers: { Content-Type: { contains: text/plain } }
 *         body: "Hello\n"         # or { equals | contains | matches: ... }, or a list of them
 *         errorLog: [handling declined, { matches: "AH\\d+" }]
 *         noErrorLog: [segfault]
 *         waitMs: 2000            # how long errorLog lines are waited for
 */
import {
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  parseDocument,
  type Node as YamlNode,
  type Pair,
  type YAMLMap,
} from 'yaml';
import v8 from 'node:v8';
import { ApxsError } from '../core/errors.js';

/** One expectation on a text: the whole text, a part of it, or a regular expression. */
export type Matcher = { equals: string } | { contains: string } | { matches: RegExp };

export interface CaseRequest {
  method: string;
  path: string;
  host: string | undefined;
  headers: Record<string, string>;
  body: string | undefined;
  /**
   * The whole exchange's deadline (default 30 s): a module that never answers, or drips, fails the
   * case then.
   */
  timeoutMs?: number;
}

export interface CaseExpect {
  status: number | undefined;
  /** Lower-cased header name -> what its value must satisfy; null: the header must be absent. */
  headers: Record<string, Matcher | null>;
  body: Matcher[];
  errorLog: Matcher[];
  noErrorLog: Matcher[];
  waitMs: number;
}

export interface TestCase {
  name: string;
  /** file:line of the case, for reports. */
  where: string;
  request: CaseRequest;
  expect: CaseExpect;
}

export interface VhostSpec {
  name: string;
  config: string;
  where: string;
}

export interface CaseFile {
  file: string;
  config: string;
  vhosts: VhostSpec[];
  cases: TestCase[];
}

export const DEFAULT_WAIT_MS = 2000;
const MAX_WAIT_MS = 60_000;
const MAX_TIMEOUT_MS = 600_000;
const METHOD = /^[A-Z][A-Z-]{0,31}$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const HOST = /^[A-Za-z0-9.-]{1,253}(?::\d{1,5})?$/;
/**
 * What node's http sends in a header value (tab, printable ASCII, Latin-1): anything else it throws
 * on mid-run.
 */
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
/** What node's http sends as a path (no space, no control character, Latin-1 at most). */
const PATH = /^\/[\x21-\x7e\x80-\xff]*$/;

class Collector {
  readonly errors: string[] = [];
  constructor(
    readonly file: string,
    private readonly lc: LineCounter,
  ) {}
  line(node: YamlNode | Pair | null | undefined): number {
    const n =
      node && 'range' in node
        ? node
        : node && 'key' in node
          ? (node.key as YamlNode | null)
          : undefined;
    const off = n?.range?.[0];
    return off === undefined ? 1 : this.lc.linePos(off).line;
  }
  at(node: YamlNode | Pair | null | undefined): string {
    return `${this.file}:${this.line(node)}`;
  }
  error(node: YamlNode | Pair | null | undefined, msg: string): undefined {
    this.errors.push(`${this.at(node)}: ${msg}`);
    return undefined;
  }
}

type Fields = Map<string, { pair: Pair; value: YamlNode | null }>;

/**
 * A map's entries by key, each key checked against `allowed` (an unknown or repeated key is an
 * error).
 */
function fields(
  c: Collector,
  node: YamlNode | null,
  what: string,
  allowed: readonly string[] | 'any',
): Fields | undefined {
  if (!isMap(node)) return c.error(node, `${what} must be a mapping (key: value)`);
  const out: Fields = new Map();
  for (const pair of (node as YAMLMap).items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
    if (key === undefined) {
      c.error(pair, `${what}: keys must be plain words`);
      continue;
    }
    if (allowed !== 'any' && !allowed.includes(key)) {
      c.error(pair, `unknown key "${key}" in ${what} (known: ${allowed.join(', ')})`);
      continue;
    }
    if (out.has(key)) {
      c.error(pair, `"${key}" given twice in ${what}`);
      continue;
    }
    out.set(key, { pair, value: pair.value as YamlNode | null });
  }
  return out;
}

function text(c: Collector, node: YamlNode | null, what: string): string | undefined {
  if (
    isScalar(node) &&
    (typeof node.value === 'string' ||
      typeof node.value === 'number' ||
      typeof node.value === 'boolean')
  )
    return String(node.value);
  return c.error(node, `${what} must be a text`);
}

function int(
  c: Collector,
  node: YamlNode | null,
  what: string,
  min: number,
  max: number,
): number | undefined {
  const v = isScalar(node) ? node.value : undefined;
  if (typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max) return v;
  return c.error(
    node,
    `${what} must be a whole number from ${min} to ${max}, not ` +
      `${isScalar(node) ? JSON.stringify(node.value) : 'a list or mapping'}`,
  );
}

/*
 * A `matches` runs against what a module sends and logs: a backtracking
 * regular expression such as (a+)+$ takes exponential time on some texts,
 * and blocks the whole run (Ctrl-C included) while it does. So every one
 * is compiled for V8's linear-time engine (the `l` flag); one that engine
 * cannot run (a backreference, a lookahead or lookbehind) is a mistake in
 * the case file. The engine is behind a V8 flag, set here once, before any
 * such expression is made.
 */
v8.setFlagsFromString('--enable-experimental-regexp-engine');

function regex(c: Collector, node: YamlNode | null, source: string): RegExp | undefined {
  try {
    new RegExp(source, 'm');
  } catch (err) {
    return c.error(node, `bad regular expression: ${(err as Error).message}`);
  }
  try {
    return new RegExp(source, 'ml');
  } catch {
    return c.error(
      node,
      `regular expression ${JSON.stringify(source)} needs ` +
        'backtracking (a backreference, lookahead or lookbehind), ' +
        'which can take exponential time: write it without them',
    );
  }
}

/**
 * A matcher: a plain text (meaning `plain`), or a mapping with exactly one of equals / contains /
 * matches.
 */
function matcher(
  c: Collector,
  node: YamlNode | null,
  what: string,
  plain: 'equals' | 'contains',
): Matcher | undefined {
  if (isScalar(node)) {
    const t = text(c, node, what);
    return t === undefined ? undefined : plain === 'equals' ? { equals: t } : { contains: t };
  }
  const f = fields(c, node, what, ['equals', 'contains', 'matches']);
  if (!f) return undefined;
  if (f.size !== 1) return c.error(node, `${what}: give exactly one of equals, contains, matches`);
  const [kind, { value }] = [...f.entries()][0]!;
  const t = text(c, value, `${what} ${kind}`);
  if (t === undefined) return undefined;
  if (kind === 'matches') {
    const re = regex(c, value, t);
    return re && { matches: re };
  }
  return kind === 'equals' ? { equals: t } : { contains: t };
}

function matchers(
  c: Collector,
  node: YamlNode | null,
  what: string,
  plain: 'equals' | 'contains',
): Matcher[] {
  const items = isSeq(node) ? (node.items as (YamlNode | null)[]) : [node];
  return items.map((n) => matcher(c, n, what, plain)).filter((m): m is Matcher => m !== undefined);
}

function request(c: Collector, node: YamlNode | null, where: string): CaseRequest | undefined {
  // `request: /path` is a GET of that path.
  if (isScalar(node)) {
    const p = text(c, node, 'request');
    if (p === undefined) return undefined;
    if (!p.startsWith('/'))
      return c.error(node, `request path must start with /, not ${JSON.stringify(p)}`);
    return { method: 'GET', path: p, host: undefined, headers: {}, body: undefined };
  }
  const f = fields(c, node, `request of the case at ${where}`, [
    'method',
    'path',
    'host',
    'headers',
    'body',
    'timeoutMs',
  ]);
  if (!f) return undefined;
  const method = f.has('method') ? text(c, f.get('method')!.value, 'method') : 'GET';
  if (method !== undefined && !METHOD.test(method))
    c.error(
      f.get('method')!.value,
      `method must be an HTTP method in capitals (GET, POST, ...), not ${JSON.stringify(method)}`,
    );
  const pathNode = f.get('path');
  const p = pathNode ? text(c, pathNode.value, 'path') : c.error(node, 'request needs a path');
  if (p !== undefined && (!p.startsWith('/') || /[\s]/.test(p) || !PATH.test(p))) {
    c.error(
      pathNode?.value,
      'path must start with / and hold no spaces or control characters (write ' +
        `%20, %00; characters beyond Latin-1 as UTF-8 %XX), not ${JSON.stringify(p)}`,
    );
  }
  const host = f.has('host') ? text(c, f.get('host')!.value, 'host') : undefined;
  if (host !== undefined && !HOST.test(host))
    c.error(
      f.get('host')!.value,
      `host must be a host name (with an optional :port), not ${JSON.stringify(host)}`,
    );
  const headers: Record<string, string> = {};
  const hn = f.get('headers');
  if (hn) {
    const hf = fields(c, hn.value, 'request headers', 'any');
    for (const [name, { value }] of hf ?? []) {
      if (!HEADER_NAME.test(name)) {
        c.error(value, `bad header name ${JSON.stringify(name)}`);
        continue;
      }
      const v = text(c, value, `header ${name}`);
      if (v !== undefined && /[\r\n]/.test(v)) c.error(value, `header ${name} must be one line`);
      else if (v !== undefined && !HEADER_VALUE.test(v))
        c.error(
          value,
          `header ${name} holds a control character or a character beyond ` +
            `Latin-1 (HTTP cannot carry it as written): ${JSON.stringify(v)}`,
        );
      else if (v !== undefined && name.toLowerCase() === 'host' && !HOST.test(v))
        c.error(
          value,
          `Host must be a host name (with an optional :port), not ${JSON.stringify(v)}`,
        );
      else if (v !== undefined) headers[name] = v;
    }
  }
  const body = f.has('body') ? text(c, f.get('body')!.value, 'body') : undefined;
  const timeoutMs = f.has('timeoutMs')
    ? int(c, f.get('timeoutMs')!.value, 'timeoutMs', 100, MAX_TIMEOUT_MS)
    : undefined;
  if (method === undefined || p === undefined) return undefined;
  return {
    method,
    path: p,
    host,
    headers,
    body,
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  };
}

function expectation(c: Collector, node: YamlNode | null, where: string): CaseExpect | undefined {
  const f = fields(c, node, `expect of the case at ${where}`, [
    'status',
    'headers',
    'body',
    'errorLog',
    'noErrorLog',
    'waitMs',
  ]);
  if (!f) return undefined;
  const headers: Record<string, Matcher | null> = {};
  const hn = f.get('headers');
  if (hn) {
    for (const [name, { value }] of fields(c, hn.value, 'expected headers', 'any') ?? []) {
      if (!HEADER_NAME.test(name)) {
        c.error(value, `bad header name ${JSON.stringify(name)}`);
        continue;
      }
      // `X-Gone: null` (or `~`): the response must not have it.
      if (isScalar(value) && value.value === null) {
        headers[name.toLowerCase()] = null;
        continue;
      }
      const m = matcher(c, value, `header ${name}`, 'equals');
      if (m) headers[name.toLowerCase()] = m;
    }
  }
  const status = f.has('status') ? int(c, f.get('status')!.value, 'status', 100, 599) : undefined;
  const waitMs = f.has('waitMs')
    ? int(c, f.get('waitMs')!.value, 'waitMs', 0, MAX_WAIT_MS)
    : DEFAULT_WAIT_MS;
  return {
    status,
    headers,
    body: f.has('body') ? matchers(c, f.get('body')!.value, 'body', 'equals') : [],
    errorLog: f.has('errorLog')
      ? matchers(c, f.get('errorLog')!.value, 'errorLog line', 'contains')
      : [],
    noErrorLog: f.has('noErrorLog')
      ? matchers(c, f.get('noErrorLog')!.value, 'noErrorLog pattern', 'contains')
      : [],
    waitMs: waitMs ?? DEFAULT_WAIT_MS,
  };
}

function oneCase(
  c: Collector,
  node: YamlNode | null,
  names: Map<string, string>,
): TestCase | undefined {
  const where = c.at(node);
  const f = fields(c, node, 'a case', ['name', 'request', 'expect']);
  if (!f) return undefined;
  const nameNode = f.get('name');
  const name = nameNode ? text(c, nameNode.value, 'name') : c.error(node, 'a case needs a name');
  if (name !== undefined) {
    const seen = names.get(name);
    if (seen)
      c.error(
        nameNode?.value,
        `case name ${JSON.stringify(name)} is used twice (first at ${seen})`,
      );
    else names.set(name, where);
  }
  const req = f.has('request')
    ? request(c, f.get('request')!.value, where)
    : c.error(node, 'a case needs a request');
  const exp = f.has('expect')
    ? expectation(c, f.get('expect')!.value, where)
    : c.error(node, 'a case needs an expect (status, headers, body or errorLog)');
  const expectNode = f.get('expect')?.value ?? null;
  if (exp && isMap(expectNode) && expectNode.items.length === 0) {
    c.error(
      expectNode,
      'expect asserts nothing: give a status, headers, body, errorLog or noErrorLog',
    );
  }
  if (name === undefined || !req || !exp) return undefined;
  return { name, where, request: req, expect: exp };
}

function vhost(c: Collector, node: YamlNode | null): VhostSpec | undefined {
  const where = c.at(node);
  const f = fields(c, node, 'a vhost', ['name', 'config']);
  if (!f) return undefined;
  const name = f.has('name')
    ? text(c, f.get('name')!.value, 'vhost name')
    : c.error(node, 'a vhost needs a name');
  if (
    name !== undefined &&
    !/^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*$/.test(
      name,
    )
  ) {
    c.error(f.get('name')!.value, `vhost name must be a host name, not ${JSON.stringify(name)}`);
    return undefined;
  }
  const config = f.has('config') ? text(c, f.get('config')!.value, 'vhost config') : '';
  if (name === undefined || config === undefined) return undefined;
  return { name, config, where };
}

/**
 * Parses a case file's text; `file` names it in errors. Throws BAD_CASE_FILE listing every mistake.
 */
export function parseCaseFile(source: string, file: string): CaseFile {
  const lc = new LineCounter();
  const doc = parseDocument(source, { lineCounter: lc, uniqueKeys: false, prettyErrors: false });
  const c = new Collector(file, lc);
  for (const e of doc.errors)
    c.errors.push(`${file}:${lc.linePos(e.pos[0]).line}: ${e.message.split('\n')[0]}`);
  let out: CaseFile | undefined;
  if (!doc.errors.length) {
    const f = fields(c, doc.contents as YamlNode | null, 'the case file', [
      'config',
      'vhosts',
      'cases',
    ]);
    if (f) {
      const config = f.has('config') ? (text(c, f.get('config')!.value, 'config') ?? '') : '';
      const vn = f.get('vhosts')?.value ?? null;
      if (vn !== null && !isSeq(vn)) c.error(vn, 'vhosts must be a list');
      const vhosts = isSeq(vn)
        ? (vn.items as (YamlNode | null)[])
            .map((n) => vhost(c, n))
            .filter((v): v is VhostSpec => !!v)
        : [];
      const cn = f.get('cases')?.value ?? null;
      if (!f.has('cases'))
        c.error(doc.contents as YamlNode, 'no cases: a case file needs a `cases:` list');
      else if (!isSeq(cn) || cn.items.length === 0)
        c.error(cn ?? f.get('cases')!.pair, 'cases must be a list of at least one case');
      const names = new Map<string, string>();
      const cases = isSeq(cn)
        ? (cn.items as (YamlNode | null)[])
            .map((n) => oneCase(c, n, names))
            .filter((t): t is TestCase => !!t)
        : [];
      out = { file, config, vhosts, cases };
    }
  }
  if (c.errors.length || !out) {
    throw new ApxsError(
      'BAD_CASE_FILE',
      `${file}: ${c.errors.length} mistake${c.errors.length === 1 ? '' : 's'} in the case file`,
      {
        details: c.errors,
        hint: 'fix the lines named; nothing was run (the format: apxs-ts test --help)',
        data: { file, errors: c.errors },
      },
    );
  }
  return out;
}

/**
 * Whether `text` satisfies `m` (equals: the whole text; contains: a part; matches: the regular
 * expression).
 */
export function satisfies(m: Matcher, text: string): boolean {
  if ('equals' in m) return text === m.equals;
  if ('contains' in m) return text.includes(m.contains);
  return m.matches.test(text);
}

export function describeMatcher(m: Matcher): string {
  if ('equals' in m) return `equals ${JSON.stringify(m.equals)}`;
  if ('contains' in m) return `contains ${JSON.stringify(m.contains)}`;
  return `matches /${m.matches.source}/`;
}
