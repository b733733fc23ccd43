/**
 * Whether an httpd runs: for commands that only need to know (source uninstall, vhost remove), not
 * to control it.
 */
import { detectServerRoot, type ServerRoot } from '../httpd/server-root.js';
import { serverFiles, stopFiles } from './server-files.js';
import { serverState } from './server-state.js';

/**
 * The httpd running from a prefix `source build` installed, found as `ctl stop`
 * finds it (no config parse): its parent's pid, else its first orphaned
 * worker's; undefined when none runs or the prefix is no longer a server root.
 */
export async function runningHttpdPid(prefix: string): Promise<number | undefined> {
  const sr = await detectServerRoot(prefix).catch(() => undefined);
  if (!sr) return undefined; // bin/httpd or conf/httpd.conf gone: ctl could not find it either
  const { running, parents, orphans } = await serverState(sr, (await stopFiles(sr)).pidFile);
  return running?.pid ?? parents[0] ?? orphans[0];
}

/**
 * Whether this server root's httpd runs (a running server still serves a removed vhost until a
 * graceful). Only a look: a stale pid file is left in place (it answers restart_required, under
 * --check too).
 */
export async function isServerRunning(sr: ServerRoot): Promise<boolean> {
  return !!(
    await serverState(sr, (await serverFiles(sr)).pidFile, { readOnly: true }).catch(
      () => undefined,
    )
  )?.running;
}
