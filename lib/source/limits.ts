/**
 * What a mirror may cost us: a size cap (a body that would pass it is
 * TOO_LARGE and nothing past it reaches the disk), a stall timeout (no byte,
 * headers included, for that long) and an overall deadline (retries
 * included), so that an endless, stalled or dripping body ends with an error
 * naming the URL and the limit, not a full disk or a silent wait.
 */
import { ApxsError } from '../core/errors.js';

export interface DownloadLimits {
  /** Bytes one file may have. */
  maxSize: number;
  /** No byte for this long: the request is given up (and retried, with the rest of the budget). */
  stallMs: number;
  /** The whole download, every retry included. */
  deadlineMs: number;
}

/**
 * An httpd release is 5-10 MB (with -deps ~12 MB); 64 MiB is far above any, and far below a full
 * disk.
 */
export const DEFAULT_LIMITS: DownloadLimits = {
  maxSize: 64 << 20,
  stallMs: 30_000,
  deadlineMs: 15 * 60_000,
};

/** Listings, checksums, signatures and KEYS are text of kilobytes; a hostile one stops here. */
export const TEXT_MAX = 8 << 20;

export const limitsOf = (l: Partial<DownloadLimits> | undefined): DownloadLimits => ({
  ...DEFAULT_LIMITS,
  ...(l ?? {}),
});

const MiB = 1 << 20;
export const formatBytes = (n: number): string =>
  n >= MiB && n % MiB === 0
    ? `${n / MiB} MiB`
    : n >= 1024 && n % 1024 === 0
      ? `${n / 1024} KiB`
      : `${n} bytes`;
const secs = (ms: number) => `${+(ms / 1000).toFixed(3)} s`;

/** Parses --max-size: bytes, or with a K, M or G suffix (binary: 64M = 64 MiB). */
export function parseSize(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmg]?)(?:i?b)?\s*$/i.exec(text);
  const n = m
    ? Math.floor(Number(m[1]) * 1024 ** ' kmg'.indexOf((m[2] || ' ').toLowerCase()))
    : NaN;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new ApxsError(
      'USAGE',
      `bad --max-size ${JSON.stringify(text)}: expected a size such as 64M, 500K or 100000000`,
    );
  }
  return n;
}

export function tooLarge(url: string, maxSize: number, what: string, part?: string): ApxsError {
  return new ApxsError(
    'TOO_LARGE',
    `${url} is larger than the ${formatBytes(maxSize)} limit (${what})`,
    {
      hint:
        'an httpd release is about 10 MB: the mirror is broken or hostile (try ' +
        'another, --mirror); if the file really is this large, raise --max-size',
      data: { url, maxSize, ...(part ? { part } : {}) },
    },
  );
}

export function stalled(url: string, stallMs: number, attempts: number, bytes: number): ApxsError {
  return new ApxsError(
    'STALLED',
    `${url} sent no byte for ${secs(stallMs)} (${attempts} ` +
      `attempt${attempts === 1 ? '' : 's'}, ${bytes} bytes on the disk)`,
    {
      hint:
        'the mirror stalls: try again later, another ' +
        'mirror (--mirror), or a longer --stall-timeout',
      data: { url, stallMs, attempts, bytes },
    },
  );
}

export function pastDeadline(
  url: string,
  deadlineMs: number,
  attempts: number,
  bytes: number,
): ApxsError {
  return new ApxsError(
    'STALLED',
    `${url} did not finish within the ${secs(deadlineMs)} deadline (${attempts} ` +
      `attempt${attempts === 1 ? '' : 's'}, ${bytes} bytes on the disk)`,
    {
      hint:
        'the mirror is too slow or drips: try another ' +
        'mirror (--mirror), or a longer --deadline',
      data: { url, deadlineMs, attempts, bytes },
    },
  );
}

/**
 * One request's watchdog: aborts `signal` when no byte came for stallMs
 * (kick() on every byte) or when the overall deadline passes; `why` says
 * which.
 */
export class Watchdog {
  readonly controller = new AbortController();
  why: 'stall' | 'deadline' | undefined;
  private stallTimer: NodeJS.Timeout | undefined;
  private readonly deadlineTimer: NodeJS.Timeout;

  constructor(
    private readonly stallMs: number,
    deadlineAt: number,
  ) {
    this.deadlineTimer = setTimeout(
      () => this.fire('deadline'),
      Math.max(0, deadlineAt - Date.now()),
    );
    this.kick();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  kick(): void {
    clearTimeout(this.stallTimer);
    this.stallTimer = setTimeout(() => this.fire('stall'), this.stallMs);
  }

  private fire(why: 'stall' | 'deadline'): void {
    if (this.why) return;
    this.why = why;
    this.controller.abort(
      new Error(why === 'stall' ? `no byte for ${this.stallMs} ms` : 'deadline passed'),
    );
  }

  stop(): void {
    clearTimeout(this.stallTimer);
    clearTimeout(this.deadlineTimer);
  }
}
