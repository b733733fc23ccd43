/**
 * `vhost add` / `vhost remove`: a <VirtualHost> in a vhosts file of apxs-ts's
 * own (never the shipped extra/httpd-vhosts.conf example), the Include that
 * makes httpd read it, the hosts entry, the DocumentRoot; configtest, and
 * every file restored byte for byte when httpd rejects the result.
 */
import { exists } from '../core/fs.js';
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { configTestOrRollback, type ConfigTestResult } from '../httpd/configtest.js';
import { ApxsError } from '../core/errors.js';
import { FileTransaction } from '../core/file-transaction.js';
import { hostsAdd, hostsBlockOf, hostsRemove, hostsSetBlock, type HostsBlock } from './hosts-file.js';
import { validateHostname } from './host-names.js';
import { httpdCommand } from '../httpd/invoke.js';
import { httpdSeries, type Series } from '../httpd/version.js';
import { findBlock, listBlockIds, removeBlock, upsertBlock } from '../core/marked-block.js';
import { readServerInfo } from '../httpd/server-info.js';
import type { ServerRoot } from '../httpd/server-root.js';

export interface VhostSpec {
  name: string;
  aliases: string[];
  docroot?: string;
  port?: number;
  /** VirtualHost address: '*' (default) or an IP. */
  ip?: string;
}

export interface VhostResult {
  name: string;
  serverRoot: string;
  series: Series;
  address: string;
  documentRoot: string | undefined;
  vhostsFile: string;
  changed: string[];
  hostsChanged: boolean;
  configtest: ConfigTestResult | null;
}

const VHOSTS_FILE_HEADER = [
  '# Virtual hosts managed by apxs-ts (apxs-ts vhost add/remove).',
  '# Each site is a block apxs-ts marks as its own; text outside the blocks is kept.',
  '',
].join('\n');

function vhostsFile(sr: ServerRoot, name: string): string {
  return sr.kind === 'debian' ? path.join(sr.root, 'sites-available', `${name}.conf`) : path.join(path.dirname(sr.configFile), 'apxs-ts-vhosts.conf');
}

function quote(p: string): string {
  return `"${p.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function vhostBlock(series: Series, address: string, name: string, aliases: string[], docroot: string): string[] {
  const access = series === '2.4' ? ['        Require all granted'] : ['        Order allow,deny', '        Allow from all'];
  return [
    `<VirtualHost ${address}>`,
    `    ServerName ${name}`,
    ...(aliases.length ? [`    ServerAlias ${aliases.join(' ')}`] : []),
    `    DocumentRoot ${quote(docroot)}`,
    `    <Directory ${quote(docroot)}>`,
    ...access,
    '    </Directory>',
    '</VirtualHost>',
  ];
}

function indexHtml(name: string): string {
  const safe = name.replace(/[<>&"]/g, '');
  return `<!DOCTYPE html>\n<html><head><title>${safe}</title></head>\n<body><h1>${safe}</h1><p>The ${safe} virtual host, made by apxs-ts.</p></body></html>\n`;
}

/** The vhosts file text with the 2.2 NameVirtualHost block matching the addresses in use (none for 2.4). */
export function syncNameVirtualHost(text: string, series: Series): string {
  const addresses = [...new Set([...text.matchAll(/^<VirtualHost\s+([^>]+)>/gm)].map((m) => m[1]!.trim()))];
  if (series !== '2.2' || addresses.length === 0) return removeBlock(text, 'namevirtualhost');
  const at = text.startsWith(VHOSTS_FILE_HEADER) ? VHOSTS_FILE_HEADER.length : 0;
  // httpd 2.2 matches NameVirtualHost to <VirtualHost> by exact text.
  return upsertBlock(text, 'namevirtualhost', addresses.map((a) => `NameVirtualHost ${a}`), at);
}

async function seriesOf(sr: ServerRoot, override?: Series): Promise<Series> {
  if (override) return override;
  const cmd = await httpdCommand(sr, []);
  return (await httpdSeries(sr.httpd, cmd.env)).series;
}

export async function vhostAdd(sr: ServerRoot, spec: VhostSpec, opts: { hostsFile: string; series?: Series }): Promise<VhostResult> {
  const name = validateHostname(spec.name);
  const aliases = spec.aliases.map(validateHostname);
  if (spec.ip && spec.ip !== '*' && net.isIP(spec.ip) === 0) throw new ApxsError('USAGE', `bad --ip ${JSON.stringify(spec.ip)}: expected * or an IP address`);
  const series = await seriesOf(sr, opts.series);
  const info = await readServerInfo(sr);
  const port = spec.port ?? info.listens[0]?.port;
  if (!port) throw new ApxsError('USAGE', `${sr.configFile} has no Listen directive`, { hint: 'pass --port' });
  const host = spec.ip ?? '*';
  const address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const docroot = path.resolve(spec.docroot ?? path.join(sr.root, 'sites', name));
  const file = vhostsFile(sr, name);

  const tx = new FileTransaction(path.join(sr.stateDir, 'backups'));
  const createdDirs: string[] = [];
  let hostsBefore: HostsBlock | undefined;
  const undo = async () => {
    if (hostsBefore) await hostsSetBlock(opts.hostsFile, hostsBefore);
    for (const d of createdDirs.reverse()) await fs.rm(d, { recursive: true, force: true });
  };
  try {
    // The DocumentRoot, with a page naming the site.
    if (!(await exists(docroot))) {
      let top = docroot;
      while (!(await exists(path.dirname(top)))) top = path.dirname(top);
      await fs.mkdir(docroot, { recursive: true, mode: 0o755 });
      createdDirs.push(top);
      await fs.writeFile(path.join(docroot, 'index.html'), indexHtml(name), { mode: 0o644 });
    }
    const block = vhostBlock(series, address, name, aliases, docroot);
    if (sr.kind === 'debian') {
      await tx.write(file, `${VHOSTS_FILE_HEADER}${upsertBlock('', `vhost ${name}`, block, 0)}`);
      await tx.symlink(`../sites-available/${name}.conf`, path.join(sr.root, 'sites-enabled', `${name}.conf`));
    } else {
      const current = (await fs.readFile(file, 'utf8').catch(() => undefined)) ?? VHOSTS_FILE_HEADER;
      await tx.write(file, syncNameVirtualHost(upsertBlock(current, `vhost ${name}`, block, current.length), series));
      const conf = await fs.readFile(sr.configFile, 'utf8');
      const include = `Include ${quote(path.relative(sr.root, file))}`;
      await tx.write(sr.configFile, upsertBlock(conf, 'vhosts', [include], conf.length));
    }
    // Names resolve only if the hosts file says so: loopback, unless the vhost has its own address.
    const previous = await hostsBlockOf(opts.hostsFile);
    const hostsChanged = (await hostsAdd(opts.hostsFile, [name, ...aliases], host === '*' ? '127.0.0.1' : host)).changed;
    if (hostsChanged) hostsBefore = previous;
    const verdict = tx.changed.length || hostsChanged ? await configTestOrRollback(tx, sr, `adding vhost ${name}`, undo) : null;
    return { name, serverRoot: sr.root, series, address, documentRoot: docroot, vhostsFile: file, changed: tx.changed, hostsChanged, configtest: verdict };
  } catch (err) {
    // configTestOrRollback has already undone everything when httpd rejected the config.
    if (!(err instanceof ApxsError && err.code === 'CONFIG_BROKEN')) {
      await tx.rollback();
      await undo();
    }
    throw err;
  }
}

export async function vhostRemove(sr: ServerRoot, nameIn: string, opts: { hostsFile: string; purge?: boolean; series?: Series }): Promise<VhostResult & { purged: string | undefined }> {
  const name = validateHostname(nameIn);
  const series = await seriesOf(sr, opts.series);
  const file = vhostsFile(sr, name);
  const text = await fs.readFile(file, 'utf8').catch(() => '');
  const block = findBlock(text, `vhost ${name}`);
  if (!block) throw new ApxsError('NOT_FOUND', `no vhost ${name} made by apxs-ts in ${file}`, { hint: 'apxs-ts vhost list shows what there is' });
  const docroot = block.body.map((l) => /^\s*DocumentRoot\s+"((?:[^"\\]|\\.)*)"/.exec(l)?.[1]).find(Boolean)?.replace(/\\(.)/g, '$1');
  const aliases = block.body.flatMap((l) => /^\s*ServerAlias\s+(.*)$/.exec(l)?.[1]?.trim().split(/\s+/) ?? []);
  const tx = new FileTransaction(path.join(sr.stateDir, 'backups'));
  try {
    if (sr.kind === 'debian') {
      await tx.remove(path.join(sr.root, 'sites-enabled', `${name}.conf`));
      await tx.remove(file);
    } else {
      const next = syncNameVirtualHost(removeBlock(text, `vhost ${name}`), series);
      if (listBlockIds(next, 'vhost ').length === 0) {
        // No vhost left: the file and the Include go too.
        await tx.remove(file);
        await tx.write(sr.configFile, removeBlock(await fs.readFile(sr.configFile, 'utf8'), 'vhosts'));
      } else {
        await tx.write(file, next);
      }
    }
  } catch (err) {
    await tx.rollback();
    throw err;
  }
  const verdict = await configTestOrRollback(tx, sr, `removing vhost ${name}`);
  // Other vhosts may still use a name only if they list it; ours were ours alone.
  const hostsChanged = (await hostsRemove(opts.hostsFile, [name, ...aliases])).changed;
  let purged: string | undefined;
  if (opts.purge && docroot) {
    await fs.rm(docroot, { recursive: true, force: true });
    purged = docroot;
  }
  const address = /<VirtualHost\s+([^>]+)>/.exec(block.body.join('\n'))?.[1] ?? '';
  return { name, serverRoot: sr.root, series, address, documentRoot: docroot, vhostsFile: file, changed: tx.changed, hostsChanged, configtest: verdict, purged };
}
