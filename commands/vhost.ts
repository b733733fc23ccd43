import { ApxsError } from '../lib/core/errors.js';
import { parseSeries } from '../lib/httpd/version.js';
import { targetServerRoot, targetServerRootPath } from './server-root.js';
import { warningLines } from './output.js';
import { vhostAdd, vhostRemove } from '../lib/sites/vhost-edit.js';
import { inspectVhosts } from '../lib/sites/inspect.js';
import { hostsFileOf } from './options.js';
import { namedPathMustExist } from './paths.js';
import type { ChangeOptions } from '../lib/core/change-report.js';
import { editChangeData } from './change-output.js';
import type { Outcome } from './types.js';

import { apxsCommand } from '../lib/core/command-hint.js';

interface Common {
  serverRoot?: string;
  hostsFile?: string;
  httpdVersion?: string;
}

/** --httpd-version, when given: the series to treat the server as. */
const seriesOf = (o: Common) => (o.httpdVersion ? parseSeries(o.httpdVersion) : undefined);

export async function add(
  name: string,
  o: Common & {
    alias: string[];
    docroot?: string;
    port?: number;
    ip?: string;
    remap?: boolean;
    tls?: boolean;
    tlsPort?: number;
    httpsOnly?: boolean;
    caDir?: string;
  } & ChangeOptions,
): Promise<Outcome> {
  if ((o.tlsPort !== undefined || o.httpsOnly) && !o.tls)
    throw new ApxsError('USAGE', `${o.httpsOnly ? '--https-only' : '--tls-port'} needs --tls`, {
      hint: `apxs-ts vhost add ${name} --tls${o.httpsOnly ? ' --https-only' : ''}`,
    });
  const sr = await targetServerRoot(o, { writes: true });
  // Before the config is touched: a missing --hosts-file is found after the edit began, which
  // leaves a backup behind.
  if (o.hostsFile) namedPathMustExist(o.hostsFile, 'hosts file');
  const res = await vhostAdd(
    sr,
    {
      name,
      aliases: o.alias,
      docroot: o.docroot,
      port: o.port,
      ip: o.ip,
      ...(o.tls ? { tls: { port: o.tlsPort, httpsOnly: o.httpsOnly } } : {}),
    },
    {
      hostsFile: hostsFileOf(o),
      series: seriesOf(o),
      remap: o.remap,
      caDir: o.caDir,
      check: o.check,
    },
  );
  const changed = res.didChange;
  const msg = changed
    ? `${o.check ? 'would add ' : ''}vhost ${name} on ${res.address} (httpd ${res.series}), ` +
      `DocumentRoot ${res.documentRoot}, in ` +
      `${res.vhostsFile}` +
      (res.hostsChanged ? `; ${name} ${o.check ? 'would be ' : ''}mapped in ${hostsFileOf(o)}` : '')
    : `vhost ${name} is already there: nothing ${o.check ? 'would change' : 'changed'}`;
  // A config change applies once a running server reloads; a hosts-file-only change needs none.
  const { data, stdout } = await editChangeData(sr, res, msg, o, res.changed.length > 0);
  return {
    data,
    stdout,
    human: [
      msg,
      ...(res.tls
        ? [
            `https: ${res.tls.url} (certificate ${res.tls.certificate}, ` +
              `until ${res.tls.notAfter.slice(0, 10)}; trust the CA: apxs-ts ` +
              `tls trust, or curl --cacert ${res.tls.ca})`,
          ]
        : []),
      ...warningLines(res.warnings),
      // Nothing changed: nothing to reload.
      ...(res.changed.length && !o.check
        ? [`reload the server to use it: ${apxsCommand('ctl graceful', { serverRoot: sr.root })}`]
        : []),
    ],
  };
}

export async function remove(
  name: string,
  o: Common & { purge?: boolean } & ChangeOptions,
): Promise<Outcome> {
  const sr = await targetServerRoot(o, { writes: true });
  if (o.hostsFile) namedPathMustExist(o.hostsFile, 'hosts file');
  const res = await vhostRemove(sr, name, {
    hostsFile: hostsFileOf(o),
    purge: o.purge,
    series: seriesOf(o),
    check: o.check,
  });
  const msg = res.alreadyAbsent
    ? `no vhost ${name} of apxs-ts's in ${sr.root} (already absent): ` +
      `nothing ${o.check ? 'would change' : 'changed'}`
    : `${o.check ? 'would remove' : 'removed'} vhost ` +
      `${name}${res.purged ? ` and ${res.purged}` : ''}`;
  // A config change applies once a running server reloads; a hosts-file-only change needs none.
  const { data, stdout } = await editChangeData(sr, res, msg, o, res.changed.length > 0);
  const running = data.restart_required === true;
  return {
    data: { ...data, reloadNeeded: running },
    stdout,
    human: [
      msg,
      ...warningLines(res.warnings),
      ...(running && !o.check
        ? [
            'the running server still serves it: reload it with ' +
              `apxs-ts ctl graceful --server-root ${sr.root}`,
          ]
        : []),
    ],
  };
}

export async function list(o: Common): Promise<Outcome> {
  const sr = await targetServerRoot(o);
  const r = await inspectVhosts({ sr, hostsFile: hostsFileOf(o), series: seriesOf(o) });
  return {
    data: { configFile: r.configFile, series: r.series, vhosts: r.vhosts },
    // A disabled site's vhost is listed too, marked: httpd does not serve it until it is enabled
    // (a2ensite).
    stdout: r.vhosts.map(
      (v) =>
        `${v.isDefault ? '*' : ' '} ` +
        `${v.address}\t${v.serverName ?? '(no ServerName)'}` +
        (v.aliases.length ? ` (${v.aliases.join(' ')})` : '') +
        `\t${v.file}:${v.line}${v.disabled ? '\tdisabled' : ''}` +
        v.shadowedBy
          .map(
            (s) =>
              `\tshadowed on ${s.address}: ${s.answeredBy ?? '(no ServerName)'} answers instead`,
          )
          .join(''),
    ),
  };
}

export async function check(o: Common & { config?: string; httpd: boolean }): Promise<Outcome> {
  // With --config a server root is optional; when there is one (option, env or apxs-ts.json), its
  // httpd says the series.
  const srPath = o.config ? await targetServerRootPath(o) : undefined;
  const sr = o.config && !srPath ? undefined : await targetServerRoot(o);
  const r = await inspectVhosts({
    sr,
    configFile: o.config,
    hostsFile: hostsFileOf(o),
    httpdS: o.httpd,
    series: seriesOf(o),
  });
  const lines = r.seriesAssumed
    ? [
        `checked as httpd ${r.series}, assumed: no server root to ask its httpd ` +
          '(pass --httpd-version 2.2 for a 2.2 config, or --server-root)',
      ]
    : [];
  // A fix of several lines (a <Directory> block to add) keeps the indentation on each.
  lines.push(
    ...r.findings.flatMap((f) => [
      `${f.line ? `${f.file}:${f.line}` : f.file}: ${f.severity}: ${f.message}`,
      `    ${f.explanation}`,
      `    fix: ${f.fix.replace(/\n/g, '\n        ')}`,
    ]),
  );
  if (r.httpdS)
    lines.push(
      '',
      `httpd -S (exit ${r.httpdS.exitCode}):`,
      ...r.httpdS.output.split('\n').map((l) => `    ${l}`),
    );
  if (r.findings.length) {
    throw new ApxsError(
      'CONFIG_BROKEN',
      `${r.findings.length} vhost problem(s) in ${r.configFile}`,
      { details: lines, data: { ...r } },
    );
  }
  return {
    data: { ...r },
    stdout: [`${r.configFile}: ${r.vhosts.length} vhost(s), no problems found`, ...lines],
  };
}
