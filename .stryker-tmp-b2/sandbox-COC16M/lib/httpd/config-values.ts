/**
 * Every value apxs-ts writes into an httpd config goes through here first: a
 * CR, LF or NUL in a DocumentRoot or a URL would end the directive and start
 * another one of the user's choosing (seen: `--docroot $'/x>\n ErrorDocument …'`
 * made httpd serve an injected page).
 */
// @ts-nocheck

import path from 'node:path';
import { ApxsError } from '../core/errors.js';

function refuse(what: string, value: string, why: string, hint: string): never {
  throw new ApxsError('BAD_INPUT', `bad ${what} ${JSON.stringify(value)}: ${why}`, { hint });
}

function noControl(what: string, value: string, hint: string): void {
  if (/[\r\n\0]/.test(value)) refuse(what, value, 'it contains a line break or NUL', hint);
  // eslint-disable-next-line no-control-regex
  if (/[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(value)) refuse(what, value, 'it contains a control character', hint);
}

/** An absolute directory path, written quoted (quotes and backslashes escaped by the writer). */
export function configPath(what: string, value: string, cwd = process.cwd()): string {
  noControl(what, value, 'give a plain directory path');
  return path.resolve(cwd, value);
}

/** A URL path for <Location>: starts with /, no spaces, quotes or section brackets. */
export function configUrlPath(what: string, value: string): string {
  noControl(what, value, 'give a URL path such as /info');
  if (!value.startsWith('/')) refuse(what, value, 'it must start with /', 'give a URL path such as /info');
  if (/[\s"'<>\\]/.test(value)) refuse(what, value, 'it contains a space, quote, < > or backslash', 'give a URL path such as /info');
  return value;
}

/** A handler or filter name as httpd compares it: a token. */
export function configToken(what: string, value: string): string {
  noControl(what, value, 'give a name such as my-handler');
  if (!/^[A-Za-z0-9_.+-]{1,100}$/.test(value)) refuse(what, value, 'only letters, digits and _ . + - are allowed', 'give a name such as my-handler');
  return value;
}
