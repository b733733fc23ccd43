/**
 * What differs in httpd's config language from one series to the next: the
 * one table every writer and checker of config text asks.
 */
import type { Series } from './version.js';

export interface Dialect {
  series: Series;
  /**
   * Name-based vhosts need `NameVirtualHost ADDR` with exactly the
   * <VirtualHost> address up to 2.2; 2.4 warns (AH00548) that it does nothing.
   */
  nameVirtualHost: boolean;
  /** The lines that let everyone in to a <Directory>: Order/Allow before 2.4, Require from 2.4. */
  allowAll: string[];
  /**
   * The lines that let only this machine in to a <Location>: a module page
   * (an info module's header dump) is not for everyone, as Debian's own
   * info.conf and status.conf say with `Require local`.
   */
  localOnly: string[];
  /**
   * Order/Allow/Deny/Satisfy are core access control (before 2.4) rather than mod_access_compat's
   * (2.4).
   */
  orderAllowBuiltIn: boolean;
  /**
   * The shipped lines that say where httpd listens (1.3 also has Port), and the lines that make it
   * listen on loopback:PORT.
   */
  listen: { shipped: RegExp; lines: (port: number) => string[] };
  /**
   * LogLevel: 2.4 sets a level per module (`LogLevel NAME:LEVEL`) and has
   * trace1-8; before 2.4 LogLevel takes one global level (a `NAME:LEVEL` is
   * a syntax error there), so a module's debug lines need the global debug.
   */
  logLevel: { perModule: boolean; levels: readonly string[] };
  /**
   * httpd's messages carry an id (AH00112: ...) from 2.4 on; 2.2's say the same words without one.
   */
  messageIds: boolean;
  /**
   * 2.4 keeps <VirtualHost *> (any port, `*:*` in httpd -S) apart from
   * <VirtualHost *:PORT>: a request on PORT goes to the most specific match,
   * so the `*` vhosts never see it. Up to 2.2 a NameVirtualHost address
   * mixing both is one group "with undefined results".
   */
  mostSpecificAddressWins: boolean;
}

const ORDER_ALLOW = ['Order allow,deny', 'Allow from all'];
const LOCAL_ORDER = ['Order deny,allow', 'Deny from all', 'Allow from 127.0.0.1 ::1'];
// 1.3's mod_access knows no IPv6.
const LOCAL_13 = ['Order deny,allow', 'Deny from all', 'Allow from 127.0.0.1'];
// Require local is mod_authz_host's; a server without it (a minimal sandbox) still has
// mod_authz_core's expr provider, which says the same with -R (REMOTE_ADDR in a subnet).
const LOCAL_24 = [
  '<IfModule authz_host_module>',
  '    Require local',
  '</IfModule>',
  '<IfModule !authz_host_module>',
  `    Require expr "-R '127.0.0.0/8' || -R '::1'"`,
  '</IfModule>',
];
// 1.3's Port is also the port of self-made URLs; its Listen takes no "localhost".
const LISTEN_13 = {
  shipped: /^([ \t]*)(Port|Listen)[ \t]+\S+[ \t]*$/gm,
  lines: (p: number) => [`Port ${p}`, `Listen 127.0.0.1:${p}`, 'ServerName localhost'],
};
const LISTEN_2 = {
  shipped: /^([ \t]*)Listen[ \t]+\S+.*$/gm,
  lines: (p: number) => [`Listen localhost:${p}`, `ServerName localhost:${p}`],
};

const LEVELS = ['emerg', 'alert', 'crit', 'error', 'warn', 'notice', 'info', 'debug'] as const;
const LOG_GLOBAL = { perModule: false, levels: LEVELS };
const LOG_24 = {
  perModule: true,
  levels: [...LEVELS, ...[1, 2, 3, 4, 5, 6, 7, 8].map((n) => `trace${n}`)],
};

/**
 * 2.0 and 2.2 speak alike: ordered Allow/Deny, NameVirtualHost, one global LogLevel, no message
 * ids.
 */
const dialect2xBefore24 = (series: '2.0' | '2.2'): Dialect => ({
  series,
  nameVirtualHost: true,
  allowAll: ORDER_ALLOW,
  localOnly: LOCAL_ORDER,
  orderAllowBuiltIn: true,
  listen: LISTEN_2,
  logLevel: LOG_GLOBAL,
  messageIds: false,
  mostSpecificAddressWins: false,
});

const DIALECTS: Record<Series, Dialect> = {
  '1.3': {
    series: '1.3',
    nameVirtualHost: true,
    allowAll: ORDER_ALLOW,
    localOnly: LOCAL_13,
    orderAllowBuiltIn: true,
    listen: LISTEN_13,
    logLevel: LOG_GLOBAL,
    messageIds: false,
    mostSpecificAddressWins: false,
  },
  '2.0': dialect2xBefore24('2.0'),
  '2.2': dialect2xBefore24('2.2'),
  '2.4': {
    series: '2.4',
    nameVirtualHost: false,
    allowAll: ['Require all granted'],
    localOnly: LOCAL_24,
    orderAllowBuiltIn: false,
    listen: LISTEN_2,
    logLevel: LOG_24,
    messageIds: true,
    mostSpecificAddressWins: true,
  },
};

export function dialectOf(series: Series): Dialect {
  return DIALECTS[series];
}

/**
 * httpd's message id as the series prints it: "AH00112: " on 2.4, nothing before (2.2 has no ids).
 */
export function messageId(series: Series, id: string): string {
  return dialectOf(series).messageIds ? `${id}: ` : '';
}
