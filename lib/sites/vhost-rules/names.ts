/**
 * Rules about the names of vhosts within an address:port group: names two
 * vhosts claim, names the hosts file does not resolve (or resolves
 * elsewhere), and hosts-file names that reach the group's default instead.
 */
import type { Vhost } from '../vhost-model.js';
import { apxsCommand, shellWord } from '../../core/command-hint.js';
import type { Finding, RuleContext } from './context.js';

const isWildcardName = (n: string) => n.includes('*') || n.includes('?');
const LOOPBACK = (ip: string) => ip.startsWith('127.') || ip === '::1';

function namesOf(v: Vhost): Set<string> {
  return new Set(
    [v.serverName, ...v.aliases].filter((n): n is string => !!n).map((n) => n.toLowerCase()),
  );
}

/** The host part of an address:port group key ('*', '_default_', an IP). */
const hostOf = (key: string) => key.slice(0, key.lastIndexOf(':'));

/** Each (group, vhost, name) in httpd's order, wildcard names included. */
function* groupNames(ctx: RuleContext): Generator<{ key: string; v: Vhost; n: string }> {
  for (const [key, list] of ctx.groups)
    for (const v of list) for (const n of namesOf(v)) yield { key, v, n };
}

/** Name -> the first vhost of the group that claims it: the one httpd picks. */
function claims(list: Vhost[]): Map<string, Vhost> {
  const seen = new Map<string, Vhost>();
  for (const v of list) for (const n of namesOf(v)) if (!seen.has(n)) seen.set(n, v);
  return seen;
}

export function duplicateName(ctx: RuleContext): Finding[] {
  const out: Finding[] = [];
  for (const [key, list] of ctx.groups) {
    const seen = claims(list);
    for (const v of list) {
      for (const n of namesOf(v)) {
        const first = seen.get(n)!;
        if (first === v) continue;
        out.push({
          code: 'DUPLICATE_NAME',
          severity: 'warning',
          file: v.file,
          line: v.line,
          message:
            `${n} is named by two vhosts on ${key}: ${first.file}:${first.line} ` +
            `and ${v.file}:${v.line}`,
          explanation:
            'httpd picks the first vhost whose ServerName or ServerAlias matches, ' +
            `so the one at ${v.file}:${v.line} never answers for ${n}.`,
          fix: `remove ${n} from one of them`,
        });
      }
    }
  }
  return out;
}

export function nameNotResolved(ctx: RuleContext): Finding[] {
  const out: Finding[] = [];
  for (const { key, v, n } of groupNames(ctx)) {
    if (isWildcardName(n) || ctx.resolved.has(n)) continue;
    const host = hostOf(key);
    const specific = host !== '*' && host !== '_default_';
    out.push({
      code: 'NAME_NOT_RESOLVED',
      severity: 'warning',
      file: v.file,
      line: v.line,
      message: `${n} does not resolve through ${ctx.hostsFile}`,
      explanation:
        `A browser on this machine cannot reach the vhost at ${v.file}:${v.line} ` + `as ${n}.`,
      fix: apxsCommand(`hosts add ${shellWord(n)}${specific ? ` --ip ${host}` : ''}`, {
        hostsFile: ctx.hostsFile,
      }),
    });
  }
  return out;
}

/** A vhost on a specific IP whose name the hosts file maps to another address. */
export function nameWrongAddress(ctx: RuleContext): Finding[] {
  const out: Finding[] = [];
  for (const { key, v, n } of groupNames(ctx)) {
    const host = hostOf(key);
    const ips = ctx.resolved.get(n) ?? [];
    if (
      isWildcardName(n) ||
      host === '*' ||
      host === '_default_' ||
      ips.length === 0 ||
      ips.includes(host)
    )
      continue;
    out.push({
      code: 'NAME_WRONG_ADDRESS',
      severity: 'warning',
      file: v.file,
      line: v.line,
      message: `${n} resolves to ${ips.join(', ')} but the vhost listens on ${host}`,
      explanation:
        `Requests for ${n} arrive on ${ips[0]}, where this ` +
        `vhost (${v.file}:${v.line}) does not answer.`,
      fix:
        `${apxsCommand(`hosts add ${shellWord(n)} --ip ${host}`, { hostsFile: ctx.hostsFile })}, ` +
        `or <VirtualHost *:${key.split(':').pop()}>`,
    });
  }
  return out;
}

/**
 * Names the hosts file maps to this machine that no vhost of the group claims,
 * but that look meant for one (one.dd vs www.one.dd): they reach the default vhost.
 */
export function nameFallsToDefault(ctx: RuleContext): Finding[] {
  const out: Finding[] = [];
  const local = ctx.hosts.filter((h) => LOOPBACK(h.ip));
  for (const [key, list] of ctx.groups) {
    const seen = claims(list);
    const defaultVhost = list[0]!;
    for (const e of local) {
      for (const hn of e.names.map((n) => n.toLowerCase())) {
        if (seen.has(hn)) continue;
        const other = seen.has(`www.${hn}`)
          ? `www.${hn}`
          : hn.startsWith('www.') && seen.has(hn.slice(4))
            ? hn.slice(4)
            : undefined;
        if (!other) continue;
        const meant = seen.get(other)!;
        out.push({
          code: 'NAME_FALLS_TO_DEFAULT',
          severity: 'warning',
          file: meant.file,
          line: meant.line,
          message:
            `${ctx.hostsFile} maps ${hn}, but the vhost says ${other}: ` +
            `requests for ${hn} fall to the default vhost`,
          explanation:
            `No vhost on ${key} has ServerName or ServerAlias ${hn}, so httpd answers ` +
            'it with the first vhost of the group ' +
            `(${defaultVhost.serverName ?? '(no ServerName)'} at ` +
            `${defaultVhost.file}:${defaultVhost.line}).`,
          fix:
            `add "ServerAlias ${hn}" to the vhost at ${meant.file}:${meant.line}, ` +
            `or map ${other} in the hosts file`,
        });
      }
    }
  }
  return out;
}
