/**
 * Does any <Directory> let clients into a vhost's DocumentRoot? 2.4 denies
 * what `<Directory /> Require all denied` denies unless a more specific
 * <Directory> says `Require all granted`; up to 2.2 the same is said with
 * Order/Allow/Deny. A DocumentRoot nothing grants answers 403 for every
 * request (2.4 logs AH01630 "client denied by server configuration"), and
 * `mkdir -p` does not change that: the fix is the block that grants it.
 */
import path from 'node:path';
import { dialectOf, messageId } from '../../httpd/dialect.js';
import { is, type Directive } from '../../httpd/conf-parse.js';
import type { Vhost } from '../vhost-model.js';
import type { Finding, RuleContext } from './context.js';

export type Access = 'granted' | 'denied' | 'conditional';

/** A <Directory> section with the access lines inside it. */
interface DirSection {
  path: string;
  /** The vhost it is inside, if any (a section there applies to that vhost only). */
  vhostLine?: { file: string; line: number };
  lines: Directive[];
}

/**
 * Every <Directory PATH> (not the regex forms), with the directives inside, top level or in a
 * vhost.
 */
function directorySections(ctx: RuleContext): DirSection[] {
  const out: DirSection[] = [];
  const open: DirSection[] = [];
  let vhost: { file: string; line: number } | undefined;
  for (const d of ctx.tree.directives) {
    if (d.kind === 'open' && is(d, 'VirtualHost')) vhost = { file: d.file, line: d.line };
    else if (d.kind === 'close' && is(d, 'VirtualHost')) vhost = undefined;
    else if (d.kind === 'open' && is(d, 'Directory')) {
      const arg = d.args[0] ?? '';
      const regex = arg === '~' || arg.startsWith('~');
      const s: DirSection = {
        path: regex ? '' : arg,
        ...(vhost ? { vhostLine: vhost } : {}),
        lines: [],
      };
      open.push(s);
      if (!regex) out.push(s);
    } else if (d.kind === 'close' && is(d, 'Directory')) open.pop();
    else if (d.kind === 'directive' && open.length) open[open.length - 1]!.lines.push(d);
  }
  return out;
}

/** A <Directory> path (with httpd's * and ? wildcards) that covers `dir`. */
function covers(pattern: string, dir: string, serverRoot: string): boolean {
  const p = path.resolve(serverRoot, pattern).replace(/\/+$/, '') || '/';
  if (p === '/') return true;
  const re = new RegExp(
    `^${p
      .split('/')
      .map((seg) =>
        seg
          .replace(/[.+^${}()|[\]\\]/g, '\\$&')
          .replace(/\*/g, '[^/]*')
          .replace(/\?/g, '[^/]'),
      )
      .join('/')}(/|$)`,
  );
  return re.test(dir);
}

/**
 * What one section's access lines decide, in the series' own terms; undefined when it says nothing
 * of access.
 */
function decide(lines: Directive[], orderAllow: boolean): Access | undefined {
  const args = (d: Directive) => d.args.map((a) => a.toLowerCase()).join(' ');
  // 2.4 with mod_access_compat still obeys Order/Allow in a section that has no Require.
  if (orderAllow || !lines.some((d) => is(d, 'Require'))) {
    // Up to 2.2 (mod_access/mod_authz_host): Order says which of Allow and Deny is evaluated last
    // and what is the default.
    if (!lines.some((d) => is(d, 'Allow') || is(d, 'Deny') || is(d, 'Order'))) return undefined;
    const rules = (name: string) => lines.filter((d) => is(d, name)).map(args);
    const allowAll = rules('Allow').includes('from all');
    const denyAll = rules('Deny').includes('from all');
    const others = [...rules('Allow'), ...rules('Deny')].some((a) => a !== 'from all');
    const order = (rules('Order')[0] ?? 'deny,allow').replace(/\s/g, '');
    const result: Access =
      order === 'deny,allow'
        ? denyAll && !allowAll
          ? 'denied'
          : 'granted'
        : allowAll && !denyAll
          ? 'granted'
          : 'denied';
    return others ? 'conditional' : result;
  }
  const req = lines.filter((d) => is(d, 'Require'));
  if (req.length === 0) return undefined;
  if (req.some((d) => args(d) === 'all granted')) return 'granted';
  if (req.every((d) => args(d) === 'all denied')) return 'denied';
  return 'conditional';
}

/**
 * Whether a vhost's DocumentRoot is let in: the most specific <Directory> that says anything
 * decides (none: granted).
 */
export function docrootAccess(
  ctx: RuleContext,
  v: Vhost,
): { access: Access; by?: { file: string; line: number; path: string } } {
  if (!v.documentRoot) return { access: 'granted' };
  const orderAllow = dialectOf(ctx.series).orderAllowBuiltIn;
  const applicable = directorySections(ctx)
    .filter((s) => !s.vhostLine || (s.vhostLine.file === v.file && s.vhostLine.line === v.line))
    .filter((s) => covers(s.path, v.documentRoot!, ctx.tree.serverRoot))
    .map((s) => ({
      s,
      access: decide(s.lines, orderAllow),
      depth: path.resolve(ctx.tree.serverRoot, s.path).replace(/\/+$/, '').split('/').length,
    }))
    .filter((x) => x.access !== undefined)
    // Longest path last; on a tie the later section (httpd merges them in order) wins.
    .sort((a, b) => a.depth - b.depth);
  const last = applicable[applicable.length - 1];
  if (!last) return { access: 'granted' };
  const first = last.s.lines[0];
  return {
    access: last.access!,
    by: { file: first?.file ?? '', line: first ? first.line : 0, path: last.s.path },
  };
}

/** The lines that grant a directory, as the series writes them. */
export function grantBlock(ctx: RuleContext, dir: string): string {
  return [
    `<Directory "${dir}">`,
    ...dialectOf(ctx.series).allowAll.map((l) => `    ${l}`),
    '</Directory>',
  ].join('\n');
}

/** A DocumentRoot no <Directory> grants: 403 for every request, whatever is in it. */
export function docrootNotGranted(ctx: RuleContext): Finding[] {
  return ctx.vhosts.flatMap((v): Finding[] => {
    const { access, by } = docrootAccess(ctx, v);
    if (access !== 'denied' || !v.documentRoot) return [];
    return [
      {
        code: 'DOCROOT_NOT_GRANTED',
        severity: 'error',
        file: v.file,
        line: v.line,
        message:
          `no <Directory> grants DocumentRoot ${v.documentRoot}: httpd ${ctx.series} ` +
          `answers 403 Forbidden for every request to ${v.serverName ?? 'this vhost'}`,
        explanation:
          `The most specific <Directory> covering it, <Directory ${by?.path}> ` +
          `(${by?.file}:${by?.line}), denies access, so httpd logs ` +
          `"${messageId(ctx.series, 'AH01630')}client denied by server configuration: ` +
          `${v.documentRoot}" and answers 403, even once the directory exists and ` +
          'holds files.',
        fix: `add inside this <VirtualHost> (or after it):\n${grantBlock(ctx, v.documentRoot)}`,
      },
    ];
  });
}
