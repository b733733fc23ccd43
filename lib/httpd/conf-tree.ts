/**
 * The whole configuration httpd reads: the main file with its Include and
 * IncludeOptional files expanded in place (globs, paths relative to
 * ServerRoot, ${VAR} from the environment and Define), and <IfModule> /
 * <IfDefine> sections evaluated the way httpd would. Each directive keeps
 * the file and line it came from.
 */
import { disk, type FileView } from '../core/file-view.js';
import { ApxsError } from '../core/errors.js';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { is, parseConf, splitArgs, type Directive, type ParsedConf } from './conf-parse.js';

export interface ConfTree {
  serverRoot: string;
  /** Every directive httpd acts on, in order, includes expanded, inactive sections dropped. */
  directives: Directive[];
  files: string[];
  errors: { file: string; line: number; message: string }[];
}

/**
 * Bounds of one load. Depth is httpd's own AP_MAX_INCLUDE_DEPTH: deeper is an
 * Include loop, which httpd refuses too. Depth alone does not bound the work:
 * Include globs whose files include the same globs again multiply (10 files
 * that each include all 10 make 10^depth reads), so the whole load also has a
 * budget of files read and directives kept, far above any real config
 * (Debian's reads ~60 files) and reached within a second or two.
 */
export const INCLUDE_LIMITS = { depth: 128, filesRead: 20_000, directives: 500_000 };

/** Modules Debian's and a default source build's httpd have compiled in. */
const BUILTIN = ['core', 'so', 'http_core', 'log_config', 'logio', 'version', 'unixd', 'watchdog'];

function moduleKeys(symbolOrFile: string): string[] {
  const s = symbolOrFile.replace(/^!/, '');
  if (s.endsWith('_module')) return [s.slice(0, -'_module'.length)];
  const m = /^mod_(.+)\.c$/.exec(s);
  return m ? [m[1]!] : [s];
}

function hasWildcard(p: string): boolean {
  return /[*?[]/.test(p);
}

function globToRegExp(seg: string): RegExp {
  let re = '';
  for (const ch of seg) {
    if (ch === '*') re += '[^/]*';
    else if (ch === '?') re += '[^/]';
    else re += ch.replace(/[.+^${}()|\\\]]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Expands a pattern whose segments may hold * and ?, sorted as httpd sorts them. */
export async function expandGlob(pattern: string, view: FileView = disk): Promise<string[]> {
  const abs = path.resolve(pattern);
  const segs = abs.split('/').slice(1);
  let bases = ['/'];
  for (const seg of segs) {
    const next: string[] = [];
    for (const base of bases) {
      if (!hasWildcard(seg)) {
        next.push(path.join(base, seg));
        continue;
      }
      const re = globToRegExp(seg);
      const names = await view.readdir(base);
      for (const n of names.sort())
        if (!n.startsWith('.') && re.test(n)) next.push(path.join(base, n));
    }
    bases = next;
  }
  const out: string[] = [];
  for (const b of bases) if (await view.exists(b)) out.push(b);
  return out;
}

export function expandVars(text: string, vars: Record<string, string | undefined>): string {
  return text.replace(
    /\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g,
    (whole, name: string) => vars[name] ?? whole,
  );
}

async function filesOf(p: string, view: FileView): Promise<string[]> {
  const kind = await view.stat(p);
  if (kind === 'absent') return [];
  if (kind !== 'dir') return [p];
  const out: string[] = [];
  for (const n of (await view.readdir(p)).sort())
    out.push(...(await filesOf(path.join(p, n), view)));
  return out;
}

export async function loadConfTree(
  mainFile: string,
  /** `view`: inside an edit, its transaction (a --check plan reads the config it would write). */
  opts: { serverRoot?: string; env?: Record<string, string | undefined>; view?: FileView } = {},
): Promise<ConfTree> {
  const view = opts.view ?? disk;
  const vars: Record<string, string | undefined> = { ...process.env, ...(opts.env ?? {}) };
  const tree: ConfTree = {
    serverRoot: opts.serverRoot ?? path.dirname(mainFile),
    directives: [],
    files: [],
    errors: [],
  };
  const loaded = new Set(BUILTIN);
  const defined = new Set<string>();

  // Per load: a file included many times is read and parsed once, a glob expanded once.
  const parsedCache = new Map<string, ParsedConf>();
  const globCache = new Map<string, string[]>();
  let filesRead = 0;
  /** The Include directives being expanded, outermost first: where a limit was passed. */
  const chain: { file: string; line: number; pattern: string }[] = [];
  const where = () => {
    const inc = chain[chain.length - 1];
    return inc ? `${inc.file}:${inc.line}: Include ${inc.pattern}` : mainFile;
  };

  async function readFile(file: string, depth: number): Promise<void> {
    if (depth > INCLUDE_LIMITS.depth) {
      const seen = chain.find((c, i) => chain.findIndex((o) => o.file === c.file) !== i);
      throw new ApxsError(
        'CONFIG_BROKEN',
        `${where()}: Includes nested more than ${INCLUDE_LIMITS.depth} ` +
          `deep${seen ? ` (a loop: ${seen.file} is included again while it is being read)` : ''}`,
        {
          hint:
            'an included file includes itself, directly or through ' +
            'others; httpd refuses such a config too',
          details: chain.slice(0, 5).map((c) => `${c.file}:${c.line}: Include ${c.pattern}`),
          data: { file, limit: INCLUDE_LIMITS.depth },
        },
      );
    }
    if (
      ++filesRead > INCLUDE_LIMITS.filesRead ||
      tree.directives.length > INCLUDE_LIMITS.directives
    ) {
      throw new ApxsError(
        'CONFIG_TOO_LARGE',
        `${where()}: the config includes more than ${INCLUDE_LIMITS.filesRead} ` +
          `files or ${INCLUDE_LIMITS.directives} directives in all`,
        {
          hint:
            'Include globs whose files include the same globs ' +
            'again multiply; include each file once',
          details: chain.slice(0, 5).map((c) => `${c.file}:${c.line}: Include ${c.pattern}`),
          data: {
            filesRead: filesRead - 1,
            directives: tree.directives.length,
            limits: INCLUDE_LIMITS,
          },
        },
      );
    }
    tree.files.push(file);
    let parsed = parsedCache.get(file);
    if (!parsed) {
      parsed = parseConf((await view.readText(file)) ?? (await fs.readFile(file, 'utf8')), file);
      parsedCache.set(file, parsed);
    }
    for (const e of parsed.errors) tree.errors.push({ file, ...e });
    // Conditional sections: a stack of "is this level active".
    const active: boolean[] = [];
    let inactive = 0; // how many entries of `active` are false
    for (const raw of parsed.directives) {
      // ${VAR} is expanded before the arguments are split, as httpd does.
      const d: Directive = raw.rawArgs.includes('${')
        ? { ...raw, args: splitArgs(expandVars(raw.rawArgs, vars)) }
        : raw;
      const on = inactive === 0;
      if (d.kind === 'open' && (is(d, 'IfModule') || is(d, 'IfDefine'))) {
        const arg = d.args[0] ?? '';
        const negate = arg.startsWith('!');
        const name = arg.replace(/^!/, '');
        const present = is(d, 'IfModule')
          ? moduleKeys(name).some((k) => loaded.has(k))
          : defined.has(name);
        active.push(present !== negate);
        if (present === negate) inactive++;
        continue;
      }
      if (d.kind === 'close' && (is(d, 'IfModule') || is(d, 'IfDefine'))) {
        if (active.pop() === false) inactive--;
        continue;
      }
      if (!on) continue;
      if (d.kind === 'directive' && is(d, 'Define') && d.args[0]) {
        defined.add(d.args[0]);
        if (d.args[1] !== undefined) vars[d.args[0]] = d.args[1];
      }
      if (d.kind === 'directive' && is(d, 'ServerRoot') && d.args[0]) tree.serverRoot = d.args[0];
      if (d.kind === 'directive' && is(d, 'LoadModule') && d.args[0])
        loaded.add(moduleKeys(d.args[0])[0]!);
      tree.directives.push(d);
      if (d.kind === 'directive' && (is(d, 'Include') || is(d, 'IncludeOptional')) && d.args[0]) {
        const pattern = path.resolve(tree.serverRoot, d.args[0]);
        let files = globCache.get(pattern);
        if (!files) {
          const matches = hasWildcard(pattern) ? await expandGlob(pattern, view) : [pattern];
          files = [];
          for (const m of matches) files.push(...(await filesOf(m, view)));
          globCache.set(pattern, files);
        }
        if (files.length === 0 && is(d, 'Include') && !hasWildcard(pattern)) {
          tree.errors.push({
            file,
            line: d.line,
            message: `Include ${d.args[0]}: no such file or directory`,
          });
        }
        chain.push({ file, line: d.line, pattern: d.args[0] });
        for (const f of files) await readFile(f, depth + 1);
        chain.pop();
      }
    }
  }

  await readFile(path.resolve(mainFile), 0);
  return tree;
}

/** Last value of a one-argument directive at server level (outside any section). */
export function serverLevel(tree: ConfTree, name: string): string | undefined {
  const hits = tree.directives.filter(
    (d) => d.kind === 'directive' && is(d, name) && d.sections.every((s) => /^If/i.test(s)),
  );
  return hits[hits.length - 1]?.args[0];
}
