import { ApxsError } from '../lib/core/errors.js';
import { caDir, ensureCa, loadCa, type LocalCa } from '../lib/tls/ca.js';
import type { Outcome } from './types.js';
import { warningLines } from './output.js';
import {
  DEFAULT_SYSTEM_STORE,
  trustCa,
  untrustCa,
  type TrustOptions,
  type TrustResult,
} from '../lib/tls/trust-stores.js';
import { targetServerRoot } from './server-root.js';
import { listTls, renewTls } from '../lib/sites/vhost-tls.js';
import { isServerRunning } from '../lib/ctl/running-httpd.js';
import { restart } from '../lib/ctl/lifecycle.js';

export const caLines = (ca: LocalCa) => [
  `CA       ${ca.certFile}`,
  `subject  ${ca.subject}`,
  `sha256   ${ca.fingerprint}`,
  `permits  ${ca.permitted.dns.join(' ')} ${ca.permitted.ip.join(' ')} (name constraints, critical)`,
  `valid    ${ca.notBefore} .. ${ca.notAfter}`,
];

export async function ca(o: {
  caDir?: string;
  permit: string[];
  show?: boolean;
  new?: boolean;
}): Promise<Outcome> {
  const dir = caDir(o.caDir);
  if (o.show) {
    const ca = await loadCa(dir);
    if (!ca) {
      throw new ApxsError('NOT_FOUND', `no local CA in ${dir}`, {
        hint: 'apxs-ts tls ca makes it',
      });
    }
    return { data: { ca, created: false }, stdout: caLines(ca) };
  }
  const r = await ensureCa(dir, { permit: o.permit, replace: o.new });
  return {
    data: { ca: r.ca, created: r.created, replaced: r.replaced ?? null },
    stdout: caLines(r.ca),
    human: [
      r.created
        ? `made the local CA in ${dir}${r.replaced ? ` (the old one kept as ${r.replaced})` : ''}`
        : `the local CA in ${dir} was already there: nothing changed`,
      ...(r.created
        ? ['next: apxs-ts tls trust (system store, NSS) and apxs-ts vhost add NAME.test --tls']
        : []),
    ],
  };
}

export async function list(o: { serverRoot?: string; caDir?: string }): Promise<Outcome> {
  const sr = await targetServerRoot(o);
  const ca = await loadCa(caDir(o.caDir));
  const certs = await listTls(sr, ca);
  return {
    data: { serverRoot: sr.root, ca: ca?.certFile ?? null, certificates: certs },
    stdout: certs.map(
      (c) =>
        `${c.vhost}\t:${c.port}\t${c.notAfter.slice(0, 10)} (${c.daysLeft} days)\t${c.names.join(' ')}\t${c.file}${c.present ? '' : '\tMISSING'}${c.currentCa ? '' : '\tother CA: tls renew'}`,
    ),
  };
}

export async function renew(
  name: string | undefined,
  o: { serverRoot?: string; caDir?: string; expiring?: number; all?: boolean; reload: boolean },
): Promise<Outcome> {
  if (!name && o.expiring === undefined && !o.all)
    throw new ApxsError('USAGE', 'renew what? name a vhost, or pass --expiring DAYS or --all', {
      hint: 'apxs-ts tls list shows them',
    });
  const sr = await targetServerRoot(o, { writes: true });
  const r = await renewTls(sr, {
    caDir: caDir(o.caDir),
    names: name ? [name] : undefined,
    expiringDays: o.expiring,
    all: o.all,
  });
  const running = r.renewed.length > 0 && (await isServerRunning(sr));
  const reloaded = running && o.reload ? await restart(sr, { graceful: true }) : undefined;
  return {
    data: {
      serverRoot: sr.root,
      renewed: r.renewed,
      skipped: r.skipped,
      changed: r.changed,
      reloaded: !!reloaded,
      warnings: r.warnings,
    },
    human: [
      r.renewed.length
        ? `renewed ${r.renewed.map((c) => `${c.names[0]} (until ${c.notAfter.slice(0, 10)})`).join(', ')}`
        : 'nothing to renew',
      ...(reloaded
        ? ['the running server was gracefully restarted']
        : running
          ? ['reload the server to use them: apxs-ts ctl graceful']
          : []),
      ...warningLines(r.warnings),
    ],
  };
}

/** `tls trust` and `tls untrust`. */
export async function trust(name: 'trust' | 'untrust', o: TrustCli): Promise<Outcome> {
  const dir = caDir(o.caDir);
  const ca = await loadCa(dir);
  if (!ca)
    throw new ApxsError('NOT_FOUND', `no local CA in ${dir}`, { hint: 'apxs-ts tls ca makes it' });
  const r = await (name === 'trust' ? trustCa : untrustCa)(ca, trustOptions(o));
  return {
    data: { ...r },
    stdout: name === 'trust' ? [r.nodeExtraCaCerts] : [],
    human: trustLines(r, name),
  };
}

export interface TrustCli {
  caDir?: string;
  localCertsDir?: string;
  etcCertsDir?: string;
  certsConf?: string;
  certsDir?: string;
  hooksDir?: string;
  updateCaCertificates?: string;
  system: boolean;
  nssDb?: string[];
  nss: boolean;
  home?: string;
}

function trustOptions(o: TrustCli): TrustOptions {
  return {
    system: o.system
      ? {
          localCertsDir: o.localCertsDir ?? DEFAULT_SYSTEM_STORE.localCertsDir,
          etcCertsDir: o.etcCertsDir ?? DEFAULT_SYSTEM_STORE.etcCertsDir,
          ...(o.certsConf ? { certsConf: o.certsConf } : {}),
          ...(o.certsDir ? { certsDir: o.certsDir } : {}),
          ...(o.hooksDir ? { hooksDir: o.hooksDir } : {}),
          ...(o.updateCaCertificates ? { tool: o.updateCaCertificates } : {}),
        }
      : null,
    nssDbs: o.nss ? o.nssDb : [],
    home: o.home,
  };
}

function trustLines(r: TrustResult, verb: string): string[] {
  return [
    ...r.stores.map(
      (s) =>
        `${s.store} ${s.where}: ${s.note ?? (s.changed ? (s.trusted ? 'added' : 'removed') : s.trusted ? 'already trusted' : 'not there')}`,
    ),
    r.changed ? `${verb}: done` : `${verb}: nothing to change`,
    ...(verb === 'trust' ? [`Node reads no system store: ${r.nodeExtraCaCerts}`] : []),
  ];
}
