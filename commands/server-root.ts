/**
 * The server root a command acts on, from its --server-root (else
 * $APXS_TS_SERVER_ROOT, apxs-ts.json upward from the current directory, or
 * the system's: lib/httpd/server-root.ts has the rules). The one place
 * commands resolve it.
 */
import {
  detectServerRoot,
  requireServerRoot,
  resolveServerRootPath,
  type ServerRoot,
} from '../lib/httpd/server-root.js';

interface WithServerRoot {
  serverRoot?: string;
}

/**
 * The server root, or NO_SERVER_ROOT; `writes`: the command changes its files
 * (lib/httpd/server-root.ts).
 */
export function targetServerRoot(
  o: WithServerRoot,
  opts: { writes?: boolean } = {},
): Promise<ServerRoot> {
  return requireServerRoot(o.serverRoot, process.cwd(), opts);
}

/**
 * The server root's directory when there is one (commands that also work without: doctor, vhost
 * check --config).
 */
export function targetServerRootPath(o: WithServerRoot): Promise<string | undefined> {
  return resolveServerRootPath(o.serverRoot, process.cwd());
}

/** The server root when there is one (build and query then ask the system's apxs). */
export async function targetServerRootIfAny(o: WithServerRoot): Promise<ServerRoot | undefined> {
  const dir = await targetServerRootPath(o);
  return dir ? detectServerRoot(dir) : undefined;
}
