/**
 * A command line named in a hint or a fix, with the options that located
 * what it acts on. A hint that drops `--hosts-file H` and is run as root (as
 * hosts commands are) edits the real /etc/hosts; one that drops
 * `--server-root` acts on whatever server root the cwd finds. So every hint
 * naming an apxs-ts command is built here, from the locations in use.
 */

/** Where the resources of a command were found (absolute paths, as resolved). */
export interface Locators {
  serverRoot?: string;
  hostsFile?: string;
  /** `vhost check --config FILE` */
  config?: string;
  /** `--httpd-version` when the user gave it (the series is then not asked of httpd). */
  httpdVersion?: string;
}

/** The hosts file a command uses when given none (and $APXS_TS_HOSTS_FILE is unset). */
export const DEFAULT_HOSTS_FILE = '/etc/hosts';

/** A word as a POSIX shell reads it back: quoted only when it must be. */
export function shellWord(w: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}

const FLAG: Record<keyof Locators, string> = {
  serverRoot: '--server-root',
  hostsFile: '--hosts-file',
  config: '--config',
  httpdVersion: '--httpd-version',
};

/**
 * `apxs-ts WORDS --server-root R --hosts-file H ...` with each locator given
 * (a hosts file only when it is not /etc/hosts: naming the default changes
 * nothing, and an $APXS_TS_HOSTS_FILE not set where the hint is run would).
 * `words` is already shell text (the caller quotes what it interpolates).
 */
export function apxsCommand(words: string, loc: Locators = {}): string {
  const parts = [`apxs-ts ${words}`];
  for (const k of Object.keys(FLAG) as (keyof Locators)[]) {
    const v = loc[k];
    if (v === undefined || v === '' || (k === 'hostsFile' && v === DEFAULT_HOSTS_FILE)) continue;
    parts.push(`${FLAG[k]} ${shellWord(v)}`);
  }
  return parts.join(' ');
}
