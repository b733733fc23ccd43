import type { Command } from 'commander';
import { ApxsError } from '../lib/core/errors.js';
import { parseSeries } from '../lib/httpd/version.js';
import { requireServerRoot, resolveServerRootPath } from '../lib/httpd/server-root.js';
import { vhostAdd, vhostRemove } from '../lib/sites/vhost-edit.js';
import { inspectVhosts } from '../lib/sites/inspect.js';
import { hostsFileOf, portArg, withHostsFile, withServerRoot } from './options.js';
import { namedPathMustExist } from './paths.js';
import { serverFiles } from '../lib/ctl/server-files.js';
import { serverState } from '../lib/ctl/server-state.js';
import type { ServerRoot } from '../lib/httpd/server-root.js';
import type { Runner } from './types.js';
import { apxsCommand } from '../lib/core/command-hint.js';

interface Common {
  serverRoot?: string;
  hostsFile?: string;
  httpdVersion?: string;
}

const collect = (v: string, prev: string[]) => [...prev, v];

/** A running server still serves a removed vhost (a 403 for its gone DocumentRoot) until a graceful. */
async function isRunning(sr: ServerRoot): Promise<boolean> {
  return !!(await serverState(sr, (await serverFiles(sr)).pidFile).catch(() => undefined))?.running;
}

export function register(program: Command, run: Runner): void {
  const vhost = program.command('vhost').description('name-based virtual hosts, with their /etc/hosts entries, for httpd 2.2 and 2.4');
  const common = (c: Command) => withHostsFile(withServerRoot(c))
    .option('--httpd-version <v>', 'treat the server as this series (2.2 or 2.4) instead of asking httpd -v');

  common(vhost.command('add').argument('<name>'))
    .option('--alias <name>', 'ServerAlias (repeatable)', collect, [])
    .option('--docroot <dir>', 'DocumentRoot (default: SERVER_ROOT/sites/NAME, on Debian /var/www/NAME; created with an index.html)')
    .option('--port <n>', 'port (default: the server\'s first Listen)', portArg)
    .option('--ip <ip>', 'VirtualHost address (default *)')
    .option('--remap', 'map a name the hosts file maps to another address (default: refuse)')
    .option('--tls', 'also serve it over HTTPS with a certificate from the local CA (made on first use; apxs-ts tls ca)')
    .option('--tls-port <n>', 'the port HTTPS listens on (default: the one the TLS vhosts use, or sandbox create --tls-port)', portArg)
    .option('--https-only', 'with --tls: the plain vhost redirects to https')
    .option('--ca-dir <dir>', 'the local CA\'s directory (default: $APXS_TS_CA_DIR, else ~/.local/share/apxs-ts/ca)')
    .description('hosts entry, DocumentRoot, <VirtualHost> in its own file, Include; configtest, roll back if broken')
    .addHelpText('after', '\nExamples:\n  apxs-ts vhost add one.dd --alias www.one.dd --server-root ./srv --hosts-file ./hosts\n  apxs-ts vhost add one.test --tls --tls-port 8443 --https-only')
    .action(run(async (name: string, o: Common & { alias: string[]; docroot?: string; port?: number; ip?: string; remap?: boolean; tls?: boolean; tlsPort?: number; httpsOnly?: boolean; caDir?: string }) => {
      if ((o.tlsPort !== undefined || o.httpsOnly) && !o.tls) throw new ApxsError('USAGE', `${o.httpsOnly ? '--https-only' : '--tls-port'} needs --tls`, { hint: `apxs-ts vhost add ${name} --tls${o.httpsOnly ? ' --https-only' : ''}` });
      const sr = await requireServerRoot(o.serverRoot, process.cwd(), { writes: true });
      // Before the config is touched: a missing --hosts-file is found after the edit began, which leaves a backup behind.
      if (o.hostsFile) namedPathMustExist(o.hostsFile, 'hosts file');
      const res = await vhostAdd(sr, { name, aliases: o.alias, docroot: o.docroot, port: o.port, ip: o.ip, ...(o.tls ? { tls: { port: o.tlsPort, httpsOnly: o.httpsOnly } } : {}) }, {
        hostsFile: hostsFileOf(o), series: o.httpdVersion ? parseSeries(o.httpdVersion) : undefined, remap: o.remap, caDir: o.caDir,
      });
      const changed = res.changed.length > 0 || res.hostsChanged;
      return {
        data: { ...res },
        human: [changed
          ? `vhost ${name} on ${res.address} (httpd ${res.series}), DocumentRoot ${res.documentRoot}, in ${res.vhostsFile}${res.hostsChanged ? `; ${name} mapped in ${hostsFileOf(o)}` : ''}`
          : `vhost ${name} is already there: nothing changed`,
        ...(res.tls ? [`https: ${res.tls.url} (certificate ${res.tls.certificate}, until ${res.tls.notAfter.slice(0, 10)}; trust the CA: apxs-ts tls trust, or curl --cacert ${res.tls.ca})`] : []),
        ...res.warnings.map((w) => `warning: ${w}`),
        // Nothing changed: nothing to reload.
        ...(res.changed.length ? [`reload the server to use it: ${apxsCommand('ctl graceful', { serverRoot: sr.root })}`] : [])],
      };
    }));

  common(vhost.command('remove').argument('<name>'))
    .option('--purge', 'also delete its DocumentRoot')
    .description('remove the vhost block, its hosts entry, and the Include when no vhost is left')
    .addHelpText('after', '\nExample:\n  apxs-ts vhost remove one.dd --purge')
    .action(run(async (name: string, o: Common & { purge?: boolean }) => {
      const sr = await requireServerRoot(o.serverRoot, process.cwd(), { writes: true });
      if (o.hostsFile) namedPathMustExist(o.hostsFile, 'hosts file');
      const res = await vhostRemove(sr, name, { hostsFile: hostsFileOf(o), purge: o.purge, series: o.httpdVersion ? parseSeries(o.httpdVersion) : undefined });
      const running = res.changed.length > 0 && (await isRunning(sr));
      return {
        data: { ...res, reloadNeeded: running },
        human: [`removed vhost ${name}${res.purged ? ` and ${res.purged}` : ''}`, ...res.warnings.map((w) => `warning: ${w}`),
          ...(running ? [`the running server still serves it: reload it with apxs-ts ctl graceful --server-root ${sr.root}`] : [])],
      };
    }));

  common(vhost.command('list'))
    .description('the vhosts httpd will use, in order; * marks the default of each address:port; a disabled site\'s vhosts last, marked disabled')
    .addHelpText('after', '\nExample:\n  apxs-ts vhost list --json')
    .action(run(async (o: Common) => {
      const sr = await requireServerRoot(o.serverRoot, process.cwd());
      const r = await inspectVhosts({ sr, hostsFile: hostsFileOf(o), series: o.httpdVersion ? parseSeries(o.httpdVersion) : undefined });
      return {
        data: { configFile: r.configFile, series: r.series, vhosts: r.vhosts },
        // A disabled site's vhost is listed too, marked: httpd does not serve it until it is enabled (a2ensite).
        stdout: r.vhosts.map((v) => `${v.isDefault ? '*' : ' '} ${v.address}\t${v.serverName ?? '(no ServerName)'}${v.aliases.length ? ` (${v.aliases.join(' ')})` : ''}\t${v.file}:${v.line}${v.disabled ? '\tdisabled' : ''}${v.shadowedBy.map((s) => `\tshadowed on ${s.address}: ${s.answeredBy ?? '(no ServerName)'} answers instead`).join('')}`),
      };
    }));

  common(vhost.command('check'))
    .option('--config <file>', 'check this config file instead of a server root\'s')
    .option('--no-httpd', 'do not also run httpd -S')
    .description('find vhost mistakes (file:line, plain words, the fix) and show httpd -S; exit 1 if any')
    .addHelpText('after', '\nExamples:\n  apxs-ts vhost check --server-root ./srv\n  apxs-ts vhost check --config old/httpd.conf --httpd-version 2.2 --hosts-file ./hosts')
    .action(run(async (o: Common & { config?: string; httpd: boolean }) => {
      // With --config a server root is optional; when there is one (option, env or apxs-ts.json), its httpd says the series.
      const srPath = o.config ? await resolveServerRootPath(o.serverRoot, process.cwd()) : undefined;
      const sr = o.config && !srPath ? undefined : await requireServerRoot(o.serverRoot, process.cwd());
      const r = await inspectVhosts({
        sr, configFile: o.config, hostsFile: hostsFileOf(o), httpdS: o.httpd,
        series: o.httpdVersion ? parseSeries(o.httpdVersion) : undefined,
      });
      const lines = r.seriesAssumed
        ? [`checked as httpd ${r.series}, assumed: no server root to ask its httpd (pass --httpd-version 2.2 for a 2.2 config, or --server-root)`] : [];
      // A fix of several lines (a <Directory> block to add) keeps the indentation on each.
      lines.push(...r.findings.flatMap((f) => [`${f.line ? `${f.file}:${f.line}` : f.file}: ${f.severity}: ${f.message}`, `    ${f.explanation}`, `    fix: ${f.fix.replace(/\n/g, '\n        ')}`]));
      if (r.httpdS) lines.push('', `httpd -S (exit ${r.httpdS.exitCode}):`, ...r.httpdS.output.split('\n').map((l) => `    ${l}`));
      if (r.findings.length) {
        throw new ApxsError('CONFIG_BROKEN', `${r.findings.length} vhost problem(s) in ${r.configFile}`, { details: lines, data: { ...r } });
      }
      return { data: { ...r }, stdout: [`${r.configFile}: ${r.vhosts.length} vhost(s), no problems found`, ...lines] };
    }));
}
