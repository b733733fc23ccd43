/**
 * /etc/hosts, edited safely. apxs-ts writes only between `# BEGIN apxs-ts`
 * and `# END apxs-ts`; every byte outside (comments, inline comments, tabs,
 * CRLF, a BOM, a missing final newline) stays as it was. Writes are atomic
 * (lib/atomic-file), preceded by a timestamped backup, and made under a lock
 * so concurrent runs do not lose each other's entries. A malformed marker
 * block (a stray BEGIN or END) is an error, never guessed around, and file
 * system failures name the path instead of an errno.
 */
import { promises as fs, type Stats } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { backupFile } from '../core/atomic-file.js';
import { fileDiff, type FileDiff } from '../core/change-report.js';
import { writeForeignFile } from '../core/foreign-file.js';
import { assertNoPlantedLink, assertWritable } from '../core/trust.js';
import { ApxsError, fileError } from '../core/errors.js';
import { failpoint } from '../core/failpoint.js';
import { readRegular } from '../core/fs.js';
import { findBlock, removeBlock, upsertBlock } from '../core/marked-block.js';
import { withLock } from '../core/lock.js';
import { validateHostname, validateIp } from './host-names.js';

export const BLOCK_ID = '';
/** Backups of the hosts file kept beside it; older ones are removed. */
export const KEEP_BACKUPS = 10;

export interface HostsEntry {
  ip: string;
  names: string[];
  /** 1-based line in the file. */
  line: number;
  managed: boolean;
}

/** Our block as an ordered map: address -> names. */
export type HostsBlock = Map<string, string[]>;

/** `file` only names the file in a BLOCK_BROKEN error. */
export function parseHostsLines(text: string, file?: string): HostsEntry[] {
  const block = findBlock(text, BLOCK_ID, file);
  const blockStartLine = block ? text.slice(0, block.start).split('\n').length : -1;
  const blockEndLine = block ? blockStartLine + block.body.length + 1 : -1;
  const out: HostsEntry[] = [];
  text
    .replace(/^\ufeff/, '')
    .split('\n')
    .forEach((raw, i) => {
      const line = raw.replace(/\r$/, '').replace(/#.*/, '').trim();
      if (!line) return;
      const [ip, ...names] = line.split(/\s+/);
      if (!ip || names.length === 0) return;
      out.push({ ip, names, line: i + 1, managed: i + 1 > blockStartLine && i + 1 < blockEndLine });
    });
  return out;
}

export function readBlock(text: string, file?: string): HostsBlock {
  const block = findBlock(text, BLOCK_ID, file);
  const map: HostsBlock = new Map();
  for (const l of block?.body ?? []) {
    const [ip, ...names] = l.replace(/#.*/, '').trim().split(/\s+/);
    if (ip && names.length) map.set(ip, [...(map.get(ip) ?? []), ...names]);
  }
  return map;
}

function renderBlock(map: HostsBlock): string[] {
  return [...map.entries()]
    .filter(([, n]) => n.length > 0)
    .map(([ip, names]) => `${ip} ${names.join(' ')}`);
}

/** The new text with our block set to `map` (removed entirely when empty). */
export function withBlock(text: string, map: HostsBlock, file?: string): string {
  const lines = renderBlock(map);
  return lines.length === 0
    ? removeBlock(text, BLOCK_ID, file)
    : upsertBlock(text, BLOCK_ID, lines, text.length, file);
}

export function addToBlock(map: HostsBlock, ip: string, names: string[]): HostsBlock {
  const next: HostsBlock = new Map([...map].map(([k, v]) => [k, [...v]]));
  const family = net.isIP(ip);
  for (const name of names) {
    // A name has one address per family in our block: moving it is an update.
    for (const [other, list] of next) {
      if (other !== ip && net.isIP(other) === family)
        next.set(
          other,
          list.filter((n) => n !== name),
        );
    }
    const list = next.get(ip) ?? [];
    if (!list.includes(name)) list.push(name);
    next.set(ip, list);
  }
  for (const [k, v] of next) if (v.length === 0) next.delete(k);
  return next;
}

export function removeFromBlock(map: HostsBlock, names: string[]): HostsBlock {
  const next: HostsBlock = new Map();
  for (const [ip, list] of map) {
    const kept = list.filter((n) => !names.includes(n));
    if (kept.length) next.set(ip, kept);
  }
  return next;
}

export interface HostsChange {
  file: string;
  changed: boolean;
  dryRun: boolean;
  /** Our block's lines taken out (-) and put in (+). */
  blockDiff: string[];
  /** The file before and after, in Ansible's diff shape (empty: unchanged). */
  fileDiff: FileDiff[];
  backup: string | undefined;
  method: 'rename' | 'in-place' | undefined;
  entries: { ip: string; names: string[] }[];
}

/** Lines of our block before and after, as a small diff. */
export function blockDiff(before: string, after: string): string[] {
  const a = findBlock(before, BLOCK_ID)?.body ?? [];
  const b = findBlock(after, BLOCK_ID)?.body ?? [];
  return [
    ...a.filter((l) => !b.includes(l)).map((l) => `-${l}`),
    ...b.filter((l) => !a.includes(l)).map((l) => `+${l}`),
  ];
}

export interface EditOptions {
  dryRun?: boolean;
  /** Where backups go (default: beside the hosts file). */
  backupDir?: string;
}

const missing = (file: string) =>
  new ApxsError('NOT_FOUND', `${file} does not exist`, {
    hint: 'pass --hosts-file PATH',
    data: { file },
  });

/**
 * The hosts file's text; a missing file, a directory or an unreadable one is an error naming it.
 */
async function readHosts(file: string): Promise<string> {
  try {
    return (await readRegular(file)).toString('utf8');
  } catch (err) {
    if (isMissing(err)) throw missing(file);
    throw fileError(file, err) ?? err;
  }
}

const isMissing = (err: unknown) =>
  err instanceof Error && ['ENOENT', 'ENOTDIR'].includes((err as NodeJS.ErrnoException).code ?? '');

/**
 * The real path of an existing regular hosts file, checked before the lock
 * is taken: the lock goes beside it, and a missing directory must not
 * surface as an errno about the lock file.
 */
async function realHostsFile(file: string): Promise<string> {
  let st: Stats;
  try {
    st = await fs.stat(file);
  } catch (err) {
    if (isMissing(err)) throw missing(file);
    throw fileError(file, err) ?? err;
  }
  if (st.isDirectory())
    throw new ApxsError('BAD_INPUT', `${file} is a directory, not a hosts file`, {
      hint: 'pass the hosts file itself with --hosts-file PATH',
      data: { file },
    });
  return fs.realpath(file).catch(() => path.resolve(file));
}

/** Backups of `file` in `dir`, by name. */
async function backupsIn(dir: string, file: string): Promise<Set<string>> {
  const base = `${path.basename(file)}.`;
  return new Set(
    (await fs.readdir(dir).catch(() => [] as string[])).filter(
      (f) => f.startsWith(base) && f.endsWith('.bak'),
    ),
  );
}

async function editHosts(
  file: string,
  edit: (map: HostsBlock) => HostsBlock,
  opts: EditOptions,
): Promise<HostsChange> {
  const run = async (): Promise<HostsChange> => {
    if (!opts.dryRun) failpoint('hosts:locked');
    const text = await readHosts(file);
    const before = readBlock(text, file);
    const after = edit(before);
    const next = withBlock(text, after, file);
    const base = {
      file,
      dryRun: !!opts.dryRun,
      blockDiff: blockDiff(text, next),
      fileDiff: next === text ? [] : [fileDiff(file, text, next)],
      entries: [...after].map(([ip, names]) => ({ ip, names })),
    };
    if (next === text) return { ...base, changed: false, backup: undefined, method: undefined };
    if (opts.dryRun) return { ...base, changed: true, backup: undefined, method: undefined };
    const backupDir = opts.backupDir ?? path.dirname(file);
    const earlier = await backupsIn(backupDir, file);
    let backup: string | undefined;
    try {
      backup = await backupFile(file, opts.backupDir, KEEP_BACKUPS);
    } catch (err) {
      // A full disk leaves a partial backup behind: it is no backup, remove it.
      for (const f of await backupsIn(backupDir, file))
        if (!earlier.has(f))
          await fs.rm(path.join(backupDir, f), { force: true }).catch(() => undefined);
      throw fileError(backupDir, err) ?? err;
    }
    failpoint('hosts:after-backup');
    try {
      const res = await writeForeignFile(file, next);
      failpoint('hosts:after-write');
      return { ...base, changed: true, backup, method: res.method };
    } catch (err) {
      // Nothing changed, so the backup of this change undoes nothing.
      if (backup) await fs.rm(backup, { force: true }).catch(() => undefined);
      throw fileError(file, err) ?? err;
    }
  };
  if (opts.dryRun) return run();
  // Another user's symlink in a sticky dir (/tmp/x/hosts) would choose which file is written (#16
  // attack).
  assertNoPlantedLink(file, 'the hosts file');
  const real = await realHostsFile(file);
  // A file the user cannot write is refused before the lock or a backup, never replaced by a rename
  // (#16).
  assertWritable(real);
  // Nothing to do: said without the lock (taking it creates and removes a file beside the hosts
  // file, changing its directory's mtime). Only where every writer replaces the file by a rename,
  // so that this one read sees a whole file: one writable by others is rewritten in place by them
  // (lib/core/foreign-file.ts), and is read under the lock as before.
  if (await renamedOnly(real)) {
    // One that throws (a broken block) is left to the run under the lock to say.
    const planned = await editHosts(file, edit, { ...opts, dryRun: true }).catch(() => undefined);
    if (planned && !planned.changed) return { ...planned, dryRun: false };
  }
  return withLock(`${real}.apxs-ts.lock`, run);
}

/**
 * Whether every apxs-ts that may write `file` replaces it by a rename (writeForeignFile): neither
 * its group nor others may write it (an ACL granting a user write shows in the group bits), so its
 * writers are its owner and root, and both rename; and it is no mount point (a bind-mounted file,
 * as /etc/hosts in a container, cannot be renamed over: every writer rewrites it in place, and a
 * read during that write can see a block that is neither the old one nor the new one).
 */
async function renamedOnly(file: string): Promise<boolean> {
  const st = await fs.stat(file).catch(() => undefined);
  return !!st && (st.mode & 0o022) === 0 && !(await isMountPoint(file));
}

/** Whether `real` (a real path) is a mount point (/proc/self/mountinfo); unknown counts as yes. */
async function isMountPoint(real: string): Promise<boolean> {
  const info = await fs.readFile('/proc/self/mountinfo', 'utf8').catch(() => undefined);
  if (info === undefined) return true;
  // Field 5 is the mount point, with space, tab, newline and backslash as octal escapes.
  const decode = (p: string) =>
    p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
  return info.split('\n').some((l) => decode(l.split(' ')[4] ?? '') === real);
}

export function hostsAdd(
  file: string,
  names: string[],
  ip = '127.0.0.1',
  opts: EditOptions = {},
): Promise<HostsChange> {
  const valid = names.map(validateHostname);
  validateIp(ip);
  return editHosts(file, (m) => addToBlock(m, ip, valid), opts);
}

export function hostsRemove(
  file: string,
  names: string[],
  opts: EditOptions = {},
): Promise<HostsChange> {
  const valid = names.map(validateHostname);
  return editHosts(file, (m) => removeFromBlock(m, valid), opts);
}

export async function hostsList(file: string): Promise<HostsEntry[]> {
  return parseHostsLines(await readHosts(file), file);
}
