/**
 * Options several commands share, declared once with one help text; the one parser of numeric
 * options.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { ApxsError } from '../lib/core/errors.js';
import { expected, NUMBER_RULES, parseNumber, type NumberRule } from '../lib/core/numbers.js';
import path from 'node:path';

export function withServerRoot(c: Command): Command {
  return c.option(
    '--server-root <dir>',
    'server root (default: $APXS_TS_SERVER_ROOT, else the apxs-ts.json found upward from here)',
  );
}

/**
 * `--check` and `--diff`, the contract of every command that changes
 * something (lib/core/change-report.ts). `--dry-run`, the older name, is
 * kept as a hidden alias that sets `check`.
 */
export function withChangeOptions(c: Command): Command {
  return c
    .option('--check', 'decide and report what would change; change nothing')
    .addOption(new Option('--dry-run').hideHelp().implies({ check: true }))
    .option('--diff', "show each changed file's unified diff (in --json: diff[], Ansible's shape)");
}

export function withHostsFile(c: Command): Command {
  return c.option(
    '--hosts-file <path>',
    'hosts file (default: $APXS_TS_HOSTS_FILE, else /etc/hosts)',
  );
}

/**
 * `--trust DIR` (any command): DIR and what is below it are trusted although
 * another user owns or can write them (lib/core/trust.ts reads the list from
 * $APXS_TS_SAFE_DIRECTORIES, to which this adds DIR for this run).
 */
export function trustDir(dir: string, prev: string[] = []): string[] {
  const abs = path.resolve(dir);
  process.env.APXS_TS_SAFE_DIRECTORIES = [
    ...(process.env.APXS_TS_SAFE_DIRECTORIES ?? '').split(':').filter(Boolean),
    abs,
  ].join(':');
  return [...prev, abs];
}

export function hostsFileOf(o: { hostsFile?: string }): string {
  return o.hostsFile ?? process.env.APXS_TS_HOSTS_FILE ?? '/etc/hosts';
}

/**
 * A commander option parser for a number under `rule` (lib/core/numbers.ts):
 * a bad value stops the command line before any command runs, exit 2, with
 * commander's one line naming the option and the value.
 */
export function numberArg(rule: NumberRule): (value: string) => number {
  return (value: string) => {
    const n = parseNumber(value, rule);
    if (n === undefined) throw new InvalidArgumentError(`expected ${expected(rule)}`);
    return n;
  };
}

/**
 * The same check for a number from an environment variable: USAGE (exit 2) naming it and its value.
 */
export function numberFromEnv(name: string, value: string, rule: NumberRule): number {
  const n = parseNumber(value, rule);
  if (n === undefined)
    throw new ApxsError(
      'USAGE',
      `bad ${name}=${JSON.stringify(value)}: expected ${expected(rule)}`,
    );
  return n;
}

export const portArg = numberArg(NUMBER_RULES.port);
export const timeoutArg = numberArg(NUMBER_RULES.timeoutSeconds);
export const jobsArg = numberArg(NUMBER_RULES.jobs);

/**
 * A --server-root given on the command line, absolute (a hint is run from another directory: `cd
 * MODULE && ...`).
 */
export function serverRootOf(given: string | undefined): string | undefined {
  return given === undefined ? undefined : path.resolve(given);
}
