/**
 * `apxs-ts query`: a server's build variables, answered as `apxs -q` answers
 * them. Asked of the same source the toolchain takes its flags from (the
 * root's apxs, else its build/config_vars.mk, else the system's apxs), and
 * by apxs itself where there is one: its expansion of values (perl
 * interpolation of `${exec_prefix}` and the like) is not worth copying.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ApxsError } from '../core/errors.js';
import { exists } from '../core/fs.js';
import { runCapture } from '../core/run.js';
import { serverProfile } from '../httpd/profile.js';
import type { ServerRoot } from '../httpd/server-root.js';
import { apxsCommand } from '../core/command-hint.js';
import { parseConfigVars } from '../module/toolchain.js';

export interface BuildVars {
  /** The apxs or config_vars.mk answering. */
  source: string;
  vars: Record<string, string>;
}

const SYSTEM_APXS = '/usr/bin/apxs';

/**
 * Names apxs answers beyond its config_vars.mk (apxs's %internal_vars), asked case-insensitively of
 * the file first.
 */
const INTERNAL = [
  'TARGET',
  'CC',
  'CFLAGS',
  'CFLAGS_SHLIB',
  'LD_SHLIB',
  'LDFLAGS_SHLIB',
  'LIBS_SHLIB',
  'PREFIX',
  'SBINDIR',
  'INCLUDEDIR',
  'LIBEXECDIR',
  'SYSCONFDIR',
];

/** Where the variables come from, in the toolchain's order. */
export async function buildVarsSource(sr: ServerRoot | undefined): Promise<string | undefined> {
  if (sr?.apxs && (await exists(sr.apxs))) return sr.apxs;
  const root = sr ? sr.layout.buildRoot(sr) : undefined;
  if (root && (await exists(path.join(root, 'build', 'config_vars.mk'))))
    return path.join(root, 'build', 'config_vars.mk');
  if (!sr?.apxs && (await exists(SYSTEM_APXS))) return SYSTEM_APXS;
  return undefined;
}

function unknown(source: string, name: string): ApxsError {
  return new ApxsError('BAD_INPUT', `${source} knows no variable ${name}`, {
    data: { unknownVariable: name },
  });
}

/** The unknown-name error with the command that lists every name, for the same server root. */
function withListHint(err: unknown, sr: ServerRoot | undefined): never {
  if (err instanceof ApxsError && err.code === 'BAD_INPUT' && err.data?.unknownVariable) {
    throw new ApxsError('BAD_INPUT', err.message, {
      hint:
        `run \`${apxsCommand('query --json', { serverRoot: sr?.root })}\` ` +
        'for every name it knows',
      data: err.data,
    });
  }
  throw err;
}

/** Each name on its own: 1.3's apxs takes one name per query and runs several values together. */
async function askEach(
  apxs: string,
  names: readonly string[],
  strict: boolean,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const answers = await Promise.all(names.map((n) => runCapture(apxs, ['-q', n])));
  answers.forEach((res, i) => {
    const n = names[i]!;
    if (res.exitCode === 0) out[n] = res.stdout.replace(/\n$/, '');
    else if (strict)
      throw /Invalid query string/.test(res.all)
        ? unknown(apxs, n)
        : new ApxsError('TOOL_MISSING', `${apxs} -q ${n} failed (exit ${res.exitCode})`, {
            details: res.all.split('\n').slice(-5),
          });
  });
  return out;
}

async function askApxs(
  apxs: string,
  names: readonly string[],
  oneAtATime: boolean,
): Promise<Record<string, string>> {
  if (oneAtATime || names.length === 1) return askEach(apxs, names, true);
  const res = await runCapture(apxs, ['-q', ...names]);
  // Some name was refused: asked one by one, the error names it.
  if (res.exitCode !== 0) return askEach(apxs, names, true);
  const values = res.stdout.replace(/\n$/, '').split(';;');
  if (values.length !== names.length) return askEach(apxs, names, true); // a value held ";;"
  return Object.fromEntries(names.map((n, i) => [n, values[i]!]));
}

/**
 * Every name apxs knows: `apxs -q` alone lists its config_vars.mk (2.x); an apxs that cannot list
 * (1.3) is asked the names it may know.
 */
async function allNames(
  apxs: string,
  fallback: readonly string[],
): Promise<{ names: string[]; listed: boolean }> {
  const res = await runCapture(apxs, ['-q']);
  const listed =
    res.exitCode === 0
      ? res.stdout
          .split('\n')
          .map((l) => /^([A-Za-z_][A-Za-z0-9_]*)=/.exec(l)?.[1])
          .filter((n): n is string => !!n)
      : [];
  const names = [
    ...new Set([...listed, ...(listed.length ? INTERNAL : [...fallback, ...INTERNAL])]),
  ];
  return {
    names: names.sort(
      (a, b) => a.toUpperCase().localeCompare(b.toUpperCase()) || a.localeCompare(b),
    ),
    listed: listed.length > 0,
  };
}

function fromMk(
  mk: Record<string, string>,
  source: string,
  names: readonly string[] | undefined,
): Record<string, string> {
  const lookup = (n: string) => mk[n] ?? mk[n.toLowerCase()];
  if (!names)
    return Object.fromEntries(
      Object.keys(mk)
        .sort()
        .map((n) => [n, mk[n]!]),
    );
  return Object.fromEntries(
    names.map((n) => {
      const v = lookup(n);
      if (v === undefined) throw unknown(source, n);
      return [n, v];
    }),
  );
}

/** The values of `names`, or of every variable when `names` is empty. */
export function queryBuildVars(
  sr: ServerRoot | undefined,
  names: readonly string[],
): Promise<BuildVars> {
  return queryBuildVarsOf(sr, names).catch((e: unknown) => withListHint(e, sr));
}

async function queryBuildVarsOf(
  sr: ServerRoot | undefined,
  names: readonly string[],
): Promise<BuildVars> {
  const source = await buildVarsSource(sr);
  if (!source) {
    throw new ApxsError('TOOL_MISSING', 'no apxs and no build/config_vars.mk to ask', {
      hint:
        'install apache2-dev (apt-get install -y apache2-dev), ' +
        'or pass --server-root of an httpd built with apxs',
    });
  }
  if (source.endsWith('.mk'))
    return {
      source,
      vars: fromMk(
        parseConfigVars(await fs.readFile(source, 'utf8')),
        source,
        names.length ? names : undefined,
      ),
    };
  const traits = sr ? (await serverProfile(sr)).traits : undefined;
  const oneAtATime = traits?.apxsOneQueryAtATime ?? false;
  if (names.length) return { source, vars: await askApxs(source, names, oneAtATime) };
  const all = await allNames(source, traits?.apxsVars ?? []);
  // A name apxs listed but cannot expand stays out rather than failing the whole list.
  const vars =
    all.listed && !oneAtATime
      ? await askApxs(source, all.names, false).catch(() => askEach(source, all.names, false))
      : await askEach(source, all.names, false);
  return { source, vars };
}
