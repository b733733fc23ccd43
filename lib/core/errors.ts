/**
 * The one error class of apxs-ts. Every failure the user should understand is
 * thrown as an ApxsError with a stable code, a one-line message and a hint;
 * commands/index.ts turns it into the exit code and the printed line.
 */
export type ErrorCode =
  | 'USAGE'
  | 'BAD_INPUT'
  | 'MODULE_EXISTS'
  | 'HOST_MAPPED'
  | 'SITE_EXISTS'
  | 'CONF_EXISTS'
  | 'BAD_MODULE_NAME'
  | 'BAD_HOSTNAME'
  | 'DIR_EXISTS'
  | 'NOT_FOUND'
  | 'NO_SERVER_ROOT'
  | 'UNKNOWN_SERVER_ROOT'
  | 'TEMPLATE'
  | 'MAKEFILE_SPACES'
  | 'MAKEFILE_INCLUDES'
  | 'COMPILE_FAILED'
  | 'NO_MODULE_SYMBOL'
  | 'UNDEFINED_SYMBOL'
  | 'LIBRARY_NOT_FOUND'
  | 'API_MISMATCH'
  | 'CONFIG_BROKEN'
  | 'CONFIG_TOO_LARGE'
  | 'ORPHANED_WORKERS'
  | 'CHILD_FAILED'
  | 'PORT_IN_USE'
  | 'START_FAILED'
  | 'STOP_FAILED'
  | 'NOT_RUNNING'
  | 'UNSUPPORTED'
  | 'UNHEALTHY'
  | 'PERMISSION_DENIED'
  | 'TOOL_MISSING'
  | 'CHECKSUM_MISMATCH'
  | 'BAD_SIGNATURE'
  | 'NO_CHECKSUM'
  | 'NO_SIGNATURE'
  | 'DOWNLOAD_FAILED'
  | 'UNSAFE_ARCHIVE'
  | 'LOCKED'
  | 'BLOCK_BROKEN'
  | 'READ_ONLY'
  | 'NO_SPACE'
  | 'INTERRUPTED'
  | 'IN_USE'
  | 'UNSAFE_CONFIG'
  | 'CONFIG_BROKEN_BEFORE'
  | 'TOO_LARGE'
  | 'STALLED'
  | 'BAD_PATH'
  | 'BAD_CASE_FILE'
  | 'TESTS_FAILED'
  | 'TLS_UNSUPPORTED'
  | 'NAME_NOT_PERMITTED'
  | 'SANDBOX_DIFFERS'
  | 'INTERNAL';

/** Exit code 3 is the LSB "program is not running" status, as for init scripts. */
const EXIT_CODES: Partial<Record<ErrorCode, number>> = {
  USAGE: 2,
  BAD_INPUT: 2,
  BAD_MODULE_NAME: 2,
  BAD_HOSTNAME: 2,
  MODULE_EXISTS: 2,
  HOST_MAPPED: 2,
  // A site file of that name someone else wrote: apxs-ts will not replace it.
  SITE_EXISTS: 2,
  // A conf-available file of apxs-ts's snippet name that apxs-ts did not write (Debian): not taken
  // over.
  CONF_EXISTS: 2,
  // A module written for one httpd module API, aimed at a server of the other: no build can fix
  // that.
  API_MISMATCH: 2,
  NOT_RUNNING: 3,
  // A case file of `apxs-ts test` that is not valid: asked wrongly, nothing was run (TESTS_FAILED,
  // a case that failed, is 1).
  BAD_CASE_FILE: 2,
  // No server root given and none found (nor a system server), or one named that is not there:
  // asked wrongly.
  NO_SERVER_ROOT: 2,
  // A config found on disk that someone else could have planted: refused like bad input.
  UNSAFE_CONFIG: 2,
  // A path the user named on the command line does not exist (commands/paths.ts): bad input, not a
  // failure. NOT_FOUND (exit 1) stays for what vanishes while apxs-ts runs, or what it looked for
  // itself.
  BAD_PATH: 2,
  // A verb this httpd has not got (graceful-stop before 2.2): asked wrongly, like a usage error.
  UNSUPPORTED: 2,
  // Work ended by Ctrl-C (or SIGTERM, SIGHUP): 130 = 128 + SIGINT, as a shell reports a command
  // Ctrl-C ended.
  INTERRUPTED: 130,
  // TLS on a server that cannot serve it (1.3, a root without a loadable mod_ssl): asked of the
  // wrong server.
  TLS_UNSUPPORTED: 2,
  // A vhost name outside the local CA's signed name constraints: a new CA is the fix, not a retry.
  NAME_NOT_PERMITTED: 2,
  // sandbox create on a sandbox made with other settings (another port): asked wrongly, nothing
  // written.
  SANDBOX_DIFFERS: 2,
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
    opts: {
      hint?: string;
      cause?: unknown;
      details?: string[];
      data?: Record<string, unknown>;
    } = {},
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
  return (
    err instanceof Error &&
    typeof (err as NodeJS.ErrnoException).code === 'string' &&
    (code === undefined || (err as NodeJS.ErrnoException).code === code)
  );
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

/**
 * Turns the errno of a failed read or write of a user's file into an error
 * naming the path and what to do (EACCES/EPERM as permissionError does);
 * undefined for errnos it does not know, which the caller rethrows as they are.
 */
export function fileError(path: string, err: unknown): ApxsError | undefined {
  const denied = permissionError(path, err);
  if (denied || !isErrno(err)) return denied;
  const known: Record<string, [ErrorCode, string, string]> = {
    EROFS: [
      'READ_ONLY',
      `${path} is on a read-only file system`,
      'remount it read-write, or pass a path on a writable file system',
    ],
    ENOSPC: [
      'NO_SPACE',
      `no space left on the device holding ${path}`,
      'free some space on that file system and run it again',
    ],
    EDQUOT: [
      'NO_SPACE',
      `disk quota exceeded writing ${path}`,
      'free some space or raise the quota, and run it again',
    ],
    EISDIR: ['BAD_INPUT', `${path} is a directory, not a file`, 'pass the path of the file itself'],
    ENOENT: ['NOT_FOUND', `${path} does not exist`, 'check the path; its directory must exist'],
    ENOTDIR: [
      'NOT_FOUND',
      `${path} does not exist: a part of that path is a file, not a directory`,
      'check the path',
    ],
  };
  const k = known[err.code ?? ''];
  return k && new ApxsError(k[0], k[1], { hint: k[2], cause: err, data: { path } });
}
