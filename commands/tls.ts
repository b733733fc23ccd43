import type { Command } from 'commander';
import { ApxsError } from '../lib/core/errors.js';
import { caDir, ensureCa, loadCa, type LocalCa } from '../lib/tls/ca.js';
import type { Runner } from './types.js';
import { DEFAULT_SYSTEM_STORE, trustCa, untrustCa, type TrustOptions, type TrustResult } from '../lib/tls/trust-stores.js';
import { requireServerRoot } from '../lib/httpd/server-root.js';
import { listTls, renewTls } from '../lib/sites/vhost-tls.js';
import { serverFiles } from '../lib/ctl/server-files.js';
import { serverState } from '../lib/ctl/server-state.js';
import { restart } from '../lib/ctl/lifecycle.js';
import { numberArg, withServerRoot } from './options.js';
import { NUMBER_RULES } from '../lib/core/numbers.js';

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function withCaDir(c: Command): Command {
  return c.option('--ca-dir <dir>', 'the local CA\'s directory (default: $APXS_TS_CA_DIR, else $XDG_DATA_HOME/apxs-ts/ca, else ~/.local/share/apxs-ts/ca)');
}

export const caLines = (ca: LocalCa) => [
  `CA       ${ca.certFile}`,
  `subject  ${ca.subject}`,
  `sha256   ${ca.fingerprint}`,
  `permits  ${ca.permitted.dns.join(' ')} ${ca.permitted.ip.join(' ')} (name constraints, critical)`,
  `valid    ${ca.notBefore} .. ${ca.notAfter}`,
];

export function register(program: Command, run: Runner): void {
  const tls = program.command('tls').description('local HTTPS: a name-constrained local CA, certificates for vhosts, trust');

  withCaDir(tls.command('ca'))
    .option('--permit <suffix>', 'also permit names under SUFFIX (repeatable; e.g. .dd); fixed once the CA is made', collect, [])
    .option('--show', 'show the CA (fingerprint, constraints, expiry); make nothing')
    .option('--new', 'replace the CA with a new one (the old files kept beside it as *.replaced-DATE)')
    .description('make the local CA once (ECDSA P-256, 10 years, name-constrained to localhost, .localhost, .test and --permit), or show it')
    .addHelpText('after', '\nExamples:\n  apxs-ts tls ca\n  apxs-ts tls ca --show --json\n  apxs-ts tls ca --new --permit .dd')
    .action(run(async (o: { caDir?: string; permit: string[]; show?: boolean; new?: boolean }) => {
      const dir = caDir(o.caDir);
      if (o.show) {
        const ca = await loadCa(dir);
        if (!ca) {
          throw new ApxsError('NOT_FOUND', `no local CA in ${dir}`, { hint: 'apxs-ts tls ca makes it' });
        }
        return { data: { ca, created: false }, stdout: caLines(ca) };
      }
      const r = await ensureCa(dir, { permit: o.permit, replace: o.new });
      return {
        data: { ca: r.ca, created: r.created, replaced: r.replaced ?? null },
        stdout: caLines(r.ca),
        human: [r.created ? `made the local CA in ${dir}${r.replaced ? ` (the old one kept as ${r.replaced})` : ''}` : `the local CA in ${dir} was already there: nothing changed`,
          ...(r.created ? ['next: apxs-ts tls trust (system store, NSS) and apxs-ts vhost add NAME.test --tls'] : [])],
      };
    }));

  withCaDir(withServerRoot(tls.command('list')))
    .description('the TLS vhosts apxs-ts made: names, port, expiry, certificate file')
    .addHelpText('after', '\nExample:\n  apxs-ts tls list --json')
    .action(run(async (o: { serverRoot?: string; caDir?: string }) => {
      const sr = await requireServerRoot(o.serverRoot, process.cwd());
      const ca = await loadCa(caDir(o.caDir));
      const certs = await listTls(sr, ca);
      return {
        data: { serverRoot: sr.root, ca: ca?.certFile ?? null, certificates: certs },
        stdout: certs.map((c) => `${c.vhost}\t:${c.port}\t${c.notAfter.slice(0, 10)} (${c.daysLeft} days)\t${c.names.join(' ')}\t${c.file}${c.present ? '' : '\tMISSING'}${c.currentCa ? '' : '\tother CA: tls renew'}`),
      };
    }));

  withCaDir(withServerRoot(tls.command('renew').argument('[name]')))
    .option('--expiring <days>', 'renew those with fewer days left (and any signed by another CA, or missing)', numberArg(NUMBER_RULES.days))
    .option('--all', 'renew every TLS vhost')
    .option('--no-reload', 'do not graceful-restart a running server')
    .description('reissue certificates (a new key each), switch the vhosts to them, graceful-restart a running server')
    .addHelpText('after', '\nExamples:\n  apxs-ts tls renew one.test\n  apxs-ts tls renew --expiring 30')
    .action(run(async (name: string | undefined, o: { serverRoot?: string; caDir?: string; expiring?: number; all?: boolean; reload: boolean }) => {
      if (!name && o.expiring === undefined && !o.all) throw new ApxsError('USAGE', 'renew what? name a vhost, or pass --expiring DAYS or --all', { hint: 'apxs-ts tls list shows them' });
      const sr = await requireServerRoot(o.serverRoot, process.cwd(), { writes: true });
      const r = await renewTls(sr, { caDir: caDir(o.caDir), names: name ? [name] : undefined, expiringDays: o.expiring, all: o.all });
      const running = r.renewed.length > 0 && !!(await serverState(sr, (await serverFiles(sr)).pidFile).catch(() => undefined))?.running;
      const reloaded = running && o.reload ? await restart(sr, { graceful: true }) : undefined;
      return {
        data: { serverRoot: sr.root, renewed: r.renewed, skipped: r.skipped, changed: r.changed, reloaded: !!reloaded, warnings: r.warnings },
        human: [r.renewed.length ? `renewed ${r.renewed.map((c) => `${c.names[0]} (until ${c.notAfter.slice(0, 10)})`).join(', ')}` : 'nothing to renew',
          ...(reloaded ? ['the running server was gracefully restarted'] : running ? ['reload the server to use them: apxs-ts ctl graceful'] : []),
          ...r.warnings.map((w) => `warning: ${w}`)],
      };
    }));

  const trustCommand = (name: 'trust' | 'untrust', description: string, example: string) => withCaDir(tls.command(name))
    .option('--local-certs-dir <dir>', `where the CA file goes (update-ca-certificates --localcertsdir; default ${DEFAULT_SYSTEM_STORE.localCertsDir})`)
    .option('--etc-certs-dir <dir>', `the bundle and hash links (--etccertsdir; default ${DEFAULT_SYSTEM_STORE.etcCertsDir})`)
    .option('--certs-conf <file>', 'update-ca-certificates --certsconf (default its own, /etc/ca-certificates.conf)')
    .option('--certs-dir <dir>', 'update-ca-certificates --certsdir (default its own, /usr/share/ca-certificates)')
    .option('--hooks-dir <dir>', 'update-ca-certificates --hooksdir (default its own, /etc/ca-certificates/update.d)')
    .option('--update-ca-certificates <path>', 'the update-ca-certificates program')
    .option('--no-system', 'leave the system store alone')
    .option('--nss-db <dir>', 'an NSS database (repeatable; default: ~/.pki/nssdb and Firefox profiles found under --home)', collect, undefined)
    .option('--no-nss', 'leave NSS databases alone')
    .option('--home <dir>', 'where to look for NSS databases (default: $HOME)')
    .description(description)
    .addHelpText('after', `\nExample:\n  ${example}`)
    .action(run(async (o: TrustCli) => {
      const dir = caDir(o.caDir);
      const ca = await loadCa(dir);
      if (!ca) throw new ApxsError('NOT_FOUND', `no local CA in ${dir}`, { hint: 'apxs-ts tls ca makes it' });
      const r = await (name === 'trust' ? trustCa : untrustCa)(ca, trustOptions(o));
      return { data: { ...r }, stdout: name === 'trust' ? [r.nodeExtraCaCerts] : [], human: trustLines(r, name) };
    }));
  trustCommand('trust', 'install the local CA in the system store (update-ca-certificates) and NSS databases (certutil); idempotent', 'sudo apxs-ts tls trust');
  trustCommand('untrust', 'take out exactly what tls trust put in; idempotent', 'sudo apxs-ts tls untrust --json');
}

interface TrustCli {
  caDir?: string; localCertsDir?: string; etcCertsDir?: string; certsConf?: string; certsDir?: string; hooksDir?: string;
  updateCaCertificates?: string; system: boolean; nssDb?: string[]; nss: boolean; home?: string;
}

function trustOptions(o: TrustCli): TrustOptions {
  return {
    system: o.system ? {
      localCertsDir: o.localCertsDir ?? DEFAULT_SYSTEM_STORE.localCertsDir, etcCertsDir: o.etcCertsDir ?? DEFAULT_SYSTEM_STORE.etcCertsDir,
      ...(o.certsConf ? { certsConf: o.certsConf } : {}), ...(o.certsDir ? { certsDir: o.certsDir } : {}), ...(o.hooksDir ? { hooksDir: o.hooksDir } : {}),
      ...(o.updateCaCertificates ? { tool: o.updateCaCertificates } : {}),
    } : null,
    nssDbs: o.nss ? o.nssDb : [],
    home: o.home,
  };
}

function trustLines(r: TrustResult, verb: string): string[] {
  return [
    ...r.stores.map((s) => `${s.store} ${s.where}: ${s.note ?? (s.changed ? (s.trusted ? 'added' : 'removed') : s.trusted ? 'already trusted' : 'not there')}`),
    r.changed ? `${verb}: done` : `${verb}: nothing to change`,
    ...(verb === 'trust' ? [`Node reads no system store: ${r.nodeExtraCaCerts}`] : []),
  ];
}
