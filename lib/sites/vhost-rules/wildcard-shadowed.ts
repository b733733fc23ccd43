/**
 * httpd 2.4: <VirtualHost *> (`*:*`) beside <VirtualHost *:PORT>. A request
 * on PORT matches `*:PORT` more specifically, so the `*` vhosts never see
 * it: a name only they claim is answered by the `*:PORT` group's default.
 * httpd -S lists them as two groups and warns of nothing; the blog's 2.2
 * file (`NameVirtualHost *`, `<VirtualHost *>`) included beside `vhost add`'s
 * blocks is exactly this.
 */
import { dialectOf } from '../../httpd/dialect.js';
import { splitAddress, type Vhost } from '../vhost-model.js';
import type { Finding, RuleContext } from './context.js';

export interface Shadow {
  /** The `*:PORT` group that takes the requests. */
  address: string;
  /** Its default: what answers a name only the shadowed vhost claims. */
  answeredBy: Vhost;
}

const anyPort = (a: string) => {
  const { host, port } = splitAddress(a);
  return host === '*' && port === '*';
};

/**
 * The `*:PORT` groups that shadow vhost `v` (none unless `v` is on `*` and the series lets the
 * specific address win).
 */
export function shadowsOf(
  v: Vhost,
  groups: ReadonlyMap<string, Vhost[]>,
  series: RuleContext['series'],
): Shadow[] {
  if (!dialectOf(series).mostSpecificAddressWins || !v.addresses.some(anyPort)) return [];
  return [...groups]
    .filter(([key]) => /^\*:\d+$/.test(key))
    .map(([address, list]) => ({ address, answeredBy: list[0]! }));
}

export function wildcardShadowed(ctx: RuleContext): Finding[] {
  return ctx.vhosts.flatMap((v) =>
    shadowsOf(v, ctx.groups, ctx.series).map((s): Finding => {
      const port = s.address.slice(2);
      const name = v.serverName ?? '(no ServerName)';
      const d = s.answeredBy;
      return {
        code: 'WILDCARD_SHADOWED',
        severity: 'warning',
        file: v.file,
        line: v.line,
        message:
          `<VirtualHost ${v.addresses.join(' ')}> ${name} never answers on port ${port}: ` +
          `the ${s.address} vhosts take every request there, and ${name} goes to their ` +
          `default, ${d.serverName ?? '(no ServerName)'} (${d.file}:${d.line})`,
        explanation:
          `httpd ${ctx.series} picks the most specific address first: "${s.address}" ` +
          `beats "*" (any port, *:* in httpd -S), so on port ${port} only the ${s.address} ` +
          `vhosts' names are looked at. The behaviour is defined (no "mixing" warning ` +
          'since 2.4), just not what the "*" block seems to say.',
        fix:
          `write <VirtualHost ${s.address}> for ${name} (it ` +
          'then joins that group), or remove the block',
      };
    }),
  );
}
