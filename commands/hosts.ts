import { hostsAdd, hostsList, hostsRemove, type HostsChange } from '../lib/sites/hosts-file.js';
import { hostsFileOf } from './options.js';
import type { Outcome } from './types.js';

function describe(c: HostsChange, verb: string): Outcome {
  return {
    data: { ...c },
    stdout: c.dryRun ? c.diff : undefined,
    human: [
      !c.changed
        ? `${c.file}: nothing to ${verb}`
        : c.dryRun
          ? `${c.file}: would change (dry run):`
          : `${c.file}: ${verb === 'add' ? 'added' : 'removed'} (${c.diff.join('; ')})`,
      ...(c.backup ? [`backup: ${c.backup}`] : []),
    ],
  };
}

type ChangeOpts = { hostsFile?: string; dryRun?: boolean; backupDir?: string };

export async function add(names: string[], o: ChangeOpts & { ip: string }): Promise<Outcome> {
  return describe(
    await hostsAdd(hostsFileOf(o), names, o.ip, { dryRun: o.dryRun, backupDir: o.backupDir }),
    'add',
  );
}

export async function remove(names: string[], o: ChangeOpts): Promise<Outcome> {
  return describe(
    await hostsRemove(hostsFileOf(o), names, { dryRun: o.dryRun, backupDir: o.backupDir }),
    'remove',
  );
}

export async function list(o: { hostsFile?: string }): Promise<Outcome> {
  const entries = await hostsList(hostsFileOf(o));
  return {
    data: { file: hostsFileOf(o), entries },
    stdout: entries.map((e) => `${e.managed ? '*' : ' '} ${e.ip}\t${e.names.join(' ')}`),
  };
}
