/**
 * Rules over httpd's own `httpd -S` output, run beside our reading: httpd is
 * the judge, our parser is lenient (an unknown directive, a module's syntax),
 * so whatever httpd rejects or warns about vhosts is a finding too, at the
 * file:line httpd names (or, when it names none, the directive it means).
 */
import {
  explainHttpdOutput,
  parseHttpdErrors,
  type ConfigProblem,
} from '../../httpd/configtest.js';
import { is } from '../../httpd/conf-parse.js';
import { addressKey, splitAddress, type Vhost } from '../vhost-model.js';
import type { Finding, RuleContext } from './context.js';
import { apxsCommand } from '../../core/command-hint.js';

/** "[Tue Jan 01 ...] [core:warn] [pid 12] AH00548: ..." -> "AH00548: ...". */
const stripLogPrefix = (l: string) => l.replace(/^(\s*\[[^\]]*\])+\s*/, '').trim();

/**
 * Each "Syntax error on line N of FILE:" problem, at its innermost location:
 * when the file is Included, httpd nests them on one line, the Include's first
 * ("Syntax error on line 50 of httpd.conf: Syntax error on line 4 of v.conf: ...").
 */
export function httpdSyntaxErrors(output: string): ConfigProblem[] {
  const lines = output.split('\n');
  const out: ConfigProblem[] = [];
  lines.forEach((l, i) => {
    const all = [...l.matchAll(/Syntax error on line (\d+) of (.+?):(?=\s|$)/g)];
    const last = all[all.length - 1];
    if (!last) return;
    const rest = l.slice(last.index! + last[0].length).trim() || (lines[i + 1] ?? '').trim();
    // httpd repeats the location before some messages ("v.conf:4: <VirtualHost> was not closed.").
    out.push({ file: last[2]!, line: Number(last[1]), message: rest.replace(/^\S+:\d+:\s*/, '') });
  });
  return out;
}

/** httpd -S refused the config: exit status not 0, or a syntax error printed. */
export function httpdRejects(ctx: RuleContext): Finding[] {
  const s = ctx.httpdS;
  if (!s || (s.exitCode === 0 && !/AH00526|Syntax error/.test(s.output))) return [];
  const problems = httpdSyntaxErrors(s.output);
  return (problems.length ? problems : parseHttpdErrors(s.output)).map((p) => ({
    code: 'HTTPD_REJECTS',
    severity: 'error',
    file: p.file ?? ctx.configFile ?? '',
    line: p.line ?? 0,
    message: p.message || `httpd -S exited ${s.exitCode}`,
    explanation: [
      `httpd -S exits ${s.exitCode}: httpd will not start with this config.`,
      ...explainHttpdOutput(p.message),
    ].join(' '),
    fix:
      `${p.file ? `correct ${p.file}:${p.line}` : 'correct the config as httpd says'}, ` +
      `then run ${apxsCommand('vhost check', ctx.locators)} again`,
  }));
}

type Where = { file: string; line: number } | undefined;

interface VhostWarning {
  pattern: RegExp;
  /** The directive httpd means, when its message names no file:line. */
  where: (m: RegExpExecArray, ctx: RuleContext) => Where;
  explanation: string;
  fix: string;
  /** The code of our rule that reports the same mistake with its file:line. */
  restates?: string;
}

const at = (v: Vhost | undefined): Where => v && { file: v.file, line: v.line };
const nameVhostFor = (addr: string, ctx: RuleContext): Where => {
  const d = ctx.tree.directives.find(
    (x) =>
      is(x, 'NameVirtualHost') &&
      (x.args[0] === addr || addressKey(x.args[0] ?? '', ctx.defaultPort) === addr),
  );
  return d && { file: d.file, line: d.line };
};
/** The second vhost on an address: the one the "first has precedence" warning makes unreachable. */
const secondOn = (test: (a: string) => boolean, ctx: RuleContext): Where => {
  const on = ctx.vhosts.filter((v) => v.addresses.some(test));
  return at(on[1] ?? on[0]);
};

/**
 * The warnings of httpd -S about vhosts, with what they mean, as EXPLAINERS in
 * lib/httpd/configtest.ts.
 */
const VHOST_WARNINGS: VhostWarning[] = [
  {
    pattern: /AH00548: NameVirtualHost has no effect.* (\S+):(\d+)$/,
    where: (m) => ({ file: m[1]!, line: Number(m[2]) }),
    explanation:
      'Since httpd 2.4 every address used by several <VirtualHost> ' +
      'blocks is name-based automatically; this line does nothing.',
    fix: 'delete the NameVirtualHost line',
    restates: 'NAMEVIRTUALHOST_ON_24',
  },
  {
    pattern: /NameVirtualHost (\S+) has no VirtualHosts/,
    where: (m, ctx) => nameVhostFor(m[1]!, ctx),
    explanation:
      'No <VirtualHost> uses exactly this address, so its name-based setup is never used ' +
      'and the vhosts fall back to IP-based matching (the first one answers every name).',
    fix: 'write the NameVirtualHost and the <VirtualHost> addresses the same way, e.g. both *:80',
  },
  {
    pattern: /_default_ VirtualHost overlap on port (\d+), the first has precedence/,
    where: (m, ctx) =>
      secondOn(
        (a) => splitAddress(a).host === '_default_' && ['*', m[1]].includes(splitAddress(a).port),
        ctx,
      ),
    explanation:
      'Two <VirtualHost _default_> blocks on one port: httpd uses ' +
      'the first for every request and the second never answers.',
    fix: 'remove one, or give them ServerNames on a *:PORT address (name-based vhosts)',
    // httpd 1.3 says this also of *:PORT blocks that lack their NameVirtualHost.
    restates: 'NAMEVIRTUALHOST_MISSING',
  },
  {
    pattern: /VirtualHost (\S+) overlaps with VirtualHost (\S+), the first has precedence/,
    where: (m, ctx) => secondOn((a) => addressKey(a, ctx.defaultPort) === m[2], ctx),
    explanation:
      'Two <VirtualHost> blocks on one address without NameVirtualHost for ' +
      'it: httpd 2.2 treats them as IP-based and the second never answers.',
    fix: 'add "NameVirtualHost" with exactly that address before the <VirtualHost> blocks',
    restates: 'NAMEVIRTUALHOST_MISSING',
  },
  {
    pattern: /mixing \* ports and non-\* ports with a NameVirtualHost address is not supported/,
    where: () => undefined,
    explanation:
      'httpd cannot build one name-based group from "*" and "*:PORT" ' +
      'for the same address, so which vhost answers is undefined.',
    fix: 'use one form everywhere, e.g. "*:80" in every <VirtualHost> and NameVirtualHost',
  },
];

/** httpd -S warnings about overlapping or useless vhost addresses. */
export function httpdVhostWarnings(ctx: RuleContext): Finding[] {
  if (!ctx.httpdS) return [];
  const out: Finding[] = [];
  for (const line of ctx.httpdS.output.split('\n').map(stripLogPrefix)) {
    for (const w of VHOST_WARNINGS) {
      const m = w.pattern.exec(line);
      if (!m) continue;
      const where = w.where(m, ctx) ?? { file: ctx.configFile ?? '', line: 0 };
      out.push({
        code: 'HTTPD_VHOST_WARNING',
        severity: 'warning',
        ...where,
        message: line,
        explanation: w.explanation,
        fix: w.fix,
        ...(w.restates ? { restates: w.restates } : {}),
      });
    }
  }
  return out;
}

/**
 * httpd's findings that say what one of ours already says are dropped: the
 * same message (ours quote httpd's), or an error at the same file:line
 * (httpd stops at its first error, which is then the line we flagged).
 */
export function echoes(theirs: Finding, ours: Finding[]): boolean {
  return ours.some(
    (o) =>
      o.message === theirs.message ||
      o.code === theirs.restates ||
      (theirs.severity === 'error' &&
        o.severity === 'error' &&
        o.file === theirs.file &&
        o.line === theirs.line),
  );
}
