/** What ctl needs to know of a server root: where it listens, its pid file and error log. */
import type { FileView } from '../core/file-view.js';
import path from 'node:path';
import { is } from './conf-parse.js';
import { loadConfTree, serverLevel, type ConfTree } from './conf-tree.js';
import { httpdCommand } from './invoke.js';
import type { ServerRoot } from './server-root.js';

export interface ListenAddress {
  host: string | undefined;
  port: number;
  protocol: string | undefined;
}

export interface ServerInfo {
  listens: ListenAddress[];
  pidFile: string;
  errorLog: string | undefined;
  healthUrl: string | undefined;
  tree: ConfTree;
}

export function parseListen(arg: string, protocol?: string): ListenAddress | undefined {
  let m = /^\[([^\]]+)\]:(\d+)$/.exec(arg);
  if (m) return { host: m[1], port: Number(m[2]), protocol };
  m = /^(\d+)$/.exec(arg);
  if (m) return { host: undefined, port: Number(m[1]), protocol };
  m = /^(.+):(\d+)$/.exec(arg);
  if (m) return { host: m[1], port: Number(m[2]), protocol };
  return undefined;
}

/** The URL a health check asks: the first Listen, with wildcard addresses reached over loopback. */
export function healthUrlFor(l: ListenAddress): string {
  const scheme =
    l.protocol === 'https' || (l.protocol === undefined && l.port === 443) ? 'https' : 'http';
  let host = l.host ?? '127.0.0.1';
  if (host === '0.0.0.0' || host === '*') host = '127.0.0.1';
  if (host === '::') host = '::1';
  const shown = host.includes(':') ? `[${host}]` : host;
  return `${scheme}://${shown}:${l.port}/`;
}

function resolveUnderRoot(root: string, p: string): string {
  return path.isAbsolute(p) ? p : path.join(root, p);
}

/** `view`: inside an edit, its transaction (a --check plan reads the config it would write). */
export async function readServerInfo(sr: ServerRoot, view?: FileView): Promise<ServerInfo> {
  const cmd = await httpdCommand(sr, []);
  return serverInfoFromTree(
    await loadConfTree(sr.configFile, {
      serverRoot: sr.root,
      env: cmd.env,
      ...(view ? { view } : {}),
    }),
  );
}

export function serverInfoFromTree(tree: ConfTree): ServerInfo {
  const listens = tree.directives
    .filter((d) => d.kind === 'directive' && is(d, 'Listen') && d.args[0])
    .map((d) => parseListen(d.args[0]!, d.args[1]))
    .filter((l): l is ListenAddress => l !== undefined);
  const root = tree.serverRoot;
  const pid = serverLevel(tree, 'PidFile') ?? 'logs/httpd.pid';
  const log = serverLevel(tree, 'ErrorLog') ?? 'logs/error_log';
  return {
    listens,
    pidFile: resolveUnderRoot(root, pid),
    // A piped or syslog error log has no file to read.
    errorLog: /^(\||syslog)/.test(log) ? undefined : resolveUnderRoot(root, log),
    healthUrl: listens[0] ? healthUrlFor(listens[0]) : undefined,
    tree,
  };
}
