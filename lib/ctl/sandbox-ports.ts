/**
 * A sandbox's port as it is now, not as it was made: its config may have
 * moved Listen since `sandbox create --port`, and the port given at create
 * may already be taken by something else (then `ctl start` fails later, so
 * create says so at once, naming the holder as start does).
 */
import { canBind, whoListens } from '../core/ports.js';
import { readServerInfo } from '../httpd/server-info.js';
import type { ServerRoot } from '../httpd/server-root.js';

/** The ports the sandbox's config Listens on, in order; empty when it cannot be read. */
export async function configPorts(sr: ServerRoot): Promise<number[]> {
  const info = await readServerInfo(sr).catch(() => undefined);
  return [...new Set((info?.listens ?? []).map((l) => l.port))];
}

/**
 * A warning when `port` on loopback is already taken: who holds it and what it means for `ctl
 * start`.
 */
export async function portTakenWarning(
  port: number,
  host = '127.0.0.1',
): Promise<string | undefined> {
  if (await canBind(port, host)) return undefined;
  const holders = whoListens(port);
  const who = holders.length
    ? ` by ${holders.map((h) => `pid ${h.pid} (${h.command || '?'})`).join(', ')}`
    : '';
  return (
    `port ${port} is already in use${who}: \`ctl start\` will fail until it is free; ` +
    'create the sandbox with another --port, or change Listen in its httpd.conf'
  );
}
