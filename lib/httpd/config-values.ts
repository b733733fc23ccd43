/**
 * Every value apxs-ts writes into an httpd config goes through here first: a
 * CR, LF or NUL in a DocumentRoot or a URL would end the directive and start
 * another one of the user's choosing (seen: `--docroot $'/x>\n ErrorDocument …'`
 * made httpd serve an injected page). And httpd expands `${VAR}` in every
 * line it reads, from its environment: `--docroot '/tmp/a${HOME}'` made
 * apxs-ts create the literal directory while httpd served /tmp/a/root, so
 * `${` is refused in every value too.
 */
import net from 'node:net';
import path from 'node:path';
import { ApxsError } from '../core/errors.js';

function refuse(what: string, value: string, why: string, hint: string): never {
  throw new ApxsError('BAD_INPUT', `bad ${what} ${JSON.stringify(value)}: ${why}`, { hint });
}

function noControl(what: string, value: string, hint: string): void {
  if (/[\r\n\0]/.test(value)) refuse(what, value, 'it contains a line break or NUL', hint);
  // eslint-disable-next-line no-control-regex
  if (/[\x01-\x08\x0b\x0c\x0e-\x1f\x7f]/.test(value))
    refuse(what, value, 'it contains a control character', hint);
  if (value.includes('${'))
    refuse(what, value, 'httpd would expand ${…} in it to an environment variable', hint);
}

/** An absolute directory path, written quoted (quotes and backslashes escaped by the writer). */
export function configPath(what: string, value: string, cwd = process.cwd()): string {
  noControl(what, value, 'give a plain directory path');
  return path.resolve(cwd, value);
}

/** A URL path for <Location>: starts with /, no spaces, quotes or section brackets. */
export function configUrlPath(what: string, value: string): string {
  noControl(what, value, 'give a URL path such as /info');
  if (!value.startsWith('/'))
    refuse(what, value, 'it must start with /', 'give a URL path such as /info');
  if (/[\s"'<>\\]/.test(value))
    refuse(
      what,
      value,
      'it contains a space, quote, < > or backslash',
      'give a URL path such as /info',
    );
  return value;
}

/** A handler or filter name as httpd compares it: a token. */
export function configToken(what: string, value: string): string {
  noControl(what, value, 'give a name such as my-handler');
  if (!/^[A-Za-z0-9_.+-]{1,100}$/.test(value))
    refuse(
      what,
      value,
      'only letters, digits and _ . + - are allowed',
      'give a name such as my-handler',
    );
  return value;
}

/**
 * A <VirtualHost> address: `*` or an IPv4/IPv6 address (an empty one is no address, not the
 * default).
 */
export function configAddress(what: string, value: string): string {
  if (value !== '*' && net.isIP(value) === 0)
    refuse(
      what,
      value,
      'expected * or an IPv4 or IPv6 address',
      'give * or an address such as 127.0.0.1 or ::1',
    );
  return value;
}
