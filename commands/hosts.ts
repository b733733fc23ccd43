import type { ChangeOptions } from '../lib/core/change-report.js';
import { hostsAdd, hostsList, hostsRemove, type HostsChange } from '../lib/sites/hosts-file.js';
import { changeReport, diffLines } from './change-output.js';
import { hostsFileOf } from './options.js';
import type { Outcome } from './types.js';

function describe(c: HostsChange, verb: 'add' | 'remove', o: ChangeOptions): Outcome {
  const msg = !c.changed
    ? `${c.file}: nothing to ${verb}`
    : c.dryRun
      ? `${c.file}: would ${verb} (${c.blockDiff.join('; ')})`
      : `${c.file}: ${verb === 'add' ? 'added' : 'removed'} (${c.blockDiff.join('; ')})`;
  // The hosts file is read at each lookup: no server to reload, so no restart_required.
  const { fileDiff, ...rest } = c;
  return {
    data: {
      ...rest,
      ...changeReport({ changed: c.changed, msg, warnings: [], diff: fileDiff }, o),
    },
    // --dry-run printed the block's lines; --diff prints the file's unified diff.
    stdout: diffLines(fileDiff, o) ?? (c.dryRun ? c.blockDiff : undefined),
    human: [msg, ...(c.backup ? [`backup: ${c.backup}`] : [])],
  };
}

type ChangeOpts = { hostsFile?: string; backupDir?: string } & ChangeOptions;

export async function add(names: string[], o: ChangeOpts & { ip: string }): Promise<Outcome> {
  return describe(
    await hostsAdd(hostsFileOf(o), names, o.ip, { dryRun: o.check, backupDir: o.backupDir }),
    'add',
    o,
  );
}

export async function remove(names: string[], o: ChangeOpts): Promise<Outcome> {
  return describe(
    await hostsRemove(hostsFileOf(o), names, { dryRun: o.check, backupDir: o.backupDir }),
    'remove',
    o,
  );
}

export async function list(o: { hostsFile?: string }): Promise<Outcome> {
  const entries = await hostsList(hostsFileOf(o));
  return {
    data: { file: hostsFileOf(o), entries },
    stdout: entries.map((e) => `${e.managed ? '*' : ' '} ${e.ip}\t${e.names.join(' ')}`),
  };
}
