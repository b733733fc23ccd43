/**
 * `vhost check`: what httpd would do with the virtual hosts of a config, and
 * the mistakes that make requests land on the wrong site, each with file:line,
 * plain words and the fix. Messages quote httpd's own where it has one.
 */
import { promises as fs } from 'node:fs';
import { is } from '../httpd/conf-parse.js';
import type { ConfTree } from '../httpd/conf-tree.js';
import type { HostsEntry } from './hosts-file.js';
import type { Series } from '../httpd/version.js';
import { addressKey, collectVhosts, splitAddress, type Vhost } from './vhost-model.js';

export interface Finding {
  code: string;
  severity: 'error' | 'warning';
  file: string;
  line: number;
  message: string;
  explanation: string;
  fix: string;
}

export interface CheckInput {
  tree: ConfTree;
  series: Series;
  /** Entries of the hosts file names are resolved against. */
  hosts: HostsEntry[];
  hostsFile: string;
  /** Port a bare `*` address means (the first Listen), for grouping. */
  defaultPort?: number;
}

const isWildcardName = (n: string) => n.includes('*') || n.includes('?');
const LOOPBACK = (ip: string) => ip.startsWith('127.') || ip === '::1';

export async function checkVhosts(input: CheckInput): Promise<{ findings: Finding[]; vhosts: Vhost[] }> {
  const { tree, series } = input;
  const vhosts = collectVhosts(tree);
  const findings: Finding[] = [];
  const add = (f: Finding) => findings.push(f);
  // name -> addresses, built once: a config may have thousands of vhosts.
  const resolved = new Map<string, string[]>();
  for (const e of input.hosts) {
    for (const n of e.names) {
      const k = n.toLowerCase();
      const list = resolved.get(k);
      if (list) list.push(e.ip);
      else resolved.set(k, [e.ip]);
    }
  }

  for (const e of tree.errors) {
    add({ code: 'SYNTAX', severity: 'error', file: e.file, line: e.line, message: e.message, explanation: 'httpd will refuse to start with this config.', fix: 'correct the line' });
  }

  const nameVhosts = tree.directives.filter((d) => d.kind === 'directive' && is(d, 'NameVirtualHost'));
  if (series === '2.4') {
    for (const d of nameVhosts) {
      add({
        code: 'NAMEVIRTUALHOST_ON_24', severity: 'warning', file: d.file, line: d.line,
        message: `AH00548: NameVirtualHost has no effect and will be removed in the next release ${d.file}:${d.line}`,
        explanation: 'Since httpd 2.4 every address used by several <VirtualHost> blocks is name-based automatically; this line does nothing.',
        fix: `delete "NameVirtualHost ${d.args.join(' ')}"`,
      });
    }
  } else {
    for (const d of nameVhosts) {
      const addr = d.args[0] ?? '';
      if (!vhosts.some((v) => v.addresses.includes(addr))) {
        add({
          code: 'NAMEVIRTUALHOST_UNUSED', severity: 'warning', file: d.file, line: d.line,
          message: `NameVirtualHost ${addr} has no VirtualHosts`,
          explanation: `httpd 2.2 matches NameVirtualHost and <VirtualHost> addresses as text: no <VirtualHost ${addr}> exists, so the name-based setup for ${addr} is never used and the vhosts fall back to IP-based matching (the first one answers every name).`,
          fix: `write the <VirtualHost> blocks with exactly "${addr}"${vhosts[0] ? `, or change this line to "NameVirtualHost ${vhosts[0].addresses[0]}"` : ''}`,
        });
      }
    }
  }

  // '*' and '*:port' for the same wildcard address.
  const wildcardForms = [...vhosts.flatMap((v) => v.addresses.map((a) => ({ a, file: v.file, line: v.line }))),
    ...nameVhosts.map((d) => ({ a: d.args[0] ?? '', file: d.file, line: d.line }))]
    .filter((x) => splitAddress(x.a).host === '*');
  const bare = wildcardForms.find((x) => x.a === '*');
  const withPort = wildcardForms.find((x) => x.a !== '*');
  if (bare && withPort) {
    const later = bare.line > withPort.line || bare.file !== withPort.file ? bare : withPort;
    add({
      code: 'MIXED_WILDCARD_PORTS', severity: 'warning', file: later.file, line: later.line,
      message: 'mixing * ports and non-* ports with a NameVirtualHost address is not supported, proceeding with undefined results',
      explanation: `"${bare.a}" (${bare.file}:${bare.line}) means every port, "${withPort.a}" (${withPort.file}:${withPort.line}) one port: httpd cannot build one name-based group from both, so which vhost answers is undefined.`,
      fix: `use one form everywhere, e.g. "${withPort.a}" in every <VirtualHost> and NameVirtualHost`,
    });
  }

  // Group by address:port as httpd does; the first vhost of a group is its default.
  const groups = new Map<string, Vhost[]>();
  for (const v of vhosts) {
    for (const a of v.addresses) {
      const key = addressKey(a, input.defaultPort);
      const list = groups.get(key);
      if (list) list.push(v);
      else groups.set(key, [v]);
    }
  }

  for (const [key, list] of groups) {
    const seen = new Map<string, Vhost>();
    const groupHost = key.slice(0, key.lastIndexOf(':'));
    for (const v of list) {
      const names = [v.serverName, ...v.aliases].filter((n): n is string => !!n).map((n) => n.toLowerCase());
      for (const n of new Set(names)) {
        const first = seen.get(n);
        if (first && first !== v) {
          add({
            code: 'DUPLICATE_NAME', severity: 'warning', file: v.file, line: v.line,
            message: `${n} is named by two vhosts on ${key}: ${first.file}:${first.line} and ${v.file}:${v.line}`,
            explanation: `httpd picks the first vhost whose ServerName or ServerAlias matches, so the one at ${v.file}:${v.line} never answers for ${n}.`,
            fix: `remove ${n} from one of them`,
          });
        } else {
          seen.set(n, v);
        }
        if (isWildcardName(n)) continue;
        const ips = resolved.get(n) ?? [];
        const specific = groupHost !== '*' && groupHost !== '_default_';
        if (ips.length === 0) {
          add({
            code: 'NAME_NOT_RESOLVED', severity: 'warning', file: v.file, line: v.line,
            message: `${n} does not resolve through ${input.hostsFile}`,
            explanation: `A browser on this machine cannot reach the vhost at ${v.file}:${v.line} as ${n}.`,
            fix: `apxs-ts hosts add ${n}${specific ? ` --ip ${groupHost}` : ''}`,
          });
        } else if (specific && !ips.includes(groupHost)) {
          add({
            code: 'NAME_WRONG_ADDRESS', severity: 'warning', file: v.file, line: v.line,
            message: `${n} resolves to ${ips.join(', ')} but the vhost listens on ${groupHost}`,
            explanation: `Requests for ${n} arrive on ${ips[0]}, where this vhost (${v.file}:${v.line}) does not answer.`,
            fix: `apxs-ts hosts add ${n} --ip ${groupHost}, or <VirtualHost *:${key.split(':').pop()}>`,
          });
        }
      }
    }
    // Names the hosts file maps to this machine that no vhost of the group claims,
    // but that look meant for one (one.dd vs www.one.dd): they reach the default vhost.
    const claimed = new Set([...seen.keys()]);
    const defaultVhost = list[0]!;
    for (const e of input.hosts.filter((h) => LOOPBACK(h.ip))) {
      for (const hn of e.names.map((n) => n.toLowerCase())) {
        if (claimed.has(hn)) continue;
        const other = seen.has(`www.${hn}`) ? `www.${hn}` : hn.startsWith('www.') && seen.has(hn.slice(4)) ? hn.slice(4) : undefined;
        if (!other) continue;
        const meant = [other, seen.get(other)!] as const;
        add({
          code: 'NAME_FALLS_TO_DEFAULT', severity: 'warning', file: meant[1].file, line: meant[1].line,
          message: `${input.hostsFile} maps ${hn}, but the vhost says ${meant[0]}: requests for ${hn} fall to the default vhost`,
          explanation: `No vhost on ${key} has ServerName or ServerAlias ${hn}, so httpd answers it with the first vhost of the group (${defaultVhost.serverName ?? '(no ServerName)'} at ${defaultVhost.file}:${defaultVhost.line}).`,
          fix: `add "ServerAlias ${hn}" to the vhost at ${meant[1].file}:${meant[1].line}, or map ${meant[0]} in the hosts file`,
        });
      }
    }
  }

  // One stat per distinct DocumentRoot, all at once.
  const roots = [...new Set(vhosts.map((v) => v.documentRoot).filter((d): d is string => !!d))];
  const isDir = new Map(await Promise.all(roots.map(async (d) => [d, await fs.stat(d).then((s) => s.isDirectory(), () => false)] as const)));
  for (const v of vhosts) {
    if (v.documentRoot && !isDir.get(v.documentRoot)) {
      add({
        code: 'DOCROOT_MISSING', severity: 'warning', file: v.file, line: v.line,
        message: `AH00112: Warning: DocumentRoot [${v.documentRoot}] does not exist`,
        explanation: `The vhost ${v.serverName ?? ''} answers 404 for every file until the directory exists.`,
        fix: `mkdir -p ${v.documentRoot}`,
      });
    }
  }

  if (series === '2.4') {
    const compat = tree.directives.some((d) => is(d, 'LoadModule') && d.args[0] === 'access_compat_module');
    if (!compat) {
      for (const d of tree.directives.filter((x) => x.kind === 'directive' && ['order', 'allow', 'deny', 'satisfy'].includes(x.name.toLowerCase()))) {
        add({
          code: 'ACCESS_22_ON_24', severity: 'error', file: d.file, line: d.line,
          message: `Invalid command '${d.name}', perhaps misspelled or defined by a module not included in the server configuration`,
          explanation: `${d.name} is httpd 2.2 access control; 2.4 knows it only through mod_access_compat, which is not loaded.`,
          fix: /allow/i.test(d.name) && /all/i.test(d.rawArgs) ? 'replace Order/Allow with "Require all granted"' : 'rewrite with Require (e.g. "Require all granted", "Require ip 10.0.0.0/8"), or LoadModule access_compat_module',
        });
      }
    }
  }
  return { findings: findings.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line), vhosts };
}

/** The vhosts in order with the default of each address:port marked. */
export function listVhosts(vhosts: Vhost[], defaultPort?: number): { address: string; serverName: string | undefined; aliases: string[]; documentRoot: string | undefined; file: string; line: number; isDefault: boolean }[] {
  const firsts = new Set<string>();
  return vhosts.flatMap((v) => v.addresses.map((a) => {
    const key = addressKey(a, defaultPort);
    const isDefault = !firsts.has(key);
    firsts.add(key);
    return { address: key, serverName: v.serverName, aliases: v.aliases, documentRoot: v.documentRoot, file: v.file, line: v.line, isDefault };
  }));
}
