/**
 * `apxs-ts doctor`: what apxs-ts detected for this server root and machine
 * (server root kind and path, httpd version, series and MPM from `httpd -V`,
 * compiler, apxs, flags, hosts file, Listen ports), and what is missing,
 * each with the one command that fixes it. Every check runs even when an
 * earlier one failed: a report that stops at the first gap hides the next.
 */
import { constants, promises as fs } from 'node:fs';
import { ApxsError } from '../core/errors.js';
import { exists, which } from '../core/fs.js';
import { canBind, freePort, listeningAddresses, whoListens } from '../core/ports.js';
import { runCapture } from '../core/run.js';
import { httpdCommand } from '../httpd/invoke.js';
import { serverProfile } from '../httpd/profile.js';
import { readServerInfo, type ListenAddress } from '../httpd/server-info.js';
import { detectServerRoot, type ServerRoot } from '../httpd/server-root.js';
import { serverFiles } from '../ctl/server-files.js';
import { serverState } from '../ctl/server-state.js';
import { toolchainForServer, type Toolchain } from '../module/toolchain.js';
import { buildVarsSource } from './build-vars.js';
import { caSigningKey, loadCa } from '../tls/ca.js';
import { caDir } from '../tls/ca-dir.js';
import { DEFAULT_SYSTEM_STORE, inSystemBundle } from '../tls/trust-stores.js';
import { listTls } from '../sites/vhost-tls.js';
import { apxsCommand, DEFAULT_HOSTS_FILE } from '../core/command-hint.js';

export interface Missing {
  what: string;
  why: string;
  /** The one command (or, where no command can choose for the user, the one edit) that fixes it. */
  fix: string;
}

export interface ListenStatus {
  address: string;
  port: number;
  /**
   * free; this server (running and listening there); taken (by another process); privileged (below
   * 1024, not root).
   */
  status: 'free' | 'this server' | 'taken' | 'privileged';
  holder?: string;
}

export interface DoctorReport {
  serverRoot: { kind: string; path: string; config: string } | null;
  httpd: {
    binary: string;
    version: string | null;
    series: string | null;
    mpm: string | null;
  } | null;
  running: { pid: number } | null;
  compiler: { cc: string; ccVersion: string | null; cxx: string; cxxVersion: string | null };
  apxs: string | null;
  flags: { cflags: string[]; cxxflags: string[]; ldflags: string[] } | null;
  hostsFile: { path: string; writable: boolean; fix: string | null };
  listen: ListenStatus[];
  /**
   * The local CA (tls ca), whether the system store trusts it, and this root's TLS certificates.
   */
  tls: TlsFacts;
  missing: Missing[];
  warnings: string[];
}

export interface TlsFacts {
  ca: {
    file: string;
    fingerprint: string;
    notAfter: string;
    daysLeft: number;
    systemTrusted: boolean;
  } | null;
  certificates: {
    vhost: string;
    names: string[];
    notAfter: string;
    daysLeft: number;
    present: boolean;
    currentCa: boolean;
  }[];
}

/** A certificate with fewer days left is reported, with the renew command. */
export const EXPIRY_WARN_DAYS = 30;

async function tlsFacts(sr: ServerRoot | undefined, report: DoctorReport): Promise<void> {
  const said = (e: unknown) =>
    'local CA: ' +
    `${(e as Error).message}${e instanceof ApxsError && e.hint ? `; fix: ${e.hint}` : ''}`;
  const ca = await loadCa(caDir()).catch(
    (e: unknown) => (report.warnings.push(said(e)), undefined),
  );
  const now = Date.now();
  if (ca) {
    // The key as vhost add --tls would use it: there, not a symlink, not readable by others, the
    // certificate's.
    await caSigningKey(ca).catch((e: unknown) => report.warnings.push(said(e)));
    const daysLeft = Math.floor((new Date(ca.notAfter).getTime() - now) / 86400_000);
    const systemTrusted = await inSystemBundle(ca, DEFAULT_SYSTEM_STORE);
    report.tls.ca = {
      file: ca.certFile,
      fingerprint: ca.fingerprint,
      notAfter: ca.notAfter,
      daysLeft,
      systemTrusted,
    };
    if (!systemTrusted)
      report.warnings.push(
        `the local CA ${ca.certFile} is not in the system store ` +
          `(${DEFAULT_SYSTEM_STORE.etcCertsDir}): browsers and curl will ` +
          'not trust its certificates; fix: sudo apxs-ts tls trust',
      );
    if (daysLeft < EXPIRY_WARN_DAYS)
      report.warnings.push(
        `the local CA expires in ${daysLeft} days (${ca.notAfter}); fix: apxs-ts ` +
          'tls ca --new, then apxs-ts tls trust and apxs-ts tls renew --all',
      );
  }
  if (!sr) return;
  const certs = await listTls(sr, ca).catch(() => []);
  report.tls.certificates = certs.map((c) => ({
    vhost: c.vhost,
    names: c.names,
    notAfter: c.notAfter,
    daysLeft: c.daysLeft,
    present: c.present,
    currentCa: c.currentCa,
  }));
  for (const c of certs) {
    if (!c.present)
      report.warnings.push(
        `the certificate of ${c.vhost} (${c.file}) is missing; fix: ` +
          `${apxsCommand(`tls renew ${c.vhost}`, { serverRoot: sr.root })}`,
      );
    else if (c.daysLeft < EXPIRY_WARN_DAYS)
      report.warnings.push(
        `the certificate of ${c.vhost} expires in ${c.daysLeft} ` +
          `days (${c.notAfter}); fix: ` +
          `${apxsCommand(`tls renew --expiring ${EXPIRY_WARN_DAYS}`, { serverRoot: sr.root })}`,
      );
    else if (!c.currentCa)
      report.warnings.push(
        `the certificate of ${c.vhost} was signed by another local CA; fix: ` +
          `${apxsCommand(`tls renew ${c.vhost}`, { serverRoot: sr.root })}`,
      );
  }
}

const SANDBOX_FIX = 'apxs-ts sandbox create ./srv --port 8080';

/** `CMD --version`'s first line, or null when it cannot run. */
async function versionLine(cmd: string): Promise<string | null> {
  const res = await runCapture(cmd, ['--version']).catch(() => undefined);
  return res && res.exitCode === 0 ? res.stdout.split('\n')[0]!.trim() : null;
}

async function httpdFacts(sr: ServerRoot, report: DoctorReport): Promise<void> {
  if (!(await exists(sr.httpd))) {
    report.httpd = { binary: sr.httpd, version: null, series: null, mpm: null };
    // A system binary comes from the distribution; any other from a source build into its prefix.
    const fix = sr.httpd.startsWith('/usr/')
      ? 'sudo apt-get install -y apache2'
      : `apxs-ts source build 2.4 --prefix ${sr.root}`;
    report.missing.push({ what: 'httpd', why: `${sr.httpd} does not exist`, fix });
    return;
  }
  const profile = await serverProfile(sr).catch((e: unknown) => {
    report.warnings.push(`httpd -v: ${(e as Error).message}`);
    return undefined;
  });
  const cmd = await httpdCommand(sr, ['-V']);
  // -V with this root's config: Debian loads its MPM as a module, so only the config says which.
  const v = await runCapture(cmd.file, cmd.args, { env: cmd.env });
  // [ \t]*, not \s*: with no MPM loaded the field is empty, and \s* would read on into the next
  // line's "Server".
  const mpm = /^Server MPM:[ \t]*(\S+)/m.exec(v.stdout)?.[1] ?? null;
  if (v.exitCode !== 0)
    report.warnings.push(
      `httpd -V exited ${v.exitCode}: ${v.all.split('\n').find((l) => l.trim()) ?? ''}`,
    );
  report.httpd = {
    binary: sr.httpd,
    version: profile?.version ?? null,
    series: profile?.series ?? null,
    mpm,
  };
}

async function toolchainFacts(sr: ServerRoot | undefined, report: DoctorReport): Promise<void> {
  let tc: Toolchain | undefined;
  try {
    tc = await toolchainForServer(sr);
  } catch (e) {
    if (!(e instanceof ApxsError)) throw e;
    // Without an httpd (reported as missing already) its apxs may still be there.
    if (await buildVarsSource(sr)) report.warnings.push(`compiler flags: ${e.message}`);
    else
      report.missing.push({
        what: 'apxs',
        why: e.message,
        fix: 'sudo apt-get install -y apache2-dev',
      });
  }
  report.apxs = tc ? ((await buildVarsSource(sr)) ?? null) : null;
  if (tc) report.flags = { cflags: tc.cflags, cxxflags: tc.cxxflags, ldflags: tc.ldflags };
  const cc = (tc?.cc ?? 'gcc').split(/\s+/)[0]!;
  const cxx = (tc?.cxx ?? 'g++').split(/\s+/)[0]!;
  const [ccPath, cxxPath] = await Promise.all([which([cc]), which([cxx])]);
  const [ccVersion, cxxVersion] = await Promise.all([
    ccPath ? versionLine(ccPath) : null,
    cxxPath ? versionLine(cxxPath) : null,
  ]);
  report.compiler = { cc, ccVersion, cxx, cxxVersion };
  if (!ccVersion)
    report.missing.push({
      what: 'C compiler',
      why: `${cc} not found on PATH`,
      fix: 'sudo apt-get install -y gcc',
    });
  if (!cxxVersion)
    report.missing.push({
      what: 'C++ compiler',
      why: `${cxx} not found on PATH (needed for --cpp modules)`,
      fix: 'sudo apt-get install -y g++',
    });
}

const bindHost = (l: ListenAddress) =>
  !l.host || l.host === '*' || l.host === '0.0.0.0'
    ? '0.0.0.0'
    : l.host === 'localhost'
      ? '127.0.0.1'
      : l.host;

async function listenFacts(sr: ServerRoot, report: DoctorReport): Promise<void> {
  const info = await readServerInfo(sr).catch((e: unknown) => {
    report.warnings.push(`config not readable: ${(e as Error).message}`);
    return undefined;
  });
  const { running } = await serverState(sr, (await serverFiles(sr)).pidFile);
  report.running = running ? { pid: running.pid } : null;
  const ours = running ? listeningAddresses(running.pid) : [];
  for (const l of info?.listens ?? []) {
    const address = `${l.host ?? '*'}:${l.port}`;
    if (ours.some((a) => a.endsWith(`:${l.port}`))) {
      report.listen.push({ address, port: l.port, status: 'this server' });
    } else if (await canBind(l.port, bindHost(l))) {
      report.listen.push({ address, port: l.port, status: 'free' });
    } else if (l.port < 1024 && process.getuid?.() !== 0) {
      report.listen.push({ address, port: l.port, status: 'privileged' });
      report.missing.push({
        what: `port ${l.port}`,
        why: `Listen ${address} needs root (ports below 1024)`,
        fix: `sudo apxs-ts ctl start --server-root ${sr.root}`,
      });
    } else {
      const holder = whoListens(l.port)[0];
      const who = holder
        ? `pid ${holder.pid} (${holder.command})`
        : 'a process this user cannot see';
      report.listen.push({ address, port: l.port, status: 'taken', holder: who });
      // No command can choose which server should give way: the fix is the one edit.
      report.missing.push({
        what: `port ${l.port}`,
        why: `Listen ${address} is taken by ${who}`,
        fix:
          `change Listen ${l.host ? `${l.host}:` : ''}${l.port} in ${sr.configFile} ` +
          `to a free port (e.g. ${await freePort()})`,
      });
    }
  }
}

async function hostsFacts(file: string, report: DoctorReport): Promise<void> {
  const writable = await fs.access(file, constants.W_OK).then(
    () => true,
    () => false,
  );
  // Not counted as missing: a sandbox on a port needs no name; vhost names do.
  report.hostsFile = {
    path: file,
    writable,
    fix: writable
      ? null
      : `sudo ${apxsCommand('hosts add NAME', { hostsFile: file })}` +
        (file === DEFAULT_HOSTS_FILE
          ? ' (or --hosts-file FILE / $APXS_TS_HOSTS_FILE for a private one)'
          : ''),
  };
}

/** The report for server root `rootPath` (undefined: none was given or found). */
export async function doctor(
  rootPath: string | undefined,
  hostsFile: string,
): Promise<DoctorReport> {
  const report: DoctorReport = {
    serverRoot: null,
    httpd: null,
    running: null,
    compiler: { cc: 'gcc', ccVersion: null, cxx: 'g++', cxxVersion: null },
    apxs: null,
    flags: null,
    hostsFile: { path: hostsFile, writable: false, fix: null },
    listen: [],
    tls: { ca: null, certificates: [] },
    missing: [],
    warnings: [],
  };
  let sr: ServerRoot | undefined;
  if (!rootPath) {
    report.missing.push({
      what: 'server root',
      why: 'none given (--server-root, $APXS_TS_SERVER_ROOT) and no apxs-ts.json found upward',
      fix: SANDBOX_FIX,
    });
  } else {
    try {
      sr = await detectServerRoot(rootPath);
      report.serverRoot = { kind: sr.kind, path: sr.root, config: sr.configFile };
    } catch (e) {
      // A root another user could have planted is refused, not reported as missing (#16).
      if (!(e instanceof ApxsError) || e.code === 'UNSAFE_CONFIG') throw e;
      report.missing.push({ what: 'server root', why: e.message, fix: SANDBOX_FIX });
    }
  }
  await Promise.all([
    sr ? httpdFacts(sr, report) : undefined,
    toolchainFacts(sr, report),
    hostsFacts(hostsFile, report),
    sr ? listenFacts(sr, report) : undefined,
    tlsFacts(sr, report),
  ]);
  return report;
}
