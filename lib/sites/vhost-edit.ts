/**
 * `vhost add` / `vhost remove`: a <VirtualHost> where the server's layout
 * keeps sites (never the shipped extra/httpd-vhosts.conf example), the hosts
 * entries, the DocumentRoot; all in one edit transaction
 * (lib/httpd/config-edit.ts): configtest, and every change undone when
 * httpd rejects the result.
 */
import { promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import type { FileDiff } from '../core/change-report.js';
import { ApxsError } from '../core/errors.js';
import type { EditTransaction } from '../core/edit-transaction.js';
import { findBlock, listBlockIds, removeBlock, upsertBlock } from '../core/marked-block.js';
import { withConfigEdit } from '../httpd/config-edit.js';
import { configAddress, configPath } from '../httpd/config-values.js';
import type { ConfigTestResult } from '../httpd/configtest.js';
import { loadConfTree } from '../httpd/conf-tree.js';
import { dialectOf } from '../httpd/dialect.js';
import { httpdCommand } from '../httpd/invoke.js';
import { hostKey, readLedger, updateLedger, type TlsRecord } from '../httpd/ledger.js';
import { caDir } from '../tls/ca-dir.js';
import { applyTls, planTls, removeTls } from './vhost-tls.js';
import { readServerInfo } from '../httpd/server-info.js';
import type { ServerRoot } from '../httpd/server-root.js';
import { serverProfile } from '../httpd/profile.js';
import type { Series } from '../httpd/version.js';
import {
  addToBlock,
  hostsAdd,
  hostsList,
  hostsRemove,
  parseHostsLines,
  readBlock,
  removeFromBlock,
  withBlock,
  type HostsBlock,
} from './hosts-file.js';
import { validateHostname } from './host-names.js';
import { collectVhosts } from './vhost-model.js';

export interface VhostSpec {
  name: string;
  aliases: string[];
  docroot?: string;
  port?: number;
  /** VirtualHost address: '*' (default) or an IP. */
  ip?: string;
  /** Also serve it over TLS (a certificate from the local CA; lib/sites/vhost-tls.ts). */
  tls?: { port?: number; httpsOnly?: boolean };
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
  warnings: string[];
  /** Whether anything changed (or would, under --check): config, DocumentRoot, hosts file. */
  didChange: boolean;
  /** Each changed file before and after (apxs-ts's state left out). */
  diff: FileDiff[];
  check: boolean;
  configtestSkipped?: string;
  /** vhost remove: there was no such vhost of apxs-ts's (nothing to do: state=absent holds). */
  alreadyAbsent?: boolean;
  /** The TLS side, when it has one. */
  tls?: {
    address: string;
    url: string;
    certificate: string;
    notAfter: string;
    names: string[];
    httpsOnly: boolean;
    ca: string;
  };
}

const VHOSTS_FILE_HEADER = [
  '# Virtual hosts managed by apxs-ts (apxs-ts vhost add/remove).',
  '# Each site is a block apxs-ts marks as its own; text outside the blocks is kept.',
  '',
].join('\n');

function quote(p: string): string {
  return `"${p.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

export function vhostBlock(
  series: Series,
  address: string,
  name: string,
  aliases: string[],
  docroot: string,
  extra: string[] = [],
): string[] {
  return [
    `<VirtualHost ${address}>`,
    `    ServerName ${name}`,
    ...(aliases.length ? [`    ServerAlias ${aliases.join(' ')}`] : []),
    `    DocumentRoot ${quote(docroot)}`,
    `    <Directory ${quote(docroot)}>`,
    ...dialectOf(series).allowAll.map((l) => `        ${l}`),
    '    </Directory>',
    ...extra.map((l) => `    ${l}`),
    '</VirtualHost>',
  ];
}

/**
 * The vhost's plain block, and with TLS its block on the TLS port (SNI picks it by ServerName) and
 * --https-only's redirect.
 */
function siteBlock(
  series: Series,
  host: string,
  port: number,
  name: string,
  aliases: string[],
  docroot: string,
  tls: TlsRecord | undefined,
): string[] {
  const addr = (p: number) => `${host.includes(':') ? `[${host}]` : host}:${p}`;
  if (!tls) return vhostBlock(series, addr(port), name, aliases, docroot);
  const url = `https://${name}${tls.port === 443 ? '' : `:${tls.port}`}/`;
  return [
    ...vhostBlock(
      series,
      addr(port),
      name,
      aliases,
      docroot,
      tls.httpsOnly ? [`Redirect permanent / ${url}`] : [],
    ),
    ...vhostBlock(series, addr(tls.port), name, aliases, docroot, [
      'SSLEngine on',
      `SSLCertificateFile ${quote(tls.file)}`,
    ]),
  ];
}

function indexHtml(name: string): string {
  const safe = name.replace(/[<>&"]/g, '');
  return (
    `<!DOCTYPE html>\n<html><head><title>${safe}</title></head>\n` +
    `<body><h1>${safe}</h1><p>The ${safe} virtual host, made by apxs-ts.</p></body></html>\n`
  );
}

/**
 * The vhosts file text with the NameVirtualHost block matching the addresses in use (none where the
 * series needs none).
 */
export function syncNameVirtualHost(text: string, series: Series): string {
  const addresses = [
    ...new Set([...text.matchAll(/^<VirtualHost\s+([^>]+)>/gm)].map((m) => m[1]!.trim())),
  ];
  if (!dialectOf(series).nameVirtualHost || addresses.length === 0)
    return removeBlock(text, 'namevirtualhost');
  const at = text.startsWith(VHOSTS_FILE_HEADER) ? VHOSTS_FILE_HEADER.length : 0;
  // httpd up to 2.2 matches NameVirtualHost to <VirtualHost> by exact text.
  return upsertBlock(
    text,
    'namevirtualhost',
    addresses.map((a) => `NameVirtualHost ${a}`),
    at,
  );
}

const siteEdit = (series: Series, name: string, block: string[] | undefined) => (text: string) =>
  syncNameVirtualHost(
    block
      ? upsertBlock(text, `vhost ${name}`, block, text.length)
      : removeBlock(text, `vhost ${name}`),
    series,
  );

/**
 * Maps the vhost's names in the hosts file, inside `tx`. A name the file
 * already maps to this address is left alone (no duplicate line, and remove
 * will not drop it); one mapped to another address is not remapped unless
 * `remap` says so. Returns the names it added.
 */
async function mapNames(
  tx: EditTransaction,
  sr: ServerRoot,
  hostsFile: string,
  vhost: string,
  names: string[],
  ip: string,
  remap: boolean,
  warnings: string[],
): Promise<string[]> {
  const family = net.isIP(ip);
  // Through the transaction: a --check plan sees its own planned hosts change.
  const planned = await tx.readText(hostsFile);
  const entries =
    planned === undefined ? await hostsList(hostsFile) : parseHostsLines(planned, hostsFile);
  const toAdd: string[] = [];
  for (const n of names) {
    const mapped = entries.filter(
      (e) => e.names.some((x) => x.toLowerCase() === n) && net.isIP(e.ip) === family,
    );
    const same = mapped.find((e) => e.ip === ip);
    if (same) {
      // Said, so the user knows the mapping is theirs and stays when this vhost goes.
      if (!same.managed)
        warnings.push(
          `${n} was already mapped to ${ip} in ${hostsFile}:${same.line} (your ` +
            'line): left as it is, and vhost remove will not take it out',
        );
      continue;
    }
    const other = mapped[0];
    if (other && !remap) {
      throw new ApxsError(
        'HOST_MAPPED',
        `${n} is already mapped to ${other.ip} in ${hostsFile}:${other.line}`,
        {
          hint:
            `pass --remap to map it to ${ip} in apxs-ts's ` +
            'block' +
            (other.managed
              ? ''
              : ` (line ${other.line} is yours: edit it by hand to take it out)`) +
            ', ' +
            `or use --ip ${other.ip}`,
        },
      );
    }
    if (other && !other.managed)
      warnings.push(
        `${hostsFile}:${other.line} maps ${n} to ${other.ip} before ` +
          "apxs-ts's block: resolvers take that line first",
      );
    toAdd.push(n);
  }
  if (toAdd.length === 0) return [];
  await updateLedger(tx, sr, (l) => {
    for (const n of toAdd) l.hostNames[hostKey(hostsFile, n)] = { vhost };
  });
  await editHostsIn(
    tx,
    hostsFile,
    (m) => addToBlock(m, ip, toAdd),
    () => hostsAdd(hostsFile, toAdd, ip, hostsBackups(sr)),
  );
  return toAdd;
}

/**
 * A hosts-file change inside `tx`, made last of an edit (its undo needs no
 * space: it is what a full disk fails last). `edit` is the change to our
 * block that `change` makes, so the journal knows the bytes it will leave.
 */
async function editHostsIn(
  tx: EditTransaction,
  hostsFile: string,
  edit: (m: HostsBlock) => HostsBlock,
  change: () => Promise<unknown>,
): Promise<void> {
  const text = (await tx.readText(hostsFile)) ?? (await fs.readFile(hostsFile, 'utf8'));
  const real = await fs.realpath(hostsFile);
  // The lock hosts-file.ts takes for every edit of this file.
  await tx.shared(
    hostsFile,
    `${real}.apxs-ts.lock`,
    withBlock(text, edit(readBlock(text, hostsFile)), hostsFile),
    change,
  );
}

/**
 * The hosts file's backups go in apxs-ts's own state dir (at most KEEP_BACKUPS of them), never
 * beside /etc/hosts in /etc.
 */
const hostsBackups = (sr: ServerRoot) => ({ backupDir: path.join(sr.stateDir, 'hosts-backups') });

async function httpdEnv(sr: ServerRoot): Promise<Record<string, string>> {
  return (await httpdCommand(sr, [])).env;
}

export async function vhostAdd(
  sr: ServerRoot,
  spec: VhostSpec,
  opts: { hostsFile: string; series?: Series; remap?: boolean; caDir?: string; check?: boolean },
): Promise<VhostResult> {
  const name = validateHostname(spec.name);
  const aliases = spec.aliases.map(validateHostname);
  if (spec.ip !== undefined) configAddress('--ip', spec.ip);
  const docroot = configPath('--docroot', spec.docroot ?? sr.layout.defaultDocroot(sr, name));
  const profile = await serverProfile(sr, opts.series);
  const { series } = profile;
  const info = await readServerInfo(sr);
  // A vhost that has TLS keeps it when added again without --tls.
  const had = (await readLedger(sr)).tls[name];
  const tlsSpec = spec.tls ?? (had ? { port: had.port, httpsOnly: had.httpsOnly } : undefined);
  const plan = tlsSpec
    ? await planTls(sr, profile, name, [name, ...aliases], {
        caDir: opts.caDir ?? caDir(),
        ...tlsSpec,
        check: opts.check,
      })
    : undefined;
  try {
    return await addWithPlan(sr, spec, opts, { name, aliases, docroot, series, info, plan });
  } finally {
    if (plan?.throwawayCa) await fs.rm(plan.throwawayCa, { recursive: true, force: true });
  }
}

async function addWithPlan(
  sr: ServerRoot,
  spec: VhostSpec,
  opts: { hostsFile: string; remap?: boolean; check?: boolean },
  p: {
    name: string;
    aliases: string[];
    docroot: string;
    series: Series;
    info: Awaited<ReturnType<typeof readServerInfo>>;
    plan: Awaited<ReturnType<typeof planTls>> | undefined;
  },
): Promise<VhostResult> {
  const { name, aliases, docroot, series, info, plan } = p;
  const port = spec.port ?? info.listens.find((l) => l.protocol !== 'https')?.port;
  if (!port)
    throw new ApxsError('USAGE', `${sr.configFile} has no Listen directive`, {
      hint: 'pass --port',
    });
  const host = spec.ip ?? '*';
  const address = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  const warnings: string[] = [];
  let added: string[] = [];
  let tls: TlsRecord | undefined;
  const edit = await withConfigEdit(
    sr,
    `adding vhost ${name}`,
    async (tx) => {
      // The DocumentRoot, with a page naming the site, when it is not there yet.
      const top = await tx.mkdir(docroot);
      if (top) {
        await tx.write(path.join(docroot, 'index.html'), indexHtml(name), 0o644);
        // `top`: the first dir it had to make (SERVER_ROOT/sites), for --purge to take too once
        // empty.
        await updateLedger(tx, sr, (l) => {
          l.docroots[docroot] = { vhost: name, ...(top !== docroot ? { top } : {}) };
        });
      }
      // Certificate, modules and Listen first: the block naming them comes last
      // (lib/sites/vhost-tls.ts).
      if (plan) tls = await applyTls(tx, sr, name, [name, ...aliases], plan);
      await sr.layout.enableSite(
        tx,
        sr,
        name,
        VHOSTS_FILE_HEADER,
        siteEdit(series, name, siteBlock(series, host, port, name, aliases, docroot, tls)),
      );
      // Names resolve only if the hosts file says so: loopback, unless the vhost has its own
      // address.
      added = await mapNames(
        tx,
        sr,
        opts.hostsFile,
        name,
        [name, ...aliases],
        host === '*' ? '127.0.0.1' : host,
        !!opts.remap,
        warnings,
      );
    },
    { check: opts.check },
  );
  return {
    name,
    serverRoot: sr.root,
    series,
    address,
    documentRoot: docroot,
    vhostsFile: sr.layout.siteFile(sr, name),
    changed: edit.changed,
    hostsChanged: added.length > 0,
    configtest: edit.configtest,
    warnings: [...edit.warnings, ...warnings],
    ...changeFields(edit),
    ...(tls && plan
      ? {
          tls: {
            address: `${host.includes(':') ? `[${host}]` : host}:${tls.port}`,
            url: `https://${name}:${tls.port}/`,
            certificate: tls.file,
            notAfter: tls.notAfter,
            names: tls.names,
            httpsOnly: !!tls.httpsOnly,
            ca: plan.ca.certFile,
          },
        }
      : {}),
  };
}

/** DocumentRoots of the vhosts httpd would still serve, for --purge never to take one in use. */
async function docrootsInUse(sr: ServerRoot, tx: EditTransaction): Promise<string[]> {
  const tree = await loadConfTree(sr.configFile, {
    serverRoot: sr.root,
    env: await httpdEnv(sr),
    view: tx,
  });
  return collectVhosts(tree).flatMap((v) =>
    v.documentRoot ? [path.resolve(sr.root, v.documentRoot)] : [],
  );
}

export async function vhostRemove(
  sr: ServerRoot,
  nameIn: string,
  opts: { hostsFile: string; purge?: boolean; series?: Series; check?: boolean },
): Promise<VhostResult & { purged: string | undefined }> {
  const name = validateHostname(nameIn);
  const { series } = await serverProfile(sr, opts.series);
  const file = sr.layout.siteFile(sr, name);
  const warnings: string[] = [];
  let removedNames: string[] = [];
  let purge: string | undefined;
  let purgeTop: string | undefined;
  let block: { body: string[] } | undefined;
  let alreadyAbsent = false;
  const edit = await withConfigEdit(
    sr,
    `removing vhost ${name}`,
    async (tx) => {
      const text = await tx.readText(file);
      block = findBlock(text ?? '', `vhost ${name}`, file);
      // Only the names this vhost mapped: a mapping the user had before stays.
      const ledger = await readLedger(sr, tx);
      removedNames = Object.entries(ledger.hostNames)
        .filter(([k, v]) => v.vhost === name && k.startsWith(`${path.resolve(opts.hostsFile)}\0`))
        .map(([k]) => k.split('\0')[1]!);
      if (!block && !(text === undefined && removedNames.length > 0)) {
        // Nothing of apxs-ts's vhost here: what remove makes true already is. A site file of that
        // name apxs-ts did not write (Debian: the admin's sites-available/NAME.conf) is not
        // apxs-ts's to remove: left, and said.
        if (
          text !== undefined &&
          !text.startsWith(VHOSTS_FILE_HEADER) &&
          !hasVhostBlocks(text, file)
        )
          warnings.push(
            `${file} was not written by apxs-ts: left as it is ` +
              `(a2dissite ${name} disables a site of your own)`,
          );
        alreadyAbsent = true;
        return;
      }
      // Its file gone (deleted by hand, or by an apxs-ts before #16 killed half way): take out what
      // is left of it.
      if (!block)
        warnings.push(
          `${file} is gone: removed what was left of ${name} (its Include, its hosts names)`,
        );
      await sr.layout.disableSite(
        tx,
        sr,
        name,
        VHOSTS_FILE_HEADER,
        siteEdit(series, name, undefined),
      );
      // Its TLS after its block: the certificate (deleted after the commit), and with the last TLS
      // vhost the Listen and modules.
      await removeTls(tx, sr, name);
      const docroot = blockDocroot(block?.body ?? []);
      const created = docroot ? ledger.docroots[docroot] : undefined;
      if (opts.purge && docroot) {
        const inUse = (await docrootsInUse(sr, tx)).some(
          (d) => d === docroot || d.startsWith(`${docroot}/`),
        );
        if (created?.vhost !== name)
          warnings.push(`--purge: kept ${docroot}: apxs-ts did not create it`);
        else if (inUse) warnings.push(`--purge: kept ${docroot}: another vhost still uses it`);
        else {
          purge = docroot;
          purgeTop = created.top;
        }
      }
      await updateLedger(tx, sr, (l) => {
        for (const n of removedNames) delete l.hostNames[hostKey(opts.hostsFile, n)];
        if (purge) delete l.docroots[purge];
      });
      // Deleting is not undoable: the journal removes it after the commit (and a run killed before
      // that, the next edit).
      if (purge) await tx.removeAfterCommit(purge);
      if (removedNames.length)
        await editHostsIn(
          tx,
          opts.hostsFile,
          (m) => removeFromBlock(m, removedNames),
          () => hostsRemove(opts.hostsFile, removedNames, hostsBackups(sr)),
        );
    },
    { check: opts.check },
  );
  // The DocumentRoot itself went after the commit (the journal's removeAfterCommit); its empty
  // parents apxs-ts made go too.
  if (purge && purgeTop && !opts.check) await removeEmptyParents(purge, purgeTop);
  const body = block?.body ?? [];
  return {
    name,
    serverRoot: sr.root,
    series,
    address: /<VirtualHost\s+([^>]+)>/.exec(body.join('\n'))?.[1] ?? '',
    documentRoot: blockDocroot(body),
    vhostsFile: file,
    changed: edit.changed,
    hostsChanged: removedNames.length > 0,
    configtest: edit.configtest,
    warnings: [...edit.warnings, ...warnings],
    purged: purge,
    ...changeFields(edit),
    ...(alreadyAbsent ? { alreadyAbsent } : {}),
  };
}

/** The contract's fields of an edit's result (lib/core/change-report.ts). */
function changeFields(edit: {
  didChange: boolean;
  diff: FileDiff[];
  check: boolean;
  configtestSkipped?: string;
}): Pick<VhostResult, 'didChange' | 'diff' | 'check' | 'configtestSkipped'> {
  return {
    didChange: edit.didChange,
    diff: edit.diff,
    check: edit.check,
    ...(edit.configtestSkipped ? { configtestSkipped: edit.configtestSkipped } : {}),
  };
}

const hasVhostBlocks = (text: string, file: string) =>
  listBlockIds(text, 'vhost ', file).length > 0;

/**
 * The dirs apxs-ts made above a purged DocumentRoot, up to `top`, each only when empty (rmdir
 * refuses any other).
 */
async function removeEmptyParents(dir: string, top: string): Promise<void> {
  for (let d = path.dirname(dir); d === top || d.startsWith(`${top}/`); d = path.dirname(d)) {
    if (
      !(await fs.rmdir(d).then(
        () => true,
        () => false,
      ))
    )
      return;
  }
}

function blockDocroot(body: string[]): string | undefined {
  return body
    .map((l) => /^\s*DocumentRoot\s+"((?:[^"\\]|\\.)*)"/.exec(l)?.[1])
    .find(Boolean)
    ?.replace(/\\(.)/g, '$1');
}
