/**
 * What apxs-ts created in a server root, so that it deletes only that: the
 * module .so files it copied, the DocumentRoots it made, the hosts-file
 * names it mapped for a vhost. Kept as JSON in the root's state dir and
 * written inside the edit transaction, so a rolled-back edit rolls the
 * record back too. A file apxs-ts did not record is never its to delete.
 */
import path from 'node:path';
import { ApxsError } from '../core/errors.js';
import type { EditTransaction } from '../core/edit-transaction.js';
import { disk, type FileView } from '../core/file-view.js';
import { readJson } from '../core/fs.js';
import type { ServerRoot } from './server-root.js';

export interface Ledger {
  /** Absolute .so path -> the module installed as it. */
  /**
   * sha256: of the .so as apxs-ts wrote it (a package upgrade that replaced it since is then told
   * apart).
   */
  modules: Record<string, { module: string; sha256?: string }>;
  /** Absolute directory -> the vhost whose DocumentRoot it was created as. */
  docroots: Record<string, { vhost: string; top?: string }>;
  /** `hostsFile\0name` -> the vhost that mapped it. */
  hostNames: Record<string, { vhost: string }>;
  /** vhost -> its TLS certificate+key file (apxs-ts-tls/NAME-SERIAL.pem), port, names, expiry. */
  tls: Record<string, TlsRecord>;
  /**
   * httpd's own modules apxs-ts loaded for TLS (Debian: the mods-enabled links it made), taken out
   * with the last TLS vhost.
   */
  tlsModules: string[];
}

export interface TlsRecord {
  file: string;
  port: number;
  names: string[];
  notAfter: string;
  /** The local CA's fingerprint that signed it. */
  ca: string;
  httpsOnly?: boolean;
}

const ledgerFile = (sr: ServerRoot) => path.join(sr.stateDir, 'created.json');

/** `view`: inside an edit, its transaction (a --check plan's ledger is the one it would write). */
export async function readLedger(sr: ServerRoot, view: FileView = disk): Promise<Ledger> {
  // Written through by writeFileAtomic (which follows links): a ledger swapped
  // for a symlink would have root's next install rewrite whatever it points at.
  const kind = await view.lstat(ledgerFile(sr));
  if (kind !== 'absent' && kind !== 'file') {
    throw new ApxsError(
      'UNSAFE_CONFIG',
      `${ledgerFile(sr)} is ${kind === 'link' ? 'a symlink' : 'not a regular file'}: ` +
        'apxs-ts keeps its record only in a file of its own',
      {
        hint:
          'look at it, then move it away (apxs-ts then knows ' +
          'of nothing it created here); nothing was changed',
        data: { path: ledgerFile(sr) },
      },
    );
  }
  const l = await readJson<Partial<Ledger>>(ledgerFile(sr), 'BAD_INPUT', view);
  return {
    modules: l?.modules ?? {},
    docroots: l?.docroots ?? {},
    hostNames: l?.hostNames ?? {},
    tls: l?.tls ?? {},
    tlsModules: l?.tlsModules ?? [],
  };
}

/** Changes the ledger inside `tx` (undone with it). */
export async function updateLedger(
  tx: EditTransaction,
  sr: ServerRoot,
  change: (l: Ledger) => void,
): Promise<void> {
  const l = await readLedger(sr, tx);
  change(l);
  // Written only when it changed (tx.write compares): a second identical run leaves its mtime
  // alone.
  await tx.write(ledgerFile(sr), JSON.stringify(l, null, 2) + '\n');
}

export const hostKey = (hostsFile: string, name: string) =>
  `${path.resolve(hostsFile)}\0${name.toLowerCase()}`;
