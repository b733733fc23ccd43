/** The virtual hosts a configuration declares, in the order httpd reads them. */
import path from 'node:path';
import { is, type Directive } from '../httpd/conf-parse.js';
import type { ConfTree } from '../httpd/conf-tree.js';

export interface Vhost {
  /** The <VirtualHost> arguments, e.g. ['*:80'] */
  addresses: string[];
  serverName: string | undefined;
  aliases: string[];
  documentRoot: string | undefined;
  file: string;
  line: number;
  /** Directives inside, for checks that look deeper. */
  body: Directive[];
}

export function collectVhosts(tree: ConfTree): Vhost[] {
  const out: Vhost[] = [];
  let current: Vhost | undefined;
  let depth = 0;
  for (const d of tree.directives) {
    if (!current) {
      if (d.kind === 'open' && is(d, 'VirtualHost')) {
        current = {
          addresses: d.args,
          serverName: undefined,
          aliases: [],
          documentRoot: undefined,
          file: d.file,
          line: d.line,
          body: [],
        };
        depth = 0;
      }
      continue;
    }
    if (d.kind === 'open') depth++;
    if (d.kind === 'close') {
      if (depth === 0 && is(d, 'VirtualHost')) {
        out.push(current);
        current = undefined;
        continue;
      }
      depth--;
    }
    current.body.push(d);
    if (d.kind !== 'directive' || depth > 0) continue;
    if (is(d, 'ServerName') && d.args[0])
      current.serverName = d.args[0].replace(/^[a-z]+:\/\//i, '').replace(/:\d+$/, '');
    if (is(d, 'ServerAlias')) current.aliases.push(...d.args);
    if (is(d, 'DocumentRoot') && d.args[0])
      current.documentRoot = path.resolve(tree.serverRoot, d.args[0]);
  }
  return out;
}

/**
 * Splits "*:80", "127.0.0.1", "[::1]:8080", "_default_:443" into host and port ('*' when absent).
 */
export function splitAddress(a: string): { host: string; port: string } {
  const v6 = /^\[([^\]]+)\](?::(\d+|\*))?$/.exec(a);
  if (v6) return { host: v6[1]!, port: v6[2] ?? '*' };
  const i = a.lastIndexOf(':');
  if (i > 0 && /^(\d+|\*)$/.test(a.slice(i + 1)))
    return { host: a.slice(0, i), port: a.slice(i + 1) };
  return { host: a, port: '*' };
}

/** The address:port key httpd groups name-based vhosts by; `defaultPort` fills a bare address. */
export function addressKey(a: string, defaultPort?: number): string {
  const { host, port } = splitAddress(a);
  return `${host}:${port === '*' && defaultPort ? defaultPort : port}`;
}
