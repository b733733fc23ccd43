/** Options several commands share, declared once with one help text. */
import type { Command } from 'commander';

export function withServerRoot(c: Command): Command {
  return c.option('--server-root <dir>', 'server root (default: $APXS_TS_SERVER_ROOT, else the apxs-ts.json found upward from here)');
}

export function withHostsFile(c: Command): Command {
  return c.option('--hosts-file <path>', 'hosts file (default: $APXS_TS_HOSTS_FILE, else /etc/hosts)');
}

export function hostsFileOf(o: { hostsFile?: string }): string {
  return o.hostsFile ?? process.env.APXS_TS_HOSTS_FILE ?? '/etc/hosts';
}
