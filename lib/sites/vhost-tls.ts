/**
 * The TLS half of a vhost (`vhost add NAME --tls`, `vhost remove`, `tls
 * renew`): inside the vhost's edit transaction, in an order that keeps the
 * config valid at every instant (and so after a kill -9 anywhere):
 *
 *   1. the certificate and its key, ONE file (apxs-ts-tls/NAME-SERIAL.pem,
 *      0600, dir 0700), written atomically: a key is never on disk without
 *      its certificate, and a file a killed run left is one the journal
 *      takes away again (it is new: its undo is a delete);
 *   2. the modules (the layout's way: LoadModule block, or a2enmod links);
 *   3. the global block: `Listen PORT https` for each TLS port, the session cache;
 *   4. then the caller writes the vhost block naming the file.
 *
 * A renewed certificate is a new file; the old one is deleted only after the
 * commit (deleting is not undoable, and a key must not linger as a backup).
 */
import type { FileDiff } from '../core/change-report.js';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ApxsError } from '../core/errors.js';
import type { EditTransaction } from '../core/edit-transaction.js';
import { failpoint } from '../core/failpoint.js';
import { findBlock, upsertBlock } from '../core/marked-block.js';
import { withConfigEdit } from '../httpd/config-edit.js';
import { type GlobalBlock, readGlobalBlock, writeGlobalBlock } from '../httpd/global-block.js';
import type { SharedModule } from '../httpd/layout.js';
import { readLedger, updateLedger, type Ledger, type TlsRecord } from '../httpd/ledger.js';
import { ALIAS_MODULE, tlsModules, type ServerProfile } from '../httpd/profile.js';
import { readServerInfo } from '../httpd/server-info.js';
import type { ServerRoot } from '../httpd/server-root.js';
import { caSigningKey, ensureCa, loadCa, type LocalCa } from '../tls/ca.js';
import { checkPermitted, issueLeaf, pairPem } from '../tls/leaf.js';

export interface TlsOptions {
  caDir: string;
  port?: number;
  httpsOnly?: boolean;
  /**
   * --check: the CA is only read (ensureCa takes its lock and may make it).
   * None yet: a throwaway one in a temp dir signs the plan's certificate, and
   * `throwawayCa` names that dir for the caller to remove.
   */
  check?: boolean;
}

export interface TlsPlan {
  ca: LocalCa;
  port: number;
  modules: SharedModule[];
  listenHost: string | undefined;
  httpsOnly: boolean;
  /**
   * Under --check with no local CA yet: the temp dir of the throwaway one (the caller removes it).
   */
  throwawayCa?: string;
}

/**
 * The CA a plan signs with: the local one, read only; or, when there is none yet, a throwaway one.
 */
async function planCa(caDirPath: string): Promise<{ ca: LocalCa; throwawayCa?: string }> {
  const existing = await loadCa(caDirPath);
  if (existing) return { ca: existing };
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'apxs-ts-check-ca-'));
  return { ca: (await ensureCa(path.join(tmp, 'ca'))).ca, throwawayCa: tmp };
}

/**
 * A certificate with less than this left is reissued by `vhost add --tls` (renew --expiring picks
 * its own).
 */
const REUSE_MIN_DAYS = 30;
const DAY = 86400_000;
const MODULES_ID = 'tls modules';
/** An IPv6 address in a Listen line goes in brackets. */
const bracketed = (host: string) => (host.includes(':') ? `[${host}]` : host);
/** The global block: the TLS ports' Listen lines and the session cache. */
const GLOBAL: GlobalBlock = {
  id: 'tls',
  snippet: 'apxs-ts-tls',
  header:
    '# TLS for the vhosts apxs-ts made (apxs-ts vhost add --tls); goes with the last of them.\n',
};

export const tlsDir = (sr: ServerRoot) => path.join(path.dirname(sr.configFile), 'apxs-ts-tls');

function quote(p: string): string {
  return `"${p.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * Everything checked before the edit begins: the server can do TLS, the CA exists and permits the
 * names, a port.
 */
export async function planTls(
  sr: ServerRoot,
  profile: ServerProfile,
  name: string,
  names: string[],
  opts: TlsOptions,
): Promise<TlsPlan> {
  const modules = await tlsModules(sr, profile, opts.httpsOnly ? [ALIAS_MODULE] : []);
  // A CA already there is read without its lock (a re-run with nothing to do then writes nothing
  // in the CA dir, not even the lock file); signing takes the lock and checks the CA is still this
  // one (caSigningKey), so a racing `tls ca --new` is caught there as before.
  const { ca, throwawayCa }: { ca: LocalCa; throwawayCa?: string } = opts.check
    ? await planCa(opts.caDir)
    : await ensureCa(opts.caDir, { lockFree: true });
  checkPermitted(ca, names);
  const ledger = await readLedger(sr);
  const port =
    opts.port ??
    ledger.tls[name]?.port ??
    Object.values(ledger.tls)[0]?.port ??
    (await sr.layout.defaultTlsPort(sr));
  if (!port) {
    throw new ApxsError('USAGE', `no TLS port for ${sr.root}: pass --tls-port N`, {
      hint:
        'the port https listens on, e.g. --tls-port 8443 (later TLS ' +
        'vhosts share it; sandbox create --tls-port records one)',
    });
  }
  const info = await readServerInfo(sr);
  if (
    info.listens.some((l) => l.port === port && l.protocol !== 'https') &&
    !Object.values(ledger.tls).some((r) => r.port === port)
  ) {
    throw new ApxsError(
      'USAGE',
      `${sr.configFile} already listens on ${port} for plain HTTP: the TLS port must be another`,
      { hint: 'pass --tls-port with a free port' },
    );
  }
  return {
    ca,
    port,
    modules,
    listenHost: info.listens[0]?.host,
    httpsOnly: !!opts.httpsOnly,
    ...(throwawayCa ? { throwawayCa } : {}),
  };
}

/** The global block for the TLS ports in `ledger` (none: the block goes). */
async function writeGlobal(
  tx: EditTransaction,
  sr: ServerRoot,
  ledger: Ledger,
  listenHost: string | undefined,
): Promise<void> {
  const at = await readGlobalBlock(sr, tx, GLOBAL);
  const { file, text } = at;
  const ours = (findBlock(text, GLOBAL.id, file)?.body ?? [])
    .map((l) => /^Listen\s+(?:\S+:)?(\d+)/.exec(l)?.[1])
    .filter(Boolean)
    .map(Number);
  const ports = [...new Set(Object.values(ledger.tls).map((r) => r.port))].sort((a, b) => a - b);
  // A port the rest of the config listens on already (Debian's ports.conf: 443 when ssl is on) gets
  // no second Listen.
  const elsewhere = ports.length
    ? (await readServerInfo(sr, tx)).listens
        .filter((l) => !ours.includes(l.port))
        .map((l) => l.port)
    : [];
  const body = ports.length
    ? [
        ...ports
          .filter((p) => !elsewhere.includes(p))
          .map((p) => `Listen ${listenHost ? `${bracketed(listenHost)}:` : ''}${p} https`),
        `SSLSessionCache ${quote(`shmcb:${path.join(sr.stateDir, 'ssl-scache')}(512000)`)}`,
      ]
    : [];
  await writeGlobalBlock(tx, sr, GLOBAL, at, body);
}

/**
 * Whether `file` still holds the certificate apxs-ts wrote for `rec`: a
 * plain file whose certificate has the serial its name carries and the
 * record's expiry. A file the user replaced (their own certificate, a
 * symlink) is theirs: vhost remove and tls renew leave it.
 */
async function stillOurs(rec: TlsRecord, tx: EditTransaction): Promise<boolean> {
  if ((await tx.lstat(rec.file)) !== 'file') return false;
  const serial = /-([0-9a-f]{12})\.pem$/.exec(rec.file)?.[1];
  try {
    const { X509Certificate } = await import('node:crypto');
    const cert = new X509Certificate((await tx.read(rec.file)) ?? '');
    return (
      !!serial &&
      cert.serialNumber.toLowerCase().replace(/^0+/, '').startsWith(serial.replace(/^0+/, '')) &&
      // The certificate holds whole seconds; the record the milliseconds it was made with.
      Math.floor(new Date(cert.validTo).getTime() / 1000) ===
        Math.floor(new Date(rec.notAfter).getTime() / 1000)
    );
  } catch {
    return false;
  }
}

/**
 * The old certificate file goes after the commit, when it is still the one apxs-ts wrote; else a
 * warning says it was kept.
 */
async function removeOldPair(tx: EditTransaction, rec: TlsRecord): Promise<boolean> {
  if (await stillOurs(rec, tx)) {
    await tx.removeAfterCommit(rec.file);
    return true;
  }
  if ((await tx.lstat(rec.file)) !== 'absent')
    tx.warnings.push(
      `${rec.file} no longer holds the certificate apxs-ts wrote there: left as it is`,
    );
  return false;
}

const sameNames = (a: string[], b: string[]) =>
  a.length === b.length && a.every((n, i) => n === b[i]);

/** Steps 1-3 of the header for vhost `name`; returns its record (file, port, ...). */
export async function applyTls(
  tx: EditTransaction,
  sr: ServerRoot,
  name: string,
  names: string[],
  plan: TlsPlan,
  now = new Date(),
): Promise<TlsRecord> {
  const ledger = await readLedger(sr, tx);
  const prev = ledger.tls[name];
  const wanted = [...new Set(names.map((n) => n.toLowerCase()))];
  const fresh =
    prev &&
    prev.ca === plan.ca.fingerprint &&
    sameNames(prev.names, wanted) &&
    new Date(prev.notAfter).getTime() - now.getTime() > REUSE_MIN_DAYS * DAY &&
    (await tx.read(prev.file)) !== undefined;
  // The record as writePair makes it (httpsOnly only when set): re-adding the same vhost rewrites
  // no ledger (#23).
  const { httpsOnly: _was, ...kept } = prev ?? ({} as TlsRecord);
  const record = fresh
    ? { ...kept, port: plan.port, ...(plan.httpsOnly ? { httpsOnly: true } : {}) }
    : await writePair(tx, sr, name, wanted, plan.ca, prev, now, plan);
  await updateLedger(tx, sr, (l) => {
    l.tls[name] = record;
  });
  const loaded = await sr.layout.enableSharedModules(tx, sr, MODULES_ID, plan.modules);
  await updateLedger(tx, sr, (l) => {
    l.tlsModules = [...new Set([...l.tlsModules, ...loaded])];
  });
  await writeGlobal(tx, sr, await readLedger(sr, tx), plan.listenHost);
  return record;
}

async function writePair(
  tx: EditTransaction,
  sr: ServerRoot,
  name: string,
  names: string[],
  ca: LocalCa,
  prev: TlsRecord | undefined,
  now: Date,
  plan: { port: number; httpsOnly: boolean },
  key?: CryptoKey,
): Promise<TlsRecord> {
  const leaf = await issueLeaf(ca, names, now, key ?? (await caSigningKey(ca)));
  const dir = tlsDir(sr);
  await tx.mkdir(dir, 0o700);
  const file = path.join(dir, `${name}-${leaf.serial.slice(0, 12)}.pem`);
  failpoint('tls:before-pair');
  await tx.write(file, pairPem(leaf), 0o600);
  failpoint('tls:after-pair');
  // The old pair goes after the commit: a rollback still has it, and no copy of its key is kept as
  // a backup.
  if (prev && prev.file !== file) await removeOldPair(tx, prev);
  return {
    file,
    port: plan.port,
    names,
    notAfter: leaf.notAfter.toISOString(),
    ca: ca.fingerprint,
    ...(plan.httpsOnly ? { httpsOnly: true } : {}),
  };
}

/**
 * vhost remove: its certificate (after the commit), and with the last TLS vhost the global block
 * and the modules. Call after the site block is gone.
 */
export async function removeTls(
  tx: EditTransaction,
  sr: ServerRoot,
  name: string,
): Promise<boolean> {
  const ledger = await readLedger(sr, tx);
  const rec = ledger.tls[name];
  if (!rec) return false;
  const removed = await removeOldPair(tx, rec);
  delete ledger.tls[name];
  const last = Object.keys(ledger.tls).length === 0;
  await writeGlobal(tx, sr, ledger, undefined);
  if (last) await sr.layout.disableSharedModules(tx, sr, MODULES_ID, ledger.tlsModules);
  // The dir goes with the last certificate when nothing else is in it (an admin's file in it keeps
  // it).
  const left = await tx.readdir(tlsDir(sr));
  if (last && removed && left.every((f) => path.join(tlsDir(sr), f) === rec.file))
    await tx.removeAfterCommit(tlsDir(sr));
  await updateLedger(tx, sr, (l) => {
    delete l.tls[name];
    if (last) l.tlsModules = [];
  });
  return true;
}

/**
 * `tls renew`: a new certificate for each vhost in `names`, the vhost block
 * switched to it by replacing the file's path (inside apxs-ts's block only),
 * the old file deleted after the commit. `siteFile` says where each block is.
 */
export async function renewInTx(
  tx: EditTransaction,
  sr: ServerRoot,
  names: string[],
  ca: LocalCa,
  now: Date,
): Promise<TlsRecord[]> {
  const ledger = await readLedger(sr, tx);
  const key = await caSigningKey(ca);
  const out: TlsRecord[] = [];
  for (const name of names) {
    const prev = ledger.tls[name]!;
    checkPermitted(ca, prev.names);
    const rec = await writePair(
      tx,
      sr,
      name,
      prev.names,
      ca,
      prev,
      now,
      { port: prev.port, httpsOnly: !!prev.httpsOnly },
      key,
    );
    const site = sr.layout.siteFile(sr, name);
    const text = (await tx.readText(site)) ?? (await fs.readFile(site, 'utf8'));
    const block = findBlock(text, `vhost ${name}`, site);
    if (!block)
      throw new ApxsError('NOT_FOUND', `no vhost ${name} made by apxs-ts in ${site}`, {
        hint: 'apxs-ts tls list shows the TLS vhosts',
      });
    const body = block.body.map((l) => l.replace(quote(prev.file), quote(rec.file)));
    await tx.write(site, upsertBlock(text, `vhost ${name}`, body, text.length, site));
    await updateLedger(tx, sr, (l) => {
      l.tls[name] = rec;
    });
    out.push(rec);
  }
  return out;
}

export interface TlsListEntry extends TlsRecord {
  vhost: string;
  daysLeft: number;
  /** The file is there and holds its certificate. */
  present: boolean;
  /** Signed by the local CA there is now (false after tls ca --new: renew it). */
  currentCa: boolean;
}

/** Every TLS vhost apxs-ts made in this root: names, port, expiry, file. */
export async function listTls(
  sr: ServerRoot,
  ca: LocalCa | undefined,
  now = new Date(),
): Promise<TlsListEntry[]> {
  const ledger = await readLedger(sr);
  const out: TlsListEntry[] = [];
  for (const [vhost, r] of Object.entries(ledger.tls).sort(([a], [b]) => a.localeCompare(b))) {
    const text = await fs.readFile(r.file, 'utf8').catch(() => '');
    out.push({
      ...r,
      vhost,
      daysLeft: Math.floor((new Date(r.notAfter).getTime() - now.getTime()) / DAY),
      present: text.includes('BEGIN CERTIFICATE'),
      currentCa: r.ca === ca?.fingerprint,
    });
  }
  return out;
}

/**
 * `tls renew`: which vhosts (`names`, or those expiring within `expiringDays`,
 * or signed by another CA than today's, or all), reissued in one edit.
 */
export async function renewTls(
  sr: ServerRoot,
  opts: {
    caDir: string;
    names?: string[];
    expiringDays?: number;
    all?: boolean;
    now?: Date;
    /** Decide which are due; write nothing (no CA made either). */
    check?: boolean;
  },
): Promise<{
  renewed: TlsRecord[];
  /** The vhosts renewed (would be, under check). */
  due: string[];
  skipped: string[];
  changed: string[];
  warnings: string[];
  /** Each file of the server root changed (or, under check, that would be). */
  diff: FileDiff[];
}> {
  const now = opts.now ?? new Date();
  // The CA is only read here: a renew with nothing due takes no lock and writes nothing (not even
  // the CA's lock file). With no CA every certificate is due; a real run makes the CA below.
  const ca = await loadCa(opts.caDir);
  const entries = await listTls(sr, ca, now);
  for (const n of opts.names ?? []) {
    if (!entries.some((e) => e.vhost === n))
      throw new ApxsError('NOT_FOUND', `no TLS vhost ${n} made by apxs-ts in ${sr.root}`, {
        hint: 'apxs-ts tls list shows them; apxs-ts vhost add NAME --tls makes one',
      });
  }
  const pick = entries.filter(
    (e) =>
      opts.all ||
      opts.names?.includes(e.vhost) ||
      !e.currentCa ||
      !e.present ||
      (opts.expiringDays !== undefined && e.daysLeft < opts.expiringDays),
  );
  const skipped = entries.filter((e) => !pick.includes(e)).map((e) => e.vhost);
  const due = pick.map((e) => e.vhost);
  // Under check with no CA yet, the real run makes one first: there is nothing to sign the plan
  // with.
  if (pick.length === 0 || (opts.check && !ca))
    return { renewed: [], due, skipped, changed: [], warnings: [], diff: [] };
  const signer = ca ?? (await ensureCa(opts.caDir)).ca;
  // Under check the plan signs in memory too (the same steps, nothing written), so its diff is the
  // run's.
  const edit = await withConfigEdit(
    sr,
    `renewing ${pick.length} certificate(s)`,
    (tx) =>
      renewInTx(
        tx,
        sr,
        pick.map((e) => e.vhost),
        signer,
        now,
      ),
    { check: opts.check },
  );
  return {
    renewed: opts.check ? [] : edit.value,
    due,
    skipped,
    changed: edit.changed,
    warnings: edit.warnings,
    diff: edit.diff,
  };
}
