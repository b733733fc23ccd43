/**
 * Whether a suffix is a public suffix (com, co.uk, github.io): a local CA
 * permitting one could sign for every site under it, which is what its name
 * constraints exist to prevent. The Public Suffix List as the distribution
 * ships it (Debian's publicsuffix package, which browsers and curl's libpsl
 * use too) when it is installed; otherwise the TLDs that carry most sites,
 * so `--permit .com` is refused everywhere.
 */
import { readFileSync } from 'node:fs';

export const PSL_FILE = '/usr/share/publicsuffix/public_suffix_list.dat';

/** When the list is absent: the generic TLDs most sites are under. Not complete (the list is). */
const FALLBACK = [
  'com',
  'net',
  'org',
  'edu',
  'gov',
  'mil',
  'int',
  'info',
  'biz',
  'io',
  'dev',
  'app',
  'co',
  'me',
  'ai',
  'xyz',
  'online',
  'site',
  'cloud',
  'page',
];

let rules: Set<string> | undefined;

function load(file: string): Set<string> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return new Set(FALLBACK);
  }
  return new Set(
    text
      .split('\n')
      .map((l) => l.trim().split(/\s/)[0]!)
      .filter((l) => l && !l.startsWith('//')),
  );
}

/**
 * Whether `suffix` (leading dot or not, any case) is on the Public Suffix List, by a plain or a
 * wildcard rule.
 */
export function isPublicSuffix(suffix: string, file = PSL_FILE): boolean {
  if (file === PSL_FILE && !rules) rules = load(file);
  const set = file === PSL_FILE && rules ? rules : load(file);
  const s = suffix.replace(/^\./, '').replace(/\.$/, '').toLowerCase();
  if (set.has(s) || FALLBACK.includes(s)) return true;
  if (set.has(`!${s}`)) return false;
  const dot = s.indexOf('.');
  return dot > 0 && set.has(`*.${s.slice(dot + 1)}`);
}
