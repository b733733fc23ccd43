/** What start, stop, restart and status take and return (shared by lifecycle.ts and start.ts). */
import type { Probe } from './health.js';
import type { StaleReport } from './pid-file.js';
import type { TlsProbe } from './tls-probe.js';

export interface CtlOptions {
  /** Health URL; default: the first Listen address. */
  url?: string;
  timeoutSec?: number;
}

export interface CtlResult {
  action: string;
  serverRoot: string;
  pid: number | undefined;
  healthUrl: string | undefined;
  health: Probe | undefined;
  elapsedMs: number;
  alreadyRunning?: boolean;
  stale?: StaleReport;
  /** Workers whose parent was gone, that stop ended. */
  orphans?: number[];
  /** The TLS vhosts' probes (lib/ctl/tls-probe.ts), when the root has any. */
  tls?: TlsProbe[];
  warnings: string[];
}

/** The --timeout in seconds (default 30). */
export const timeoutOf = (o: CtlOptions): number => o.timeoutSec ?? 30;
