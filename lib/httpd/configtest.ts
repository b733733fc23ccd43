/**
 * httpd -t, with its verdict parsed (file, line, message) and its cryptic
 * warnings explained in plain words.
 */
import { ApxsError } from '../core/errors.js';
import { httpdCommand } from './invoke.js';
import { runCapture } from '../core/run.js';
import type { ServerRoot } from './server-root.js';
import { explainEachLine } from './warning-explain.js';

export interface ConfigProblem {
  file?: string;
  line?: number;
  message: string;
}

export interface ConfigTestResult {
  ok: boolean;
  output: string;
  errors: ConfigProblem[];
  warnings: string[];
  explanations: string[];
}

interface Explainer {
  pattern: RegExp;
  explain: (m: RegExpExecArray) => string;
}

const EXPLAINERS: Explainer[] = [
  {
    pattern: /AH00558|Could not reliably determine the server's fully qualified domain name/,
    explain: () =>
      'AH00558: httpd has no ServerName and guessed one from the hostname. ' +
      'Harmless for local work; add `ServerName localhost` to silence it.',
  },
  {
    pattern: /AH00548/,
    explain: () =>
      'AH00548: NameVirtualHost does nothing since httpd 2.4 ' +
      '(name-based vhosts are automatic). Remove the line.',
  },
  {
    pattern: /AH00549/,
    explain: () =>
      'AH00549: a NameVirtualHost (2.2) names an address no <VirtualHost> uses: the address:port ' +
      'of NameVirtualHost and of the VirtualHost blocks must match exactly.',
  },
  {
    pattern: /NameVirtualHost (\S+) has no VirtualHosts/,
    explain: (m) =>
      `"NameVirtualHost ${m[1]} has no VirtualHosts": no <VirtualHost> uses exactly ` +
      `${m[1]}; make the VirtualHost addresses match it (e.g. both *:80).`,
  },
  {
    pattern: /mixing \* ports and non-\* ports/,
    explain: () =>
      'httpd 2.2 cannot mix `*` and `*:port` for the same NameVirtualHost address: ' +
      'write every VirtualHost and NameVirtualHost with the same form, e.g. *:80.',
  },
  {
    pattern: /Cannot load (\S+) into server: (.*)/,
    explain: (m) =>
      `LoadModule points at ${m[1]}, which httpd cannot load (${m[2]}). ` +
      'Check the path (relative paths are under ServerRoot) and, for ' +
      'a C++ module, that it was linked with the C++ compiler.',
  },
  {
    pattern: /Invalid command '([^']+)', perhaps misspelled or defined by a module not included/,
    explain: (m) =>
      `"${m[1]}" is not a directive httpd knows: misspelled, or its module ` +
      'is not loaded (add its LoadModule line, or wrap it in <IfModule>).',
  },
  {
    pattern: /(?:AH00112: )?Warning: DocumentRoot \[([^\]]+)\] does not exist/,
    explain: (m) =>
      `AH00112: DocumentRoot ${m[1]} does not exist: create it, or the site answers ` +
      '404 for everything (403 if no <Directory> grants it: see vhost check).',
  },
  {
    pattern: /AH00526/,
    explain: () =>
      'AH00526 is a syntax error: the file and line are ' +
      'above; httpd refuses to start until it is fixed.',
  },
  {
    pattern: /Can't locate API module structure `([^']+)'/,
    explain: (m) =>
      `The .so loads but does not export ${m[1]}: the name in LoadModule must ` +
      'match the module record; a C++ module must declare it extern "C".',
  },
];

export function explainHttpdOutput(output: string): string[] {
  return explainEachLine(output, EXPLAINERS);
}

/** Pulls "Syntax error on line N of FILE:" and the message on the next line. */
export function parseHttpdErrors(output: string): ConfigProblem[] {
  const lines = output.split('\n');
  const errors: ConfigProblem[] = [];
  lines.forEach((l, i) => {
    const m = /Syntax error on line (\d+) of (.+?):\s*$/.exec(l);
    if (m) errors.push({ file: m[2]!, line: Number(m[1]), message: (lines[i + 1] ?? '').trim() });
  });
  if (errors.length === 0) {
    const first = lines.find((l) => l.trim() && !/Syntax OK|AH00558/.test(l));
    if (first) errors.push({ message: first.trim() });
  }
  return errors;
}

export async function configTest(sr: ServerRoot): Promise<ConfigTestResult> {
  const cmd = await httpdCommand(sr, ['-t']);
  const res = await runCapture(cmd.file, cmd.args, { env: cmd.env });
  const output = res.all.trim();
  const ok = res.exitCode === 0;
  const warnings = output
    .split('\n')
    .filter((l) => /AH\d+|[Ww]arn/.test(l) && !/Syntax OK/.test(l));
  return {
    ok,
    output,
    errors: ok ? [] : parseHttpdErrors(output),
    warnings,
    explanations: explainHttpdOutput(output),
  };
}

/**
 * The one error for a config httpd rejects: its first error as file:line, its output and our
 * explanations.
 */
export function brokenConfigError(
  verdict: { output: string; explanations: string[] },
  prefix: string,
  extra: { hint?: string; data?: Record<string, unknown> } = {},
): ApxsError {
  const errors = parseHttpdErrors(verdict.output);
  const first = errors[0];
  const where = first?.file ? `${first.file}:${first.line}: ` : '';
  return new ApxsError(
    'CONFIG_BROKEN',
    `${prefix}: ${where}${first?.message ?? 'httpd rejected the configuration'}`,
    {
      hint: extra.hint,
      details: [...verdict.output.split('\n').slice(-10), ...verdict.explanations],
      data: { output: verdict.output, errors, ...(extra.data ?? {}) },
    },
  );
}
