/**
 * Where a server's pid file and error log are, and its health URL, even when
 * its config cannot be read now: a server whose config broke after it
 * started must still be stopped and its log still read.
 */
import { readServerInfo, type ServerInfo } from '../httpd/server-info.js';
import type { ServerRoot } from '../httpd/server-root.js';

/** httpd's defaults, for when the config cannot be read. */
export function fallbackInfo(sr: ServerRoot): ServerInfo {
  return { listens: [], pidFile: `${sr.root}/logs/httpd.pid`, errorLog: `${sr.root}/logs/error_log`, healthUrl: undefined, tree: { serverRoot: sr.root, directives: [], files: [], errors: [] } };
}

/** The config's answer, or httpd's defaults when the config cannot be read. */
export async function serverFiles(sr: ServerRoot): Promise<ServerInfo> {
  return readServerInfo(sr).catch(() => fallbackInfo(sr));
}
