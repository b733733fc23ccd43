/**
 * The sandboxes a user made, with their servers: `sandbox list` (running or
 * not, port, path) and `sandbox remove` (stopped first, then deleted as far
 * as apxs-ts made it). Here rather than in lib/httpd/sandbox.ts because it
 * needs the server's state and stop, which live in ctl.
 */
import { ApxsError } from '../core/errors.js';
import { listeningAddresses } from '../core/ports.js';
import path from 'node:path';
import { knownSandboxes } from '../httpd/sandbox.js';
import { readSandboxMarker } from '../httpd/sandbox-manifest.js';
import { removeSandboxFiles, type SandboxFilesRemoved } from '../httpd/sandbox-removal.js';
import { detectServerRoot } from '../httpd/server-root.js';
import { stop } from './lifecycle.js';
import { configPorts } from './sandbox-ports.js';
import { stopFiles } from './server-files.js';
import { serverState } from './server-state.js';

export interface SandboxStatus {
  root: string;
  port: number;
  httpd: string;
  created: string;
  running: boolean;
  pid: number | null;
  /**
   * What the running server listens on (its config may have moved it off the port it was made
   * with).
   */
  listening: string[];
  /** The port `sandbox create --port` gave it (`port` is what its config Listens on now). */
  createdPort: number;
  /** Every port its config Listens on. */
  configPorts: number[];
}

export async function listSandboxes(
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ sandboxes: SandboxStatus[]; dropped: string[] }> {
  const { sandboxes, dropped } = await knownSandboxes(env);
  const out = await Promise.all(
    sandboxes.map(async (e): Promise<SandboxStatus> => {
      const sr = await detectServerRoot(e.root);
      // The pid file ctl start remembered, else httpd's default; the process scan decides (as stop
      // does, no config parse).
      const { running } = await serverState(sr, (await stopFiles(sr)).pidFile);
      const ports = await configPorts(sr);
      return {
        root: e.root,
        port: ports[0] ?? e.port,
        createdPort: e.port,
        configPorts: ports,
        httpd: e.httpd,
        created: e.created,
        running: !!running,
        pid: running?.pid ?? null,
        listening: running ? listeningAddresses(running.pid) : [],
      };
    }),
  );
  return { sandboxes: out, dropped };
}

export interface SandboxRemoved extends SandboxFilesRemoved {
  /** The pid of the server that was stopped first, if one ran. */
  stopped: number | null;
  warnings: string[];
}

/**
 * Stops the sandbox's server if it runs (through ctl stop: its lock, its
 * checks), then deletes what apxs-ts made and keeps the rest
 * (lib/httpd/sandbox-removal.ts). A sandbox whose marker an interrupted
 * remove already deleted has no server to stop: the remove is finished.
 */
export async function removeSandbox(
  dir: string,
  env: NodeJS.ProcessEnv = process.env,
  opts: { check?: boolean } = {},
): Promise<SandboxRemoved> {
  const root = path.resolve(dir);
  let stopped: number | null = null;
  const warnings: string[] = [];
  if (opts.check && (await readSandboxMarker(root))) {
    // Signals nothing: the pid it would stop, from a read-only look.
    const sr = await detectServerRoot(root);
    const st = await serverState(sr, (await stopFiles(sr)).pidFile, { readOnly: true });
    stopped = st.running?.pid ?? null;
  } else if (await readSandboxMarker(root)) {
    try {
      const r = await stop(await detectServerRoot(root));
      stopped = r.pid ?? null;
      warnings.push(...r.warnings);
    } catch (err) {
      if (!(err instanceof ApxsError && err.code === 'NOT_RUNNING')) throw err;
    }
  }
  return { ...(await removeSandboxFiles(root, env, opts)), stopped, warnings };
}
