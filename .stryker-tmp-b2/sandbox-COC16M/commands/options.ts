/** Options several commands share, declared once with one help text. */
// @ts-nocheck

import type { Command } from 'commander';

export function withServerRoot(c: Command): Command {
  return c.option('--server-root <dir>', 'server root (default: $APXS_TS_SERVER_ROOT, else the apxs-ts.json found upward from here)');
}

export function withHostsFile(c: Command): Command {
  return c.option('--hosts-file <path>', 'hosts file (default: $APXS_TS_HOSTS_FILE, else /etc/hosts)');
}

/**
 * Which subcommands a group command constructs: the one argv names, or all
 * of them when it names none or one the group lacks (commander then lists
 * them, or suggests the nearest). Constructing `ctl status` alone measured
 * ~2 ms less than all ten of ctl (bench/startup.sh, status's budget ~15 ms).
 */
export function subcommandsWanted(named: string | undefined, all: readonly string[]): (name: string) => boolean {
  return named !== undefined && all.includes(named) ? (name) => name === named : () => true;
}

export function hostsFileOf(o: { hostsFile?: string }): string {
  return o.hostsFile ?? process.env.APXS_TS_HOSTS_FILE ?? '/etc/hosts';
}
