/**
 * The whole configuration httpd reads: the main file with its Include and
 * IncludeOptional files expanded in place (globs, paths relative to
 * ServerRoot, ${VAR} from the environment and Define), and <IfModule> /
 * <IfDefine> sections evaluated the way httpd would. Each directive keeps
 * the file and line it came from.
 */
import { exists } from '../core/fs.js';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { is, parseConf, splitArgs, type Directive } from './conf-parse.js';

export interface ConfTree {
  serverRoot: string;
  /** Every directive httpd acts on, in order, includes expanded, inactive sections dropped. */
  directives: Directive[];
  files: string[];
  errors: { file: string; line: number; message: string }[];
}

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
export async function expandGlob(pattern: string): Promise<string[]> {
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
      const names = await fs.readdir(base).catch(() => [] as string[]);
      for (const n of names.sort()) if (!n.startsWith('.') && re.test(n)) next.push(path.join(base, n));
    }
    bases = next;
  }
  const out: string[] = [];
  for (const b of bases) if (await exists(b)) out.push(b);
  return out;
}

export function expandVars(text: string, vars: Record<string, string | undefined>): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) => vars[name] ?? whole);
}

async function filesOf(p: string): Promise<string[]> {
  const st = await fs.stat(p).catch(() => undefined);
  if (!st) return [];
  if (!st.isDirectory()) return [p];
  const out: string[] = [];
  for (const n of (await fs.readdir(p)).sort()) out.push(...(await filesOf(path.join(p, n))));
  return out;
}

export async function loadConfTree(mainFile: string, opts: { serverRoot?: string; env?: Record<string, string | undefined> } = {}): Promise<ConfTree> {
  const vars: Record<string, string | undefined> = { ...process.env, ...(opts.env ?? {}) };
  const tree: ConfTree = { serverRoot: opts.serverRoot ?? path.dirname(mainFile), directives: [], files: [], errors: [] };
  const loaded = new Set(BUILTIN);
  const defined = new Set<string>();

  async function readFile(file: string, depth: number): Promise<void> {
    if (depth > 16) {
      tree.errors.push({ file, line: 0, message: 'Include nested too deeply (a loop?)' });
      return;
    }
    tree.files.push(file);
    const parsed = parseConf(await fs.readFile(file, 'utf8'), file);
    for (const e of parsed.errors) tree.errors.push({ file, ...e });
    // Conditional sections: a stack of "is this level active".
    const active: boolean[] = [];
    let inactive = 0; // how many entries of `active` are false
    for (const raw of parsed.directives) {
      // ${VAR} is expanded before the arguments are split, as httpd does.
      const d: Directive = raw.rawArgs.includes('${') ? { ...raw, args: splitArgs(expandVars(raw.rawArgs, vars)) } : raw;
      const on = inactive === 0;
      if (d.kind === 'open' && (is(d, 'IfModule') || is(d, 'IfDefine'))) {
        const arg = d.args[0] ?? '';
        const negate = arg.startsWith('!');
        const name = arg.replace(/^!/, '');
        const present = is(d, 'IfModule') ? moduleKeys(name).some((k) => loaded.has(k)) : defined.has(name);
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
      if (d.kind === 'directive' && is(d, 'LoadModule') && d.args[0]) loaded.add(moduleKeys(d.args[0])[0]!);
      tree.directives.push(d);
      if (d.kind === 'directive' && (is(d, 'Include') || is(d, 'IncludeOptional')) && d.args[0]) {
        const pattern = path.resolve(tree.serverRoot, d.args[0]);
        const matches = hasWildcard(pattern) ? await expandGlob(pattern) : await filesOf(pattern);
        if (matches.length === 0 && is(d, 'Include') && !hasWildcard(pattern)) {
          tree.errors.push({ file, line: d.line, message: `Include ${d.args[0]}: no such file or directory` });
        }
        for (const m of matches) for (const f of await filesOf(m)) await readFile(f, depth + 1);
      }
    }
  }

  await readFile(path.resolve(mainFile), 0);
  return tree;
}

/** Last value of a one-argument directive at server level (outside any section). */
export function serverLevel(tree: ConfTree, name: string): string | undefined {
  const hits = tree.directives.filter((d) => d.kind === 'directive' && is(d, name) && d.sections.every((s) => /^If/i.test(s)));
  return hits[hits.length - 1]?.args[0];
}
