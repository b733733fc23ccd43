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
// @ts-nocheck

import path from 'node:path';
import { exists, readJson, statOrUndefined } from '../core/fs.js';
import { ApxsError } from '../core/errors.js';
import { LAYOUTS, type Layout, type ServerKind } from './layout.js';

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
  created: string;
}

export async function detectServerRoot(dir: string): Promise<ServerRoot> {
  const root = path.resolve(dir);
  const st = statOrUndefined(root);
  if (!st?.isDirectory()) {
    throw new ApxsError('NO_SERVER_ROOT', `server root ${root} does not exist`, {
      hint: 'create one with `apxs-ts sandbox create DIR`, or pass --server-root',
    });
  }
  const stateDir = path.join(root, '.apxs-ts');
  const marker = await readJson<SandboxMarker>(path.join(root, SANDBOX_MARKER), 'UNKNOWN_SERVER_ROOT');
  if (marker?.kind === 'sandbox') {
    return {
      kind: 'sandbox', layout: LAYOUTS.sandbox, root, httpd: marker.httpd, apxs: marker.apxs ?? undefined,
      configFile: path.join(root, 'conf', 'httpd.conf'), modulesDir: path.join(root, 'modules'),
      envvars: undefined, stateDir,
    };
  }
  if ((await exists(path.join(root, 'bin', 'httpd'))) && (await exists(path.join(root, 'conf', 'httpd.conf')))) {
    const apxs = path.join(root, 'bin', 'apxs');
    const envvars = path.join(root, 'bin', 'envvars');
    return {
      kind: 'prefix', layout: LAYOUTS.prefix, root, httpd: path.join(root, 'bin', 'httpd'),
      apxs: (await exists(apxs)) ? apxs : undefined,
      // 1.3's make install puts modules in libexec/, 2.x's in modules/.
      configFile: path.join(root, 'conf', 'httpd.conf'),
      modulesDir: !(await exists(path.join(root, 'modules'))) && (await exists(path.join(root, 'libexec'))) ? path.join(root, 'libexec') : path.join(root, 'modules'),
      envvars: (await exists(envvars)) ? envvars : undefined, stateDir,
    };
  }
  if ((await exists(path.join(root, 'apache2.conf'))) && (await exists(path.join(root, 'mods-available')))) {
    // Only the real /etc/apache2 installs into the system module dir; any other
    // Debian-layout root (a copy, a test) keeps its modules beside it.
    const system = root === '/etc/apache2';
    return {
      kind: 'debian', layout: LAYOUTS.debian, root, httpd: '/usr/sbin/apache2',
      apxs: (await exists('/usr/bin/apxs')) ? '/usr/bin/apxs' : undefined,
      configFile: path.join(root, 'apache2.conf'),
      modulesDir: system ? '/usr/lib/apache2/modules' : path.join(root, 'modules'),
      envvars: (await exists(path.join(root, 'envvars'))) ? path.join(root, 'envvars') : undefined,
      stateDir: system ? '/var/lib/apxs-ts' : stateDir,
    };
  }
  throw new ApxsError('UNKNOWN_SERVER_ROOT', `${root} is not a server root apxs-ts knows`, {
    hint: `expected ${SANDBOX_MARKER} (a sandbox), bin/httpd + conf/httpd.conf (an httpd prefix) or apache2.conf + mods-available/ (Debian)`,
  });
}

/** Finds apxs-ts.json in `cwd` or a parent; returns the server root it names, resolved against its own dir. */
export async function findProjectServerRoot(cwd: string): Promise<string | undefined> {
  let dir = path.resolve(cwd);
  for (;;) {
    const file = path.join(dir, PROJECT_FILE);
    const cfg = await readJson<{ serverRoot?: string }>(file, 'UNKNOWN_SERVER_ROOT');
    if (cfg?.serverRoot) return path.resolve(dir, cfg.serverRoot);
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/** --server-root, then $APXS_TS_SERVER_ROOT, then apxs-ts.json found upward from cwd. */
export async function resolveServerRootPath(opt: string | undefined, cwd: string, env = process.env): Promise<string | undefined> {
  if (opt) return path.resolve(cwd, opt);
  if (env.APXS_TS_SERVER_ROOT) return path.resolve(cwd, env.APXS_TS_SERVER_ROOT);
  return findProjectServerRoot(cwd);
}

export async function requireServerRoot(opt: string | undefined, cwd: string): Promise<ServerRoot> {
  const p = await resolveServerRootPath(opt, cwd);
  if (!p) {
    throw new ApxsError('NO_SERVER_ROOT', 'no server root given', {
      hint: `pass --server-root DIR, set APXS_TS_SERVER_ROOT, or run \`apxs-ts sandbox create DIR\` (it writes ${PROJECT_FILE})`,
    });
  }
  return detectServerRoot(p);
}
