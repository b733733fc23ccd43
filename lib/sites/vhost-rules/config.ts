/**
 * Rules about the config text itself: syntax, NameVirtualHost per series,
 * wildcard address forms, DocumentRoots, 2.2 access control on 2.4.
 * Messages quote httpd's own where it has one.
 */
import { dialectOf, messageId } from '../../httpd/dialect.js';
import { docrootAccess } from './docroot-access.js';
import { is } from '../../httpd/conf-parse.js';
import { splitAddress } from '../vhost-model.js';
import type { Finding, RuleContext } from './context.js';
import type { Vhost } from '../vhost-model.js';

export function syntax(ctx: RuleContext): Finding[] {
  return ctx.tree.errors.map((e) => ({
    code: 'SYNTAX',
    severity: 'error',
    file: e.file,
    line: e.line,
    message: e.message,
    explanation: 'httpd will refuse to start with this config.',
    fix: 'correct the line',
  }));
}

export function nameVirtualHostOn24(ctx: RuleContext): Finding[] {
  if (dialectOf(ctx.series).nameVirtualHost) return [];
  return ctx.nameVhosts.map((d) => ({
    code: 'NAMEVIRTUALHOST_ON_24',
    severity: 'warning',
    file: d.file,
    line: d.line,
    // httpd ends its message with file:line; the finding is printed at file:line already.
    message: 'AH00548: NameVirtualHost has no effect and will be removed in the next release',
    explanation:
      'Since httpd 2.4 every address used by several <VirtualHost> ' +
      'blocks is name-based automatically; this line does nothing.',
    fix: `delete "NameVirtualHost ${d.args.join(' ')}"`,
  }));
}

/** 2.2 matches NameVirtualHost and <VirtualHost> addresses as text. */
export function nameVirtualHostUnused(ctx: RuleContext): Finding[] {
  if (!dialectOf(ctx.series).nameVirtualHost) return [];
  const { vhosts } = ctx;
  return ctx.nameVhosts.flatMap((d): Finding[] => {
    const addr = d.args[0] ?? '';
    if (vhosts.some((v) => v.addresses.includes(addr))) return [];
    return [
      {
        code: 'NAMEVIRTUALHOST_UNUSED',
        severity: 'warning',
        file: d.file,
        line: d.line,
        message: `NameVirtualHost ${addr} has no VirtualHosts`,
        explanation:
          'httpd 2.2 matches NameVirtualHost and <VirtualHost> ' +
          'addresses as text: no <VirtualHost ' +
          `${addr}> exists, so the name-based setup for ${addr} is never used and the vhosts ` +
          'fall back to IP-based matching (the first one answers every name).',
        fix:
          'write the <VirtualHost> blocks with exactly ' +
          `"${addr}"` +
          (vhosts[0] ? `, or change this line to "NameVirtualHost ${vhosts[0].addresses[0]}"` : ''),
      },
    ];
  });
}

/**
 * Several <VirtualHost> blocks on one address and no NameVirtualHost at all,
 * where the series needs it (up to 2.2): they are IP-based, and the first
 * answers every name. httpd says "_default_ VirtualHost overlap" (1.3) or
 * "VirtualHost X overlaps with VirtualHost Y" (2.x) and starts anyway.
 */
export function nameVirtualHostMissing(ctx: RuleContext): Finding[] {
  if (!dialectOf(ctx.series).nameVirtualHost || ctx.nameVhosts.length > 0) return [];
  const byText = new Map<string, Vhost[]>();
  for (const v of ctx.vhosts) {
    for (const a of v.addresses)
      if (splitAddress(a).host !== '_default_') byText.set(a, [...(byText.get(a) ?? []), v]);
  }
  return [...byText]
    .filter(([, vs]) => vs.length > 1)
    .map(([addr, vs]) => ({
      code: 'NAMEVIRTUALHOST_MISSING',
      severity: 'warning',
      file: vs[1]!.file,
      line: vs[1]!.line,
      message:
        `NameVirtualHost ${addr} is missing: the ${vs.length} <VirtualHost ${addr}> blocks ` +
        `are IP-based, and only the first (${vs[0]!.serverName ?? 'no ServerName'}) answers`,
      explanation:
        `httpd ${ctx.series} makes vhosts name-based only for an address ` +
        'named by NameVirtualHost, with exactly the <VirtualHost> text; ' +
        `without it every request to ${addr} goes to the first block.`,
      fix: `add "NameVirtualHost ${addr}" before the <VirtualHost> blocks`,
    }));
}

/** '*' and '*:port' for the same wildcard address. */
export function mixedWildcardPorts(ctx: RuleContext): Finding[] {
  // 2.4 says no such thing: there the most specific address wins (wildcardShadowed says what that
  // does).
  if (dialectOf(ctx.series).mostSpecificAddressWins) return [];
  const wildcardForms = [
    ...ctx.vhosts.flatMap((v) => v.addresses.map((a) => ({ a, file: v.file, line: v.line }))),
    ...ctx.nameVhosts.map((d) => ({ a: d.args[0] ?? '', file: d.file, line: d.line })),
  ].filter((x) => splitAddress(x.a).host === '*');
  const bare = wildcardForms.find((x) => x.a === '*');
  const withPort = wildcardForms.find((x) => x.a !== '*');
  if (!bare || !withPort) return [];
  const later = bare.line > withPort.line || bare.file !== withPort.file ? bare : withPort;
  return [
    {
      code: 'MIXED_WILDCARD_PORTS',
      severity: 'warning',
      file: later.file,
      line: later.line,
      message:
        'mixing * ports and non-* ports with a NameVirtualHost address ' +
        'is not supported, proceeding with undefined results',
      explanation:
        `"${bare.a}" (${bare.file}:${bare.line}) means every port, "${withPort.a}" ` +
        `(${withPort.file}:${withPort.line}) one port: httpd cannot build one ` +
        'name-based group from both, so which vhost answers is undefined.',
      fix:
        `use one form everywhere, e.g. "${withPort.a}" ` +
        'in every <VirtualHost> and NameVirtualHost',
    },
  ];
}

export function docrootMissing(ctx: RuleContext): Finding[] {
  return ctx.vhosts.flatMap((v): Finding[] =>
    !v.documentRoot || ctx.facts.existingDirs.has(v.documentRoot)
      ? []
      : [
          {
            code: 'DOCROOT_MISSING',
            severity: 'warning',
            file: v.file,
            line: v.line,
            message:
              `${messageId(ctx.series, 'AH00112')}Warning: DocumentRoot ` +
              `[${v.documentRoot}] does not exist`,
            explanation:
              docrootAccess(ctx, v).access === 'denied'
                ? `The vhost ${v.serverName ?? ''} answers 403 Forbidden: ` +
                  'no <Directory> grants it (see DOCROOT_NOT_GRANTED); once ' +
                  'it exists and is granted, it serves its files.'
                : `The vhost ${v.serverName ?? ''} answers 404 Not ` +
                  'Found for every file until the directory exists.',
            fix: `mkdir -p ${v.documentRoot}`,
          },
        ],
  );
}

const ACCESS_22 = ['order', 'allow', 'deny', 'satisfy'];

/** 2.4 knows Order/Allow/Deny/Satisfy only through mod_access_compat. */
export function access22On24(ctx: RuleContext): Finding[] {
  const { tree } = ctx;
  if (dialectOf(ctx.series).orderAllowBuiltIn) return [];
  if (tree.directives.some((d) => is(d, 'LoadModule') && d.args[0] === 'access_compat_module'))
    return [];
  return tree.directives
    .filter((x) => x.kind === 'directive' && ACCESS_22.includes(x.name.toLowerCase()))
    .map((d) => ({
      code: 'ACCESS_22_ON_24',
      severity: 'error',
      file: d.file,
      line: d.line,
      message:
        `Invalid command '${d.name}', perhaps misspelled or defined ` +
        'by a module not included in the server configuration',
      explanation:
        `${d.name} is httpd 2.2 access control; 2.4 knows it ` +
        'only through mod_access_compat, which is not loaded.',
      fix:
        /allow/i.test(d.name) && /all/i.test(d.rawArgs)
          ? 'replace Order/Allow with "Require all granted"'
          : 'rewrite with Require (e.g. "Require all granted", "Require ' +
            'ip 10.0.0.0/8"), or LoadModule access_compat_module',
    }));
}
