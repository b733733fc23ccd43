/** Reading a config for `vhost list` and `vhost check`, and httpd's own -S beside it. */
import path from 'node:path';
import { loadConfTree } from '../httpd/conf-tree.js';
import { hostsList, type HostsEntry } from './hosts-file.js';
import { httpdCommand } from '../httpd/invoke.js';
import { httpdSeries, type Series } from '../httpd/version.js';
import { runCapture } from '../core/run.js';
import type { ServerRoot } from '../httpd/server-root.js';
import { serverInfoFromTree } from '../httpd/server-info.js';
import { checkVhosts, listVhosts, type Finding } from './vhost-rules.js';

export interface InspectOptions {
  /** A server root, or a bare config file (with `configFile`). */
  sr?: ServerRoot;
  configFile?: string;
  series?: Series;
  hostsFile: string;
  /** Also run httpd -S (needs a server root). */
  httpdS?: boolean;
}

export interface InspectResult {
  configFile: string;
  series: Series;
  vhosts: ReturnType<typeof listVhosts>;
  findings: Finding[];
  httpdS: { exitCode: number; output: string } | null;
}

export async function inspectVhosts(opts: InspectOptions): Promise<InspectResult> {
  // httpd -S runs beside our own reading, not after it.
  const sPromise = opts.sr && opts.httpdS
    ? httpdCommand(opts.sr, ['-S']).then((c) => runCapture(c.file, c.args, { env: c.env }))
    : Promise.resolve(undefined);
  const configFile = opts.sr ? opts.sr.configFile : path.resolve(opts.configFile!);
  const env = opts.sr ? (await httpdCommand(opts.sr, [])).env : {};
  const seriesPromise = opts.series ?? (opts.sr ? httpdSeries(opts.sr.httpd, env).then((v) => v.series) : '2.4' as const);
  const hostsPromise: Promise<HostsEntry[]> = hostsList(opts.hostsFile).catch(() => []);
  const tree = await loadConfTree(configFile, { serverRoot: opts.sr?.root ?? path.dirname(configFile), env });
  const defaultPort = opts.sr ? serverInfoFromTree(tree).listens[0]?.port : undefined;
  const [series, hosts] = await Promise.all([seriesPromise, hostsPromise]);
  const { findings, vhosts } = await checkVhosts({ tree, series, hosts, hostsFile: opts.hostsFile, defaultPort });
  const s = await sPromise;
  return {
    configFile, series, vhosts: listVhosts(vhosts, defaultPort), findings,
    httpdS: s ? { exitCode: s.exitCode, output: s.all.trim() } : null,
  };
}
