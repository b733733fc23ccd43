/**
 * What apxs-ts created in a server root, so that it deletes only that: the
 * module .so files it copied, the DocumentRoots it made, the hosts-file
 * names it mapped for a vhost. Kept as JSON in the root's state dir and
 * written inside the edit transaction, so a rolled-back edit rolls the
 * record back too. A file apxs-ts did not record is never its to delete.
 */
// @ts-nocheck

import path from 'node:path';
import type { EditTransaction } from '../core/edit-transaction.js';
import { readJson } from '../core/fs.js';
import type { ServerRoot } from './server-root.js';

export interface Ledger {
  /** Absolute .so path -> the module installed as it. */
  modules: Record<string, { module: string }>;
  /** Absolute directory -> the vhost whose DocumentRoot it was created as. */
  docroots: Record<string, { vhost: string }>;
  /** `hostsFile\0name` -> the vhost that mapped it. */
  hostNames: Record<string, { vhost: string }>;
}

const ledgerFile = (sr: ServerRoot) => path.join(sr.stateDir, 'created.json');

export async function readLedger(sr: ServerRoot): Promise<Ledger> {
  const l = await readJson<Partial<Ledger>>(ledgerFile(sr));
  return { modules: l?.modules ?? {}, docroots: l?.docroots ?? {}, hostNames: l?.hostNames ?? {} };
}

/** Changes the ledger inside `tx` (undone with it). */
export async function updateLedger(tx: EditTransaction, sr: ServerRoot, change: (l: Ledger) => void): Promise<void> {
  const l = await readLedger(sr);
  change(l);
  await tx.write(ledgerFile(sr), JSON.stringify(l, null, 2) + '\n');
}

export const hostKey = (hostsFile: string, name: string) => `${path.resolve(hostsFile)}\0${name.toLowerCase()}`;
