/**
 * Options configure ignores: `--enable-module=so` is 1.3's; 2.x's configure
 * takes it and goes on. httpd's configure turns autoconf's own check off
 * (`enable_option_checking=no`, since options may be meant for the bundled
 * apr), so it often says nothing at all; a build that passes it succeeds
 * without what the user asked for. apxs-ts does autoconf's check itself,
 * against the list the configure script carries (`ac_user_opts`), and also
 * repeats the warning when configure does print it.
 */
import { promises as fs } from 'node:fs';

export function unrecognizedOptions(output: string): string[] {
  const opts = new Set<string>();
  for (const m of output.matchAll(/WARNING: unrecognized options?: (.+)$/gm)) {
    for (const o of m[1]!.split(/,\s*/)) if (o.trim()) opts.add(o.trim());
  }
  return [...opts];
}

/**
 * The --enable/--disable/--with/--without options of `args` that the
 * configure script does not know, as autoconf decides it (dashes, dots and
 * pluses of the name are underscores in ac_user_opts). Empty when the
 * script carries no list (a hand-written configure, as 1.3's).
 */
export function unknownConfigureOptions(script: string, args: readonly string[]): string[] {
  const list = /^ac_user_opts='([^']*)'/m.exec(script)?.[1];
  if (!list) return [];
  const known = new Set(
    list
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean),
  );
  return args.filter((a) => {
    const m = /^--(enable|disable|with|without)-([^=]+)/.exec(a);
    if (!m) return false;
    const kind = m[1] === 'enable' || m[1] === 'disable' ? 'enable' : 'with';
    return !known.has(`${kind}_${m[2]!.replace(/[-+.]/g, '_')}`);
  });
}

/** The warning for options configure ignored: checked against its script, and what its log says. */
export async function configureLogWarnings(
  logFile: string,
  configureScript?: string,
  args: readonly string[] = [],
): Promise<string[]> {
  const text = await fs.readFile(logFile, 'utf8').catch(() => '');
  const script = configureScript ? await fs.readFile(configureScript, 'utf8').catch(() => '') : '';
  const opts = [
    ...new Set([
      ...unknownConfigureOptions(script, args).map((a) => a.replace(/=.*$/, '')),
      ...unrecognizedOptions(text),
    ]),
  ];
  return opts.length
    ? [
        `configure did not recognize ${opts.join(', ')} ` +
          `and ignored ${opts.length === 1 ? 'it' : 'them'} ` +
          '(an option of another httpd series?): the build went on without ' +
          `${opts.length === 1 ? 'it' : 'them'}; see ./configure --help of this release`,
      ]
    : [];
}
