/**
 * What every `vhost check` rule sees: the config read once, derived once
 * (vhosts, groups, the hosts file as a name map), and the I/O facts gathered
 * before any rule runs, so that each rule is a pure function of this context.
 */
import { promises as fs } from 'node:fs';
import { is, type Directive } from '../../httpd/conf-parse.js';
import type { ConfTree } from '../../httpd/conf-tree.js';
import type { HostsEntry } from '../hosts-file.js';
import type { Series } from '../../httpd/version.js';
import { dialectOf } from '../../httpd/dialect.js';
import type { Locators } from '../../core/command-hint.js';
import { addressKey, collectVhosts, type Vhost } from '../vhost-model.js';

export interface Finding {
  code: string;
  severity: 'error' | 'warning';
  file: string;
  line: number;
  message: string;
  explanation: string;
  fix: string;
  /**
   * On httpd's findings: the code of our rule that says the same, so that only ours is reported.
   */
  restates?: string;
}

export interface CheckInput {
  tree: ConfTree;
  series: Series;
  /** Entries of the hosts file names are resolved against. */
  hosts: HostsEntry[];
  hostsFile: string;
  /** Port a bare `*` address means (the first Listen), for grouping. */
  defaultPort?: number;
  /** The main config file: where httpd's findings that name no file point. */
  configFile?: string;
  /** httpd -S on the same config, run before the rules, when it was run. */
  httpdS?: { exitCode: number; output: string } | null;
  /** The options this check was located by, for fixes that name `vhost check` again. */
  locators?: Locators;
}

/** Facts from the file system, gathered before the rules run. */
export interface Facts {
  /** The DocumentRoots that are directories. */
  existingDirs: ReadonlySet<string>;
}

export interface RuleContext extends CheckInput {
  vhosts: Vhost[];
  /** NameVirtualHost directives, in order. */
  nameVhosts: Directive[];
  /** Lowercased name -> the addresses the hosts file gives it. */
  resolved: ReadonlyMap<string, string[]>;
  /**
   * address:port -> its vhosts in order, as httpd groups them; the first is the group's default.
   */
  groups: ReadonlyMap<string, Vhost[]>;
  facts: Facts;
}

export interface Rule {
  name: string;
  run: (ctx: RuleContext) => Finding[];
  /** Reports what httpd -S printed: dropped when one of our own findings says the same. */
  fromHttpd?: true;
}

function pushTo<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** name -> addresses, built once: a config may have thousands of vhosts. */
export function resolvedNames(hosts: HostsEntry[]): Map<string, string[]> {
  const resolved = new Map<string, string[]>();
  for (const e of hosts) for (const n of e.names) pushTo(resolved, n.toLowerCase(), e.ip);
  return resolved;
}

/**
 * The port a bare address (`*`, `10.0.0.1`) is grouped under: the first
 * Listen's up to 2.2 (one group with the `*:PORT` blocks), none on 2.4,
 * where it stays `*:*`, a group of its own (httpd -S shows it so).
 */
export function groupingPort(series: Series, defaultPort: number | undefined): number | undefined {
  return dialectOf(series).mostSpecificAddressWins ? undefined : defaultPort;
}

/** Groups by address:port as httpd does; the first vhost of a group is its default. */
export function addressGroups(vhosts: Vhost[], defaultPort?: number): Map<string, Vhost[]> {
  const groups = new Map<string, Vhost[]>();
  for (const v of vhosts)
    for (const a of v.addresses) pushTo(groups, addressKey(a, defaultPort), v);
  return groups;
}

/** One stat per distinct DocumentRoot, all at once. */
export async function gatherFacts(vhosts: Vhost[]): Promise<Facts> {
  const roots = [...new Set(vhosts.map((v) => v.documentRoot).filter((d): d is string => !!d))];
  const checked = await Promise.all(
    roots.map(
      async (d) =>
        [
          d,
          await fs.stat(d).then(
            (s) => s.isDirectory(),
            () => false,
          ),
        ] as const,
    ),
  );
  return { existingDirs: new Set(checked.filter(([, isDir]) => isDir).map(([d]) => d)) };
}

export function ruleContext(
  input: CheckInput,
  facts: Facts,
  vhosts: Vhost[] = collectVhosts(input.tree),
): RuleContext {
  return {
    ...input,
    vhosts,
    facts,
    nameVhosts: input.tree.directives.filter(
      (d) => d.kind === 'directive' && is(d, 'NameVirtualHost'),
    ),
    resolved: resolvedNames(input.hosts),
    groups: addressGroups(vhosts, groupingPort(input.series, input.defaultPort)),
  };
}
