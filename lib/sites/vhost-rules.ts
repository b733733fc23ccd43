/**
 * `vhost check`: what httpd would do with the virtual hosts of a config, and
 * the mistakes that make requests land on the wrong site, each with file:line,
 * plain words and the fix. Each mistake is one rule, a pure function of the
 * context (lib/sites/vhost-rules/): the I/O they need is gathered first.
 */
import { addressKey, collectVhosts, type Vhost } from './vhost-model.js';
import {
  addressGroups,
  gatherFacts,
  groupingPort,
  ruleContext,
  type CheckInput,
  type Finding,
  type Rule,
} from './vhost-rules/context.js';
import {
  access22On24,
  docrootMissing,
  mixedWildcardPorts,
  nameVirtualHostMissing,
  nameVirtualHostOn24,
  nameVirtualHostUnused,
  syntax,
} from './vhost-rules/config.js';
import {
  duplicateName,
  nameFallsToDefault,
  nameNotResolved,
  nameWrongAddress,
} from './vhost-rules/names.js';
import { wildcardShadowed, shadowsOf } from './vhost-rules/wildcard-shadowed.js';
import { docrootNotGranted } from './vhost-rules/docroot-access.js';
import { echoes, httpdRejects, httpdVhostWarnings } from './vhost-rules/httpd-s.js';

import type { Series } from '../httpd/version.js';

export type { CheckInput, Finding, Rule, RuleContext } from './vhost-rules/context.js';

/** Every rule, in the order their findings on one line are reported. */
export const RULES: Rule[] = [
  { name: 'syntax', run: syntax },
  { name: 'nameVirtualHostOn24', run: nameVirtualHostOn24 },
  { name: 'nameVirtualHostUnused', run: nameVirtualHostUnused },
  { name: 'nameVirtualHostMissing', run: nameVirtualHostMissing },
  { name: 'mixedWildcardPorts', run: mixedWildcardPorts },
  { name: 'wildcardShadowed', run: wildcardShadowed },
  { name: 'duplicateName', run: duplicateName },
  { name: 'nameNotResolved', run: nameNotResolved },
  { name: 'nameWrongAddress', run: nameWrongAddress },
  { name: 'nameFallsToDefault', run: nameFallsToDefault },
  { name: 'docrootMissing', run: docrootMissing },
  { name: 'docrootNotGranted', run: docrootNotGranted },
  { name: 'access22On24', run: access22On24 },
  { name: 'httpdRejects', run: httpdRejects, fromHttpd: true },
  { name: 'httpdVhostWarnings', run: httpdVhostWarnings, fromHttpd: true },
];

/**
 * Gathers the facts, runs every rule, keeps httpd's findings we did not already make, sorts by
 * file:line.
 */
export async function checkVhosts(
  input: CheckInput,
): Promise<{ findings: Finding[]; vhosts: Vhost[] }> {
  const vhosts = collectVhosts(input.tree);
  const ctx = ruleContext(input, await gatherFacts(vhosts), vhosts);
  const ours = RULES.filter((r) => !r.fromHttpd).flatMap((r) => r.run(ctx));
  const theirs = RULES.filter((r) => r.fromHttpd)
    .flatMap((r) => r.run(ctx))
    .filter((f) => !echoes(f, ours));
  const findings = [...ours, ...theirs];
  return {
    findings: findings.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line),
    vhosts: ctx.vhosts,
  };
}

/**
 * The vhosts in order with the default of each address:port marked, grouped as httpd -S groups
 * them; on 2.4 a `*` vhost says which `*:PORT` group shadows it.
 */
export function listVhosts(
  vhosts: Vhost[],
  defaultPort: number | undefined,
  series: Series,
): {
  address: string;
  serverName: string | undefined;
  aliases: string[];
  documentRoot: string | undefined;
  file: string;
  line: number;
  isDefault: boolean;
  shadowedBy: { address: string; answeredBy: string | undefined }[];
}[] {
  const port = groupingPort(series, defaultPort);
  const groups = addressGroups(vhosts, port);
  const firsts = new Set<string>();
  return vhosts.flatMap((v) =>
    v.addresses.map((a) => {
      const key = addressKey(a, port);
      const isDefault = !firsts.has(key);
      firsts.add(key);
      const shadowedBy = shadowsOf(v, groups, series).map((s) => ({
        address: s.address,
        answeredBy: s.answeredBy.serverName,
      }));
      return {
        address: key,
        serverName: v.serverName,
        aliases: v.aliases,
        documentRoot: v.documentRoot,
        file: v.file,
        line: v.line,
        isDefault,
        shadowedBy,
      };
    }),
  );
}
