/**
 * The sandboxes a user made, with their servers: `sandbox list` (running or
 * not, port, path) and `sandbox remove` (stopped first, then deleted as far
 * as apxs-ts made it). Here rather than in lib/httpd/sandbox.ts because it
 * needs the server's state and stop, which live in ctl.
 */
// @ts-nocheck

import { ApxsError } from '../core/errors.js';
import { listeningAddresses } from '../core/ports.js';
import { knownSandboxes, removeSandboxFiles, requireSandbox, type SandboxFilesRemoved } from '../httpd/sandbox.js';
import { detectServerRoot } from '../httpd/server-root.js';
import { stop } from './lifecycle.js';
import { stopFiles } from './server-files.js';
import { serverState } from './server-state.js';

export interface SandboxStatus {
  root: string;
  port: number;
  httpd: string;
  created: string;
  running: boolean;
  pid: number | null;
  /** What the running server listens on (its config may have moved it off the port it was made with). */
  listening: string[];
}

export async function listSandboxes(env: NodeJS.ProcessEnv = process.env): Promise<{ sandboxes: SandboxStatus[]; dropped: string[] }> {
  const { sandboxes, dropped } = await knownSandboxes(env);
  const out = await Promise.all(sandboxes.map(async (e): Promise<SandboxStatus> => {
    const sr = await detectServerRoot(e.root);
    // The pid file ctl start remembered, else httpd's default; the process scan decides (as stop does, no config parse).
    const { running } = await serverState(sr, (await stopFiles(sr)).pidFile, { scan: false });
    return {
      root: e.root, port: e.port, httpd: e.httpd, created: e.created, running: !!running, pid: running?.pid ?? null,
      listening: running ? await listeningAddresses(running.pid) : [],
    };
  }));
  return { sandboxes: out, dropped };
}

export interface SandboxRemoved extends SandboxFilesRemoved {
  /** The pid of the server that was stopped first, if one ran. */
  stopped: number | null;
  warnings: string[];
}

/** Stops the sandbox's server if it runs (through ctl stop: its lock, its checks), then deletes what apxs-ts made. */
export async function removeSandbox(dir: string, env: NodeJS.ProcessEnv = process.env): Promise<SandboxRemoved> {
  const root = await requireSandbox(dir);
  const sr = await detectServerRoot(root);
  let stopped: number | null = null;
  const warnings: string[] = [];
  try {
    const r = await stop(sr);
    stopped = r.pid ?? null;
    warnings.push(...r.warnings);
  } catch (err) {
    if (!(err instanceof ApxsError && err.code === 'NOT_RUNNING')) throw err;
  }
  return { ...(await removeSandboxFiles(root, env)), stopped, warnings };
}
