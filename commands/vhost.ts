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
import type { Outcome } from './types.js';
import { apxsCommand } from '../lib/core/command-hint.js';

interface Common {
  serverRoot?: string;
  hostsFile?: string;
  httpdVersion?: string;
}

const collect = (v: string, prev: string[]) => [...prev, v];

/** A running server still serves a removed vhost (a 403 for its gone DocumentRoot) until a graceful. */
async function isRunning(sr: ServerRoot): Promise<boolean> {
  return !!(await serverState(sr, (await serverFiles(sr)).pidFile, { scan: false }).catch(() => undefined))?.running;
}

export async function add(name: string, o: Common & { alias: string[]; docroot?: string; port?: number; ip?: string; remap?: boolean }): Promise<Outcome> {
  const sr = await requireServerRoot(o.serverRoot, process.cwd(), { writes: true });
  // Before the config is touched: a missing --hosts-file is found after the edit began, which leaves a backup behind.
  if (o.hostsFile) namedPathMustExist(o.hostsFile, 'hosts file');
  const res = await vhostAdd(sr, { name, aliases: o.alias, docroot: o.docroot, port: o.port, ip: o.ip }, {
    hostsFile: hostsFileOf(o), series: o.httpdVersion ? parseSeries(o.httpdVersion) : undefined, remap: o.remap,
  });
  const changed = res.changed.length > 0 || res.hostsChanged;
  return {
    data: { ...res },
    human: [changed
      ? `vhost ${name} on ${res.address} (httpd ${res.series}), DocumentRoot ${res.documentRoot}, in ${res.vhostsFile}${res.hostsChanged ? `; ${name} mapped in ${hostsFileOf(o)}` : ''}`
      : `vhost ${name} is already there: nothing changed`,
    ...res.warnings.map((w) => `warning: ${w}`),
    // Nothing changed: nothing to reload.
    ...(res.changed.length ? [`reload the server to use it: ${apxsCommand('ctl graceful', { serverRoot: sr.root })}`] : [])],
  };
}

export async function remove(name: string, o: Common & { purge?: boolean }): Promise<Outcome> {
  const sr = await requireServerRoot(o.serverRoot, process.cwd(), { writes: true });
  if (o.hostsFile) namedPathMustExist(o.hostsFile, 'hosts file');
  const res = await vhostRemove(sr, name, { hostsFile: hostsFileOf(o), purge: o.purge, series: o.httpdVersion ? parseSeries(o.httpdVersion) : undefined });
  const running = res.changed.length > 0 && (await isRunning(sr));
  return {
    data: { ...res, reloadNeeded: running },
    human: [`removed vhost ${name}${res.purged ? ` and ${res.purged}` : ''}`, ...res.warnings.map((w) => `warning: ${w}`),
      ...(running ? [`the running server still serves it: reload it with apxs-ts ctl graceful --server-root ${sr.root}`] : [])],
  };
}

export async function list(o: Common): Promise<Outcome> {
  const sr = await requireServerRoot(o.serverRoot, process.cwd());
  const r = await inspectVhosts({ sr, hostsFile: hostsFileOf(o), series: o.httpdVersion ? parseSeries(o.httpdVersion) : undefined });
  return {
    data: { configFile: r.configFile, series: r.series, vhosts: r.vhosts },
    // A disabled site's vhost is listed too, marked: httpd does not serve it until it is enabled (a2ensite).
    stdout: r.vhosts.map((v) => `${v.isDefault ? '*' : ' '} ${v.address}\t${v.serverName ?? '(no ServerName)'}${v.aliases.length ? ` (${v.aliases.join(' ')})` : ''}\t${v.file}:${v.line}${v.disabled ? '\tdisabled' : ''}${v.shadowedBy.map((s) => `\tshadowed on ${s.address}: ${s.answeredBy ?? '(no ServerName)'} answers instead`).join('')}`),
  };
}

export async function check(o: Common & { config?: string; httpd: boolean }): Promise<Outcome> {
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
}
