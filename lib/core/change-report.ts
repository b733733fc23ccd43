/**
 * The contract every command that can change a file, a process or the
 * hosts file keeps (issue #23), so configuration management (Ansible,
 * Puppet, a shell loop) can drive apxs-ts without guessing:
 *
 * - `changed`: whether anything was (or, under --check, would be) changed;
 *   false on a second identical run, which touches no file;
 * - `msg`: one line saying what happened;
 * - `warnings`: what the user should know, never a reason to fail;
 * - `restart_required`: present where a change takes effect only once a
 *   running httpd reloads its config;
 * - `diff`: under --diff, one entry per file changed, in Ansible's shape.
 *
 * `--check` decides and reports the same `changed` and `diff` a real run
 * then makes, and changes nothing.
 */
import type * as Jsdiff from 'diff';

/** One file's change, in the shape Ansible's diff mode prints (`before_header` … `after`). */
export interface FileDiff {
  before_header: string;
  after_header: string;
  before: string;
  after: string;
}

export interface ChangeReport {
  changed: boolean;
  msg: string;
  warnings: string[];
  /** True when a running server must reload for the change to take effect. */
  restart_required?: boolean;
  /** Only when --diff was asked for. */
  diff?: FileDiff[];
  /** True under --check: nothing was changed, this is what a real run would do. */
  check?: boolean;
}

/** The options every mutating command takes. */
export interface ChangeOptions {
  /** Decide and report, change nothing. */
  check?: boolean;
  /** Report each changed file's unified diff. */
  diff?: boolean;
}

/** Above this, a file's content is summarised rather than diffed (a `.so`, a tarball). */
const MAX_TEXT = 256 * 1024;

/**
 * PEM blocks stand as one line naming their type: a private key must never
 * reach a diff (Ansible logs diffs), and a certificate's base64 says nothing
 * to a reader while it differs on every issuance, so --check could never
 * show the bytes the real run then writes.
 */
const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----\n?/g;
const pemSummary = (_block: string, type: string) =>
  /PRIVATE KEY/.test(type) ? `(PEM ${type}: never shown)\n` : `(PEM ${type})\n`;

/** A file's content as diff text: '' for absent, a one-line summary for binary or huge content. */
export function diffText(content: Buffer | string | undefined): string {
  if (content === undefined) return '';
  if (typeof content !== 'string' && (content.length > MAX_TEXT || content.includes(0)))
    return `(binary content, ${content.length} bytes)\n`;
  const text = typeof content === 'string' ? content : content.toString('utf8');
  return text.includes('-----BEGIN ') ? text.replace(PEM_BLOCK, pemSummary) : text;
}

/**
 * The diff entry for `file` going from `before` to `after` (undefined: the
 * file is absent on that side: created or removed).
 */
export function fileDiff(
  file: string,
  before: Buffer | string | undefined,
  after: Buffer | string | undefined,
): FileDiff {
  return {
    before_header: before === undefined ? '/dev/null' : file,
    after_header: after === undefined ? '/dev/null' : file,
    before: diffText(before),
    after: diffText(after),
  };
}

/**
 * `text` with every control character but tab and newline as `\xNN`: a file
 * a diff shows may hold any bytes (a comment with an escape sequence, a
 * carriage return that hides a line), and printed raw to a terminal they can
 * retitle it, recolour or erase lines. JSON needs nothing: it escapes them.
 */
const printable = (text: string) =>
  text.replace(
    /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g,
    (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );

/**
 * The unified diff of one entry, as `diff -u` prints it (for the human output: control characters
 * escaped).
 */
export function unifiedDiff(d: FileDiff): string {
  return printable(unifiedPatch(d));
}

function unifiedPatch(d: FileDiff): string {
  // Required here, where it is used: only a run with --diff prints a diff, and loading jsdiff at
  // the top would cost every run of the bodies that import this module (`ctl status`, `vhost
  // list`, `completion`, ...).
  const { createTwoFilesPatch, FILE_HEADERS_ONLY } = require('diff') as typeof Jsdiff;
  return createTwoFilesPatch(
    d.before_header,
    d.after_header,
    d.before,
    d.after,
    undefined,
    undefined,
    {
      context: 3,
      headerOptions: FILE_HEADERS_ONLY,
    },
  );
}
