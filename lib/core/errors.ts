/**
 * The one error class of apxs-ts. Every failure the user should understand is
 * thrown as an ApxsError with a stable code, a one-line message and a hint;
 * commands/index.ts turns it into the exit code and the printed line.
 */
export type ErrorCode =
  | 'USAGE'
  | 'BAD_INPUT'
  | 'BAD_MODULE_NAME'
  | 'BAD_HOSTNAME'
  | 'DIR_EXISTS'
  | 'NOT_FOUND'
  | 'NO_SERVER_ROOT'
  | 'UNKNOWN_SERVER_ROOT'
  | 'TEMPLATE'
  | 'MAKEFILE_SPACES'
  | 'COMPILE_FAILED'
  | 'NO_MODULE_SYMBOL'
  | 'CONFIG_BROKEN'
  | 'CHILD_FAILED'
  | 'PORT_IN_USE'
  | 'START_FAILED'
  | 'STOP_FAILED'
  | 'NOT_RUNNING'
  | 'UNHEALTHY'
  | 'PERMISSION_DENIED'
  | 'TOOL_MISSING'
  | 'CHECKSUM_MISMATCH'
  | 'BAD_SIGNATURE'
  | 'DOWNLOAD_FAILED'
  | 'UNSAFE_ARCHIVE'
  | 'LOCKED'
  | 'INTERNAL';

/** Exit code 3 is the LSB "program is not running" status, as for init scripts. */
const EXIT_CODES: Partial<Record<ErrorCode, number>> = {
  USAGE: 2,
  BAD_INPUT: 2,
  NOT_RUNNING: 3,
};

export class ApxsError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  /** Extra lines shown under the message (compiler output, error_log tail). */
  readonly details: string[];
  /** Structured data kept for --json. */
  readonly data: Record<string, unknown> | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    opts: { hint?: string; cause?: unknown; details?: string[]; data?: Record<string, unknown> } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'ApxsError';
    this.code = code;
    this.hint = opts.hint;
    this.details = opts.details ?? [];
    this.data = opts.data;
  }

  get exitCode(): number {
    return EXIT_CODES[this.code] ?? 1;
  }
}

export function isErrno(err: unknown, code?: string): err is NodeJS.ErrnoException {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' &&
    (code === undefined || (err as NodeJS.ErrnoException).code === code);
}

/** Turns EACCES/EPERM on a user-owned path into an error that says how to run it. */
export function permissionError(path: string, err: unknown): ApxsError | undefined {
  if (isErrno(err, 'EACCES') || isErrno(err, 'EPERM')) {
    return new ApxsError('PERMISSION_DENIED', `permission denied writing ${path}`, {
      hint: 'run the same command with sudo, or pass a path you own',
      cause: err,
    });
  }
  return undefined;
}
