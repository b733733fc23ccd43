/**
 * `tls trust` / `tls untrust`: the local CA in the stores clients read, and
 * out of them again, idempotent both ways (each store says whether it
 * changed). The system store the Debian way: a file in the local certs dir
 * (/usr/local/share/ca-certificates/apxs-ts-local-ca-FP.crt), then
 * update-ca-certificates rebuilds the bundle; untrust deletes that file (only
 * when it still holds this CA) and rebuilds again, which leaves the bundle
 * and the hash links as they were. Every path is an option: tests point them
 * all (and update-ca-certificates's own --certsconf, --certsdir,
 * --localcertsdir, --etccertsdir, --hooksdir) at a scratch copy. NSS
 * databases (Chrome on Linux: ~/.pki/nssdb; Firefox profiles) through
 * certutil, when it is installed; when it is not, the result says so.
 */
import { fileDiff, type FileDiff } from '../core/change-report.js';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.js';
import { shellWord } from '../core/command-hint.js';
import { ApxsError, fileError } from '../core/errors.js';
import { which } from '../core/fs.js';
import { lastLines, runCapture } from '../core/run.js';
import { assertTrusted, whyUntrusted } from '../core/trust.js';
import type { LocalCa } from './ca.js';

export interface SystemStore {
  /** Where local CA files go (update-ca-certificates --localcertsdir). */
  localCertsDir: string;
  /** Where the bundle and hash links are (--etccertsdir). */
  etcCertsDir: string;
  /**
   * The other update-ca-certificates options, passed when set: --certsconf, --certsdir, --hooksdir.
   */
  certsConf?: string;
  certsDir?: string;
  hooksDir?: string;
  /** The program (default update-ca-certificates on PATH, or /usr/sbin's). */
  tool?: string;
}

export { DEFAULT_SYSTEM_STORE } from './system-store-defaults.js';

export interface TrustOptions {
  /** null: leave the system store alone (--no-system). */
  system: SystemStore | null;
  /** NSS databases to use; undefined: those found under `home`; []: none (--no-nss). */
  nssDbs?: string[];
  home?: string;
  /**
   * Decide and report; write no file, run no update-ca-certificates or certutil that changes a
   * store.
   */
  check?: boolean;
}

export interface StoreResult {
  store: 'system' | 'nss';
  where: string;
  /** The CA is in it (after the command). */
  trusted: boolean;
  changed: boolean;
  /** Why a store was skipped (a tool missing, no database found). */
  note?: string;
  /**
   * The system store: the CA file trust writes (untrust deletes), in Ansible's shape; the bundle
   * update-ca-certificates rebuilds is not diffed.
   */
  diff?: FileDiff;
}

export interface TrustResult {
  ca: string;
  changed: boolean;
  diff: FileDiff[];
  stores: StoreResult[];
  /** The line that makes Node trust the CA (Node reads no system store: mkcert #78). */
  nodeExtraCaCerts: string;
}

const fp16 = (ca: LocalCa) => ca.fingerprint.replace(/:/g, '').slice(0, 16).toLowerCase();
export const systemCertFile = (ca: LocalCa, s: SystemStore) =>
  path.join(s.localCertsDir, `apxs-ts-local-ca-${fp16(ca)}.crt`);
const nickname = (ca: LocalCa) => `apxs-ts local CA ${fp16(ca)}`;
const bundleFile = (s: SystemStore) => path.join(s.etcCertsDir, 'ca-certificates.crt');
const pemBody = (pem: string) => pem.replace(/-----[A-Z ]+-----|\s/g, '');

/** Whether the system bundle holds this CA (what TLS clients on the machine read). */
export async function inSystemBundle(ca: LocalCa, s: SystemStore): Promise<boolean> {
  const text = await fs.readFile(bundleFile(s), 'utf8').catch(() => '');
  return pemBody(text).includes(pemBody(ca.certPem));
}

/**
 * update-ca-certificates: the one named, else on PATH, else /usr/sbin's; undefined when there is
 * none.
 */
async function findTool(s: SystemStore): Promise<string | undefined> {
  if (s.tool) return s.tool;
  const found = await which(['update-ca-certificates']);
  if (found) return found;
  return (await fs.stat('/usr/sbin/update-ca-certificates').then(
    () => true,
    () => false,
  ))
    ? '/usr/sbin/update-ca-certificates'
    : undefined;
}

async function updateCaCertificates(tool: string, s: SystemStore): Promise<void> {
  const args = [
    '--localcertsdir',
    s.localCertsDir,
    '--etccertsdir',
    s.etcCertsDir,
    ...(s.certsConf ? ['--certsconf', s.certsConf] : []),
    ...(s.certsDir ? ['--certsdir', s.certsDir] : []),
    ...(s.hooksDir ? ['--hooksdir', s.hooksDir] : []),
  ];
  const r = await runCapture(tool, args, { timeoutMs: 120_000 });
  if (r.exitCode !== 0) {
    throw new ApxsError('CHILD_FAILED', `${r.command} failed (exit ${r.exitCode})`, {
      hint: 'run it yourself to see why (as root for the system store)',
      details: lastLines(r.all, 10),
    });
  }
}

async function systemTrust(
  ca: LocalCa,
  s: SystemStore,
  want: boolean,
  check = false,
): Promise<StoreResult> {
  const file = systemCertFile(ca, s);
  const where = `${file} -> ${bundleFile(s)}`;
  // Root writes and deletes there: directories only root (or the user) can change, so nothing is
  // planted between a check and a write.
  assertTrusted(s.localCertsDir, 'the local certificates directory');
  assertTrusted(s.etcCertsDir, 'the certificates directory');
  // Only a plain file: a symlink there would have trust write, and untrust delete, wherever it
  // points.
  const st = await fs.lstat(file).catch(() => undefined);
  if (st && !st.isFile()) {
    if (!want)
      return {
        store: 'system',
        where,
        trusted: await inSystemBundle(ca, s),
        changed: false,
        note: `${file} is not a plain file (a symlink?): not apxs-ts's, left alone`,
      };
    throw new ApxsError(
      'UNSAFE_CONFIG',
      `refusing to write ${file}: it is ` +
        `${st.isSymbolicLink() ? 'a symlink' : 'not a plain file'}, not a file tls trust made`,
      {
        hint:
          'apxs-ts writes the CA there only as a plain file of its own; look ' +
          'at what it is, remove it if it is not needed, and run tls trust again',
        data: { path: file },
      },
    );
  }
  const current = st
    ? await fs.readFile(file, 'utf8').catch((err: unknown) => {
        throw fileError(file, err) ?? err;
      })
    : undefined;
  const ours = current !== undefined && pemBody(current) === pemBody(ca.certPem);
  if (want && current !== undefined && !ours) {
    throw new ApxsError(
      'UNSAFE_CONFIG',
      `refusing to replace ${file}: it holds something other than the local CA ${ca.certFile}`,
      {
        hint:
          "someone else's file has the name tls trust uses: move it aside " +
          "(it is not apxs-ts's to overwrite), then run tls trust again",
        data: { path: file },
      },
    );
  }
  const tool = await findTool(s);
  if (!tool) {
    return {
      store: 'system',
      where,
      trusted: false,
      changed: false,
      note:
        'update-ca-certificates not found (apt-get install ' +
        'ca-certificates): the system store was left alone',
    };
  }
  if (want) {
    if (ours && (await inSystemBundle(ca, s)))
      return { store: 'system', where, trusted: true, changed: false };
    const diff = ours ? undefined : fileDiff(file, undefined, ca.certPem);
    if (check) return { store: 'system', where, trusted: true, changed: true, diff };
    if (!ours)
      await writeFileAtomic(file, ca.certPem, { mode: 0o644 }).catch((err: unknown) => {
        throw fileError(file, err) ?? err;
      });
    await updateCaCertificates(tool, s);
    return { store: 'system', where, trusted: await inSystemBundle(ca, s), changed: true, diff };
  }
  // Only the file trust wrote, still holding this CA: anything else there is not apxs-ts's to
  // delete.
  if (!ours)
    return {
      store: 'system',
      where,
      trusted: await inSystemBundle(ca, s),
      changed: false,
      ...(current !== undefined ? { note: `${file} holds another certificate: left alone` } : {}),
    };
  const diff = fileDiff(file, current, undefined);
  if (check) return { store: 'system', where, trusted: false, changed: true, diff };
  await fs.rm(file).catch((err: unknown) => {
    throw fileError(file, err) ?? err;
  });
  await removeLinks(file, s);
  await updateCaCertificates(tool, s);
  return { store: 'system', where, trusted: await inSystemBundle(ca, s), changed: true, diff };
}

/**
 * The links update-ca-certificates made for `file` in the certs dir (NAME.pem
 * -> file, and openssl rehash's HASH.N -> NAME.pem): it takes out neither
 * when a local file goes (it rehashes only when it added or removed one of
 * its own list), so without this they would dangle.
 */
async function removeLinks(file: string, s: SystemStore): Promise<void> {
  const pem = `${path.basename(file, '.crt')}.pem`;
  for (const name of await fs.readdir(s.etcCertsDir).catch(() => [] as string[])) {
    const p = path.join(s.etcCertsDir, name);
    const target = await fs.readlink(p).catch(() => undefined);
    if ((name === pem && target === file) || (/^[0-9a-f]{8}\.\d+$/.test(name) && target === pem)) {
      await fs.rm(p).catch((err: unknown) => {
        throw fileError(p, err) ?? err;
      });
    }
  }
}

/**
 * NSS databases under `home`: Chrome's and Chromium's on Linux, Firefox's profiles (also the
 * snap's).
 */
export async function findNssDbs(home: string): Promise<string[]> {
  const candidates = [path.join(home, '.pki', 'nssdb')];
  for (const base of [
    path.join(home, '.mozilla', 'firefox'),
    path.join(home, 'snap', 'firefox', 'common', '.mozilla', 'firefox'),
  ]) {
    for (const p of await fs.readdir(base).catch(() => [] as string[]))
      candidates.push(path.join(base, p));
  }
  const out: string[] = [];
  for (const d of candidates)
    if (
      await fs.stat(path.join(d, 'cert9.db')).then(
        () => true,
        () => false,
      )
    )
      out.push(d);
  return out;
}

async function nssHas(certutil: string, db: string, nick: string): Promise<boolean> {
  return (
    (await runCapture(certutil, ['-d', `sql:${db}`, '-L', '-n', nick], { timeoutMs: 30_000 }))
      .exitCode === 0
  );
}

async function nssTrust(
  ca: LocalCa,
  certutil: string,
  db: string,
  want: boolean,
  check = false,
): Promise<StoreResult> {
  const nick = nickname(ca);
  const has = await nssHas(certutil, db, nick);
  if (has === want) return { store: 'nss', where: db, trusted: has, changed: false };
  if (check) return { store: 'nss', where: db, trusted: want, changed: true };
  const args = want
    ? ['-d', `sql:${db}`, '-A', '-t', 'C,,', '-n', nick, '-i', ca.certFile]
    : ['-d', `sql:${db}`, '-D', '-n', nick];
  const r = await runCapture(certutil, args, { timeoutMs: 30_000 });
  if (r.exitCode !== 0)
    throw new ApxsError('CHILD_FAILED', `${r.command} failed (exit ${r.exitCode})`, {
      hint: 'is the browser using that profile running? close it and run this again',
      details: lastLines(r.all, 10),
    });
  return { store: 'nss', where: db, trusted: await nssHas(certutil, db, nick), changed: true };
}

async function allStores(ca: LocalCa, opts: TrustOptions, want: boolean): Promise<TrustResult> {
  const stores: StoreResult[] = [];
  if (opts.system) stores.push(await systemTrust(ca, opts.system, want, opts.check));
  if (!opts.nssDbs || opts.nssDbs.length) {
    const dbs = opts.nssDbs ?? (await findNssDbs(opts.home ?? os.homedir()));
    const certutil = await which(['certutil']);
    if (!certutil)
      stores.push({
        store: 'nss',
        where: dbs.join(', ') || '(none found)',
        trusted: false,
        changed: false,
        note:
          'certutil not found (apt-get install libnss3-tools): ' +
          'NSS databases (Firefox, Chrome on Linux) were left alone',
      });
    else if (dbs.length === 0)
      stores.push({
        store: 'nss',
        where: '(none found)',
        trusted: false,
        changed: false,
        note: `no NSS database under ${opts.home ?? os.homedir()} (~/.pki/nssdb, Firefox profiles)`,
      });
    else {
      for (const db of dbs) {
        // certutil as root would write another user's database (and leave files of root's in it).
        const bad = whyUntrusted(db);
        if (bad && opts.nssDbs) assertTrusted(db, 'the NSS database');
        if (bad)
          stores.push({
            store: 'nss',
            where: db,
            trusted: false,
            changed: false,
            note: `left alone: ${bad.why} (pass --nss-db ${db} --trust ${db} if you mean it)`,
          });
        else stores.push(await nssTrust(ca, certutil, db, want, opts.check));
      }
    }
  }
  return {
    ca: ca.certFile,
    changed: stores.some((s) => s.changed),
    diff: stores.flatMap((s) => (s.diff ? [s.diff] : [])),
    stores,
    nodeExtraCaCerts: `export NODE_EXTRA_CA_CERTS=${shellWord(ca.certFile)}`,
  };
}

export const trustCa = (ca: LocalCa, opts: TrustOptions) => allStores(ca, opts, true);
export const untrustCa = (ca: LocalCa, opts: TrustOptions) => allStores(ca, opts, false);
