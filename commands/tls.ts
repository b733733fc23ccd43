import type { Command } from 'commander';
import { ApxsError } from '../lib/core/errors.js';
import { caDir, ensureCa, loadCa, type LocalCa } from '../lib/tls/ca.js';
import type { Runner } from './types.js';

const collect = (v: string, prev: string[]) => [...prev, v];

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
}
