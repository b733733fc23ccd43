/**
 * /etc/hosts, edited safely. apxs-ts writes only between `# BEGIN apxs-ts`
 * and `# END apxs-ts`; every byte outside (comments, inline comments, tabs,
 * CRLF, a BOM, a missing final newline) stays as it was. Writes are atomic
 * (lib/atomic-file), preceded by a timestamped backup, and made under a lock
 * so concurrent runs do not lose each other's entries.
 */
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { backupFile, readIfExists, writeFileAtomic } from '../core/atomic-file.js';
import { ApxsError, permissionError } from '../core/errors.js';
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

export function parseHostsLines(text: string): HostsEntry[] {
  const block = findBlock(text, BLOCK_ID);
  const blockStartLine = block ? text.slice(0, block.start).split('\n').length : -1;
  const blockEndLine = block ? blockStartLine + block.body.length + 1 : -1;
  const out: HostsEntry[] = [];
  text.replace(/^\ufeff/, '').split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '').replace(/#.*/, '').trim();
    if (!line) return;
    const [ip, ...names] = line.split(/\s+/);
    if (!ip || names.length === 0) return;
    out.push({ ip, names, line: i + 1, managed: i + 1 > blockStartLine && i + 1 < blockEndLine });
  });
  return out;
}

export function readBlock(text: string): HostsBlock {
  const block = findBlock(text, BLOCK_ID);
  const map: HostsBlock = new Map();
  for (const l of block?.body ?? []) {
    const [ip, ...names] = l.replace(/#.*/, '').trim().split(/\s+/);
    if (ip && names.length) map.set(ip, [...(map.get(ip) ?? []), ...names]);
  }
  return map;
}

function renderBlock(map: HostsBlock): string[] {
  return [...map.entries()].filter(([, n]) => n.length > 0).map(([ip, names]) => `${ip} ${names.join(' ')}`);
}

/** The new text with our block set to `map` (removed entirely when empty). */
export function withBlock(text: string, map: HostsBlock): string {
  const lines = renderBlock(map);
  return lines.length === 0 ? removeBlock(text, BLOCK_ID) : upsertBlock(text, BLOCK_ID, lines, text.length);
}

export function addToBlock(map: HostsBlock, ip: string, names: string[]): HostsBlock {
  const next: HostsBlock = new Map([...map].map(([k, v]) => [k, [...v]]));
  const family = net.isIP(ip);
  for (const name of names) {
    // A name has one address per family in our block: moving it is an update.
    for (const [other, list] of next) {
      if (other !== ip && net.isIP(other) === family) next.set(other, list.filter((n) => n !== name));
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
  diff: string[];
  backup: string | undefined;
  method: 'rename' | 'in-place' | undefined;
  entries: { ip: string; names: string[] }[];
}

/** Lines of our block before and after, as a small diff. */
export function blockDiff(before: string, after: string): string[] {
  const a = findBlock(before, BLOCK_ID)?.body ?? [];
  const b = findBlock(after, BLOCK_ID)?.body ?? [];
  return [...a.filter((l) => !b.includes(l)).map((l) => `-${l}`), ...b.filter((l) => !a.includes(l)).map((l) => `+${l}`)];
}

export interface EditOptions {
  dryRun?: boolean;
  /** Where backups go (default: beside the hosts file). */
  backupDir?: string;
}

async function editHosts(file: string, edit: (map: HostsBlock) => HostsBlock, opts: EditOptions): Promise<HostsChange> {
  const run = async (): Promise<HostsChange> => {
    const raw = await readIfExists(file);
    if (raw === undefined) throw new ApxsError('NOT_FOUND', `${file} does not exist`, { hint: 'pass --hosts-file PATH' });
    const text = raw.toString('utf8');
    const before = readBlock(text);
    const after = edit(before);
    const next = withBlock(text, after);
    const base = { file, dryRun: !!opts.dryRun, diff: blockDiff(text, next), entries: [...after].map(([ip, names]) => ({ ip, names })) };
    if (next === text) return { ...base, changed: false, backup: undefined, method: undefined };
    if (opts.dryRun) return { ...base, changed: true, backup: undefined, method: undefined };
    const backup = await backupFile(file, opts.backupDir, KEEP_BACKUPS).catch((err: unknown) => {
      throw permissionError(opts.backupDir ?? path.dirname(file), err) ?? err;
    });
    const res = await writeFileAtomic(file, next);
    return { ...base, changed: true, backup, method: res.method };
  };
  return opts.dryRun ? run() : withLock(`${await realTarget(file)}.apxs-ts.lock`, run);
}

async function realTarget(file: string): Promise<string> {
  return fs.realpath(file).catch(() => path.resolve(file));
}

export function hostsAdd(file: string, names: string[], ip = '127.0.0.1', opts: EditOptions = {}): Promise<HostsChange> {
  const valid = names.map(validateHostname);
  validateIp(ip);
  return editHosts(file, (m) => addToBlock(m, ip, valid), opts);
}

export function hostsRemove(file: string, names: string[], opts: EditOptions = {}): Promise<HostsChange> {
  const valid = names.map(validateHostname);
  return editHosts(file, (m) => removeFromBlock(m, valid), opts);
}

/** Our block as it is now. */
export async function hostsBlockOf(file: string): Promise<HostsBlock> {
  return readBlock((await readIfExists(file))?.toString('utf8') ?? '');
}

/** Puts our block back to `map` exactly (used to undo an add). */
export function hostsSetBlock(file: string, map: HostsBlock, opts: EditOptions = {}): Promise<HostsChange> {
  return editHosts(file, () => map, opts);
}

export async function hostsList(file: string): Promise<HostsEntry[]> {
  const raw = await readIfExists(file);
  if (raw === undefined) throw new ApxsError('NOT_FOUND', `${file} does not exist`, { hint: 'pass --hosts-file PATH' });
  return parseHostsLines(raw.toString('utf8'));
}
