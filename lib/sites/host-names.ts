/** Host names and addresses as a hosts file may hold them. */
import net from 'node:net';
import { domainToASCII } from 'node:url';
import { ApxsError } from '../core/errors.js';

const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/**
 * RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens; 253 characters at
 * most.
 */
export function validateHostname(name: string): string {
  const shown = JSON.stringify(name);
  const fail = (why: string) =>
    new ApxsError('BAD_HOSTNAME', `bad host name ${shown}: ${why}`, {
      hint: 'use letters, digits, hyphens and dots, e.g. one.dd',
    });
  if (name.length === 0) throw fail('it is empty');
  // eslint-disable-next-line no-control-regex
  if (/[\s\x00-\x1f\x7f]/.test(name)) throw fail('it contains whitespace or a control character');
  if (name.length > 253) throw fail('it is longer than 253 characters');
  // `trail.dd.` is the same DNS name as `trail.dd`: taken as another name it
  // would get a second hosts line and a ServerName no request matches.
  if (name.length > 1 && name.endsWith('.') && !name.endsWith('..')) {
    throw new ApxsError('BAD_HOSTNAME', `bad host name ${shown}: it ends with a dot`, {
      hint: `a trailing dot names the same host: drop it (${JSON.stringify(name.slice(0, -1))})`,
    });
  }
  const labels = name.split('.');
  for (const l of labels) {
    if (l.length === 0) throw fail('it has an empty label (two dots in a row, or a leading dot)');
    if (l.length > 63) throw fail(`the label "${l.slice(0, 20)}…" is longer than 63 characters`);
    if (l === '*') {
      throw new ApxsError('BAD_HOSTNAME', `bad host name ${shown}: a wildcard is no host name`, {
        hint:
          'name each host (a hosts file maps names, not patterns; its certificate ' +
          'lists each one), e.g. --alias www.one.test --alias api.one.test',
      });
    }
    // eslint-disable-next-line no-control-regex
    if (/[^\x00-\x7f]/.test(l)) {
      const ascii = domainToASCII(name);
      throw new ApxsError('BAD_HOSTNAME', `bad host name ${shown}: the label "${l}" is not ASCII`, {
        hint: ascii
          ? `use its ASCII (punycode) form, as DNS and certificates hold it: ${ascii}`
          : 'use letters, digits, hyphens and dots, e.g. one.dd',
      });
    }
    if (!LABEL.test(l))
      throw fail(`the label "${l}" may hold only letters, digits and inner hyphens`);
  }
  if (/^\d+$/.test(labels[labels.length - 1]!))
    throw fail('the last label is all digits (an address, not a name)');
  return name.toLowerCase();
}

export function validateIp(ip: string): string {
  if (net.isIP(ip) === 0) {
    throw new ApxsError(
      'USAGE',
      `bad address ${JSON.stringify(ip)}: expected an IPv4 or IPv6 address`,
    );
  }
  return ip;
}
