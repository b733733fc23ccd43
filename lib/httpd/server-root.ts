/**
 * A server root is what every server command acts on. Three kinds, told
 * apart here once; what differs between them is in its `layout`
 * (lib/httpd/layout.ts):
 *  - sandbox: a private ServerRoot made by `apxs-ts sandbox create`, run by
 *    the system's httpd binary (marker file apxs-ts-sandbox.json);
 *  - prefix:  an httpd installed from source (bin/httpd, conf/httpd.conf);
 *  - debian:  Debian's layout (apache2.conf, mods-available/, run by
 *    /usr/sbin/apache2 with envvars).
 */
import { constants as fsc } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { exists, readJson, statIfAny } from '../core/fs.js';
import { ApxsError } from '../core/errors.js';
import { assertTrusted, userName } from '../core/trust.js';
import { LAYOUTS, type Layout, type ServerKind } from './layout.js';
import { systemServerRoot } from './system-httpd.js';
import { setChosenServerRoot, type ServerRootChoice } from './root-choice.js';

export type { ServerRootChoice, ServerRootFrom } from './root-choice.js';

export type { ServerKind };

export interface ServerRoot {
  kind: ServerKind;
  /** Where things go in this root and how they are enabled. */
  layout: Layout;
  root: string;
  /** The httpd binary. */
  httpd: string;
  /** apxs for this server, when there is one. */
  apxs: string | undefined;
  /** The main config file, absolute. */
  configFile: string;
  /** Where installed module .so files go. */
  modulesDir: string;
  /** A shell file of environment variables httpd needs (prefix bin/envvars, Debian envvars). */
  envvars: string | undefined;
  /** Where apxs-ts keeps its own state (backups, run info) for this root. */
  stateDir: string;
}

export const SANDBOX_MARKER = 'apxs-ts-sandbox.json';
export const PROJECT_FILE = 'apxs-ts.json';

export interface SandboxMarker {
  kind: 'sandbox';
  httpd: string;
  apxs: string | null;
  systemModulesDir: string;
  port: number;
  /** The port TLS vhosts listen on (sandbox create --tls-port). */
  tlsPort?: number;
  created: string;
}

export async function detectServerRoot(
  dir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<ServerRoot> {
  const root = path.resolve(dir);
  const st = await statIfAny(root);
  if (!st?.isDirectory()) {
    throw new ApxsError('NO_SERVER_ROOT', `server root ${root} does not exist`, {
      hint: 'create one with `apxs-ts sandbox create DIR`, or pass --server-root',
    });
  }
  const stateDir = path.join(root, '.apxs-ts');
  // The root and everything apxs-ts reads, sources or runs from it must be
  // the user's or root's: its config decides what httpd loads and runs.
  assertTrusted(root, 'server root', env);
  assertTrusted(path.join(root, SANDBOX_MARKER), 'sandbox record', env);
  const marker = await readJson<SandboxMarker>(
    path.join(root, SANDBOX_MARKER),
    'UNKNOWN_SERVER_ROOT',
  );
  if (marker?.kind === 'sandbox') {
    return trusted(
      {
        kind: 'sandbox',
        layout: LAYOUTS.sandbox,
        root,
        httpd: marker.httpd,
        apxs: marker.apxs ?? undefined,
        configFile: path.join(root, 'conf', 'httpd.conf'),
        modulesDir: path.join(root, 'modules'),
        envvars: undefined,
        stateDir,
      },
      env,
    );
  }
  if (
    (await exists(path.join(root, 'bin', 'httpd'))) &&
    (await exists(path.join(root, 'conf', 'httpd.conf')))
  ) {
    const apxs = path.join(root, 'bin', 'apxs');
    const envvars = path.join(root, 'bin', 'envvars');
    return trusted(
      {
        kind: 'prefix',
        layout: LAYOUTS.prefix,
        root,
        httpd: path.join(root, 'bin', 'httpd'),
        apxs: (await exists(apxs)) ? apxs : undefined,
        // 1.3's make install puts modules in libexec/, 2.x's in modules/.
        configFile: path.join(root, 'conf', 'httpd.conf'),
        modulesDir:
          !(await exists(path.join(root, 'modules'))) && (await exists(path.join(root, 'libexec')))
            ? path.join(root, 'libexec')
            : path.join(root, 'modules'),
        envvars: (await exists(envvars)) ? envvars : undefined,
        stateDir,
      },
      env,
    );
  }
  if (
    (await exists(path.join(root, 'apache2.conf'))) &&
    (await exists(path.join(root, 'mods-available')))
  ) {
    // Only the real /etc/apache2 installs into the system module dir; any other
    // Debian-layout root (a copy, a test) keeps its modules beside it.
    const system = root === '/etc/apache2';
    return trusted(
      {
        kind: 'debian',
        layout: LAYOUTS.debian,
        root,
        httpd: '/usr/sbin/apache2',
        apxs: (await exists('/usr/bin/apxs')) ? '/usr/bin/apxs' : undefined,
        configFile: path.join(root, 'apache2.conf'),
        modulesDir: system ? '/usr/lib/apache2/modules' : path.join(root, 'modules'),
        envvars: (await exists(path.join(root, 'envvars')))
          ? path.join(root, 'envvars')
          : undefined,
        stateDir: system ? '/var/lib/apxs-ts' : stateDir,
      },
      env,
    );
  }
  throw new ApxsError('UNKNOWN_SERVER_ROOT', `${root} is not a server root apxs-ts knows`, {
    hint:
      `expected ${SANDBOX_MARKER} (a sandbox), bin/httpd + conf/httpd.conf ` +
      '(an httpd prefix) or apache2.conf + mods-available/ (Debian)',
  });
}

/**
 * The files of a root that apxs-ts runs (httpd, apxs), sources (envvars),
 * hands httpd (the main config) or acts on as its own records (the state
 * dir: the ledger says what `--purge` may delete, ctl-run.json which pid
 * file to read): each must pass the same trust rule as the root.
 */
function trusted(sr: ServerRoot, env: NodeJS.ProcessEnv): ServerRoot {
  const named = sr.kind === 'sandbox' ? ` (named in ${path.join(sr.root, SANDBOX_MARKER)})` : '';
  const checks: [string | undefined, string][] = [
    [sr.httpd, `the httpd program${named}`],
    [sr.apxs, `the apxs program${named}`],
    [sr.configFile, 'the main config'],
    [sr.envvars, 'the envvars file (sourced by sh)'],
    [sr.stateDir, "apxs-ts's state directory"],
    [path.join(sr.stateDir, 'created.json'), "apxs-ts's ledger"],
    [path.join(sr.stateDir, 'ctl-run.json'), "apxs-ts's record of the last start"],
  ];
  for (const [p, what] of checks) if (p) assertTrusted(p, what, env);
  return sr;
}

/**
 * Finds apxs-ts.json in `cwd` or a parent; returns it and the server root it names, resolved
 * against its own dir.
 */
export async function findProjectFile(
  cwd: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ file: string; serverRoot: string } | undefined> {
  let dir = path.resolve(cwd);
  for (;;) {
    const file = path.join(dir, PROJECT_FILE);
    // A found file another user could have written names the server apxs-ts acts on: refused, not
    // skipped.
    assertTrusted(file, PROJECT_FILE, env);
    const cfg = await readJson<{ serverRoot?: string }>(file, 'UNKNOWN_SERVER_ROOT');
    if (cfg?.serverRoot) return { file, serverRoot: path.resolve(dir, cfg.serverRoot) };
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * --server-root, then $APXS_TS_SERVER_ROOT, then apxs-ts.json found upward from cwd; and where it
 * came from.
 */
export async function chooseServerRoot(
  opt: string | undefined,
  cwd: string,
  env = process.env,
): Promise<ServerRootChoice | undefined> {
  if (opt) return { path: path.resolve(cwd, opt), from: 'option', why: '--server-root' };
  if (env.APXS_TS_SERVER_ROOT)
    return {
      path: path.resolve(cwd, env.APXS_TS_SERVER_ROOT),
      from: 'env',
      why: '$APXS_TS_SERVER_ROOT',
    };
  const found = await findProjectFile(cwd, env);
  return found && { path: found.serverRoot, from: 'project', why: found.file };
}

/** --server-root, then $APXS_TS_SERVER_ROOT, then apxs-ts.json found upward from cwd. */
export async function resolveServerRootPath(
  opt: string | undefined,
  cwd: string,
  env = process.env,
): Promise<string | undefined> {
  return (await chooseServerRoot(opt, cwd, env))?.path;
}

/**
 * The system's server root as the fallback of a command given none, as
 * apachectl and `apxs -i -a` act on the system's server: trusted only when
 * root owns it (the general rule would also take the user's own), and a
 * command that changes it needs to be able to write it.
 */
async function systemFallback(
  env: NodeJS.ProcessEnv,
  writes: boolean,
): Promise<ServerRoot | undefined> {
  const sys = await systemServerRoot(env);
  if (!sys) return undefined;
  const sr = await detectServerRoot(sys.root, env);
  for (const p of [sr.root, sr.configFile]) {
    const st = await statIfAny(p);
    if (st && st.uid !== 0) {
      throw new ApxsError(
        'UNSAFE_CONFIG',
        `refusing the system's server root ${sr.root}: ` +
          `${p} is owned by ${userName(st.uid)}, not root`,
        {
          hint:
            'a system server root is trusted only when root owns ' +
            'it; pass --server-root DIR to use it anyway',
          data: { path: p },
        },
      );
    }
  }
  if (writes) {
    try {
      await access(sr.configFile, fsc.W_OK);
      await access(path.dirname(sr.configFile), fsc.W_OK);
    } catch {
      throw new ApxsError(
        'PERMISSION_DENIED',
        `no server root given, and you cannot write the system's server root ${sr.root}`,
        {
          hint:
            "run the same command with sudo to change the system's server, or make a server " +
            `of your own: apxs-ts sandbox create DIR (it writes ${PROJECT_FILE})`,
          data: { serverRoot: sr.root, serverRootFrom: 'system' },
        },
      );
    }
  }
  setChosenServerRoot({ path: sr.root, root: sr.root, from: 'system', why: sys.why });
  return sr;
}

/**
 * The server root a command acts on: --server-root, $APXS_TS_SERVER_ROOT,
 * apxs-ts.json upward, else the system's (see systemFallback). `writes`:
 * the command changes the server (install, vhost add, start, ...).
 */
export async function requireServerRoot(
  opt: string | undefined,
  cwd: string,
  opts: { writes?: boolean; env?: NodeJS.ProcessEnv } = {},
): Promise<ServerRoot> {
  const env = opts.env ?? process.env;
  const c = await chooseServerRoot(opt, cwd, env);
  if (!c) {
    const sr = await systemFallback(env, !!opts.writes);
    if (sr) return sr;
    throw new ApxsError('NO_SERVER_ROOT', 'no server root given, and no system server found', {
      hint:
        `pass --server-root DIR, set APXS_TS_SERVER_ROOT, or run \`apxs-ts ` +
        `sandbox create DIR\` (it writes ${PROJECT_FILE})`,
    });
  }
  const sr = await detectServerRoot(c.path, env);
  setChosenServerRoot({ ...c, root: sr.root });
  return sr;
}
