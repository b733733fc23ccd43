// @ts-nocheck
import type { Command } from 'commander';
import { hostsAdd, hostsList, hostsRemove, type HostsChange } from '../lib/sites/hosts-file.js';
import { hostsFileOf, withHostsFile } from './options.js';
import type { Outcome, Runner } from './types.js';

function describe(c: HostsChange, verb: string): Outcome {
  return {
    data: { ...c },
    stdout: c.dryRun ? c.diff : undefined,
    human: [
      !c.changed ? `${c.file}: nothing to ${verb}` : c.dryRun ? `${c.file}: would change (dry run):` : `${c.file}: ${verb === 'add' ? 'added' : 'removed'} (${c.diff.join('; ')})`,
      ...(c.backup ? [`backup: ${c.backup}`] : []),
    ],
  };
}

export function register(program: Command, run: Runner): void {
  const hosts = program.command('hosts').description('names in /etc/hosts, inside a block apxs-ts marks as its own');
  const common = (c: Command) => withHostsFile(c)
    .option('--dry-run', 'print the change, write nothing')
    .option('--backup-dir <dir>', 'where the timestamped backup goes (default: beside the hosts file)');
  common(hosts.command('add').argument('<names...>').option('--ip <ip>', 'address', '127.0.0.1'))
    .description('map names to an address (several names share one line per address)')
    .addHelpText('after', '\nExample:\n  sudo apxs-ts hosts add one.dd two.dd\n  apxs-ts hosts add one.dd --ip ::1 --hosts-file ./hosts')
    .action(run(async (names: string[], o: { ip: string; hostsFile?: string; dryRun?: boolean; backupDir?: string }) =>
      describe(await hostsAdd(hostsFileOf(o), names, o.ip, { dryRun: o.dryRun, backupDir: o.backupDir }), 'add')));
  common(hosts.command('remove').argument('<names...>'))
    .description('remove names from the apxs-ts block')
    .addHelpText('after', '\nExample:\n  sudo apxs-ts hosts remove one.dd')
    .action(run(async (names: string[], o: { hostsFile?: string; dryRun?: boolean; backupDir?: string }) =>
      describe(await hostsRemove(hostsFileOf(o), names, { dryRun: o.dryRun, backupDir: o.backupDir }), 'remove')));
  withHostsFile(hosts.command('list'))
    .description('every mapping in the file; * marks the ones apxs-ts manages')
    .addHelpText('after', '\nExample:\n  apxs-ts hosts list --json')
    .action(run(async (o: { hostsFile?: string }) => {
      const entries = await hostsList(hostsFileOf(o));
      return { data: { file: hostsFileOf(o), entries }, stdout: entries.map((e) => `${e.managed ? '*' : ' '} ${e.ip}\t${e.names.join(' ')}`) };
    }));
}
