import { ApxsError } from '../lib/core/errors.js';
import { caDiff, ensureCa, loadCa, planCa, type LocalCa } from '../lib/tls/ca.js';
import { caDir } from '../lib/tls/ca-dir.js';
import type { ChangeOptions } from '../lib/core/change-report.js';
import { changeOutcome } from './change-output.js';
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
  `permits  ${ca.permitted.dns.join(' ')} ` +
    `${ca.permitted.ip.join(' ')} (name constraints, critical)`,
  `valid    ${ca.notBefore} .. ${ca.notAfter}`,
];

export async function ca(
  o: {
    caDir?: string;
    permit: string[];
    show?: boolean;
    new?: boolean;
  } & ChangeOptions,
): Promise<Outcome> {
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
  // The CA's files are diffed as their PEM types: new random material, and a key never goes into
  // output.
  if (o.check) {
    const p = await planCa(dir, { permit: o.permit, replace: o.new });
    const out = changeOutcome(
      o,
      {
        changed: p.changed,
        msg: p.changed
          ? `would ${p.existing ? 'replace' : 'make'} the local CA in ${dir}`
          : `the local CA in ${dir} is already there`,
        warnings: [],
        diff: p.changed ? await caDiff(dir, !!p.existing) : [],
      },
      { ca: p.existing ?? null, created: p.changed, replaced: null },
    );
    return p.existing && !p.changed ? { ...out, stdout: caLines(p.existing) } : out;
  }
  const r = await ensureCa(dir, { permit: o.permit, replace: o.new, lockFree: true });
  const out = changeOutcome(
    o,
    {
      changed: r.created,
      msg: r.created
        ? `made the local CA in ${dir}${r.replaced ? ` (the old one kept as ${r.replaced})` : ''}`
        : `the local CA in ${dir} was already there: nothing changed`,
      warnings: [],
      diff: r.created ? await caDiff(dir, !!r.replaced, true) : [],
    },
    { ca: r.ca, created: r.created, replaced: r.replaced ?? null },
    r.created
      ? ['next: apxs-ts tls trust (system store, NSS) and apxs-ts vhost add NAME.test --tls']
      : [],
  );
  return { ...out, stdout: [...caLines(r.ca), ...(out.stdout ?? [])] };
}

export async function list(o: { serverRoot?: string; caDir?: string }): Promise<Outcome> {
  const sr = await targetServerRoot(o);
  const ca = await loadCa(caDir(o.caDir));
  const certs = await listTls(sr, ca);
  return {
    data: { serverRoot: sr.root, ca: ca?.certFile ?? null, certificates: certs },
    stdout: certs.map((c) => {
      const until = `${c.notAfter.slice(0, 10)} (${c.daysLeft} days)`;
      const names = c.names.join(' ');
      const missing = c.present ? '' : '\tMISSING';
      const otherCa = c.currentCa ? '' : '\tother CA: tls renew';
      return `${c.vhost}\t:${c.port}\t${until}\t${names}\t${c.file}${missing}${otherCa}`;
    }),
  };
}

export async function renew(
  name: string | undefined,
  o: {
    serverRoot?: string;
    caDir?: string;
    expiring?: number;
    all?: boolean;
    reload: boolean;
  } & ChangeOptions,
): Promise<Outcome> {
  if (!name && o.expiring === undefined && !o.all)
    throw new ApxsError('USAGE', 'renew what? name a vhost, or pass --expiring DAYS or --all', {
      hint: 'apxs-ts tls list shows them',
    });
  const sr = await targetServerRoot(o, { writes: !o.check });
  const r = await renewTls(sr, {
    caDir: caDir(o.caDir),
    names: name ? [name] : undefined,
    expiringDays: o.expiring,
    all: o.all,
    check: o.check,
  });
  const changed = r.due.length > 0;
  const running = changed && (await isServerRunning(sr));
  const reloads = running && o.reload;
  const reloaded = reloads && !o.check ? await restart(sr, { graceful: true }) : undefined;
  return changeOutcome(
    o,
    {
      changed,
      msg: !changed
        ? 'nothing to renew'
        : o.check
          ? 'would renew ' +
            `${r.due.join(', ')}${reloads ? ' and graceful-restart the running server' : ''}`
          : `renewed ${r.renewed.map(renewedName).join(', ')}`,
      warnings: r.warnings,
      diff: r.diff,
      // A running server keeps serving the old certificates until it reloads: true when this run
      // did not reload it.
      restart_required: running && !reloads,
    },
    {
      serverRoot: sr.root,
      renewed: r.renewed,
      due: r.due,
      skipped: r.skipped,
      files: r.changed,
      reloaded: !!reloaded,
    },
    [
      ...(reloaded
        ? ['the running server was gracefully restarted']
        : running && !reloads
          ? ['reload the server to use them: apxs-ts ctl graceful']
          : []),
      ...warningLines(r.warnings),
    ],
  );
}

/** `tls trust` and `tls untrust`. */
export async function trust(
  name: 'trust' | 'untrust',
  o: TrustCli & ChangeOptions,
): Promise<Outcome> {
  const dir = caDir(o.caDir);
  const ca = await loadCa(dir);
  if (!ca)
    throw new ApxsError('NOT_FOUND', `no local CA in ${dir}`, { hint: 'apxs-ts tls ca makes it' });
  const r = await (name === 'trust' ? trustCa : untrustCa)(ca, {
    ...trustOptions(o),
    check: o.check,
  });
  const { diff, ...rest } = r;
  const lines = trustLines(r, name, !!o.check);
  const out = changeOutcome(
    o,
    { changed: r.changed, msg: lines.at(-1)!, warnings: [], diff },
    { ...rest, stores: r.stores.map(({ diff: _d, ...st }) => st) },
    lines.slice(0, -1),
  );
  return {
    ...out,
    stdout: [...(name === 'trust' ? [r.nodeExtraCaCerts] : []), ...(out.stdout ?? [])],
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

/** A renewed certificate in the human output: its first name and its new end. */
const renewedName = (c: { names: string[]; notAfter: string }) =>
  `${c.names[0]} (until ${c.notAfter.slice(0, 10)})`;

/** One line per store, the Node line, then the verdict (the msg) last. */
function trustLines(r: TrustResult, verb: string, check: boolean): string[] {
  return [
    ...r.stores.map((s) => {
      const change = `${check ? 'would be ' : ''}${s.trusted ? 'added' : 'removed'}`;
      const unchanged = s.trusted ? 'already trusted' : 'not there';
      return `${s.store} ${s.where}: ${s.note ?? (s.changed ? change : unchanged)}`;
    }),
    ...(verb === 'trust' ? [`Node reads no system store: ${r.nodeExtraCaCerts}`] : []),
    r.changed ? `${verb}: ${check ? 'would change' : 'done'}` : `${verb}: nothing to change`,
  ];
}
