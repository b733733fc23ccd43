/** Finds the system's httpd binary, its apxs and its module directory. */
import path from 'node:path';
import { firstExisting, pathCandidates, statIfAny } from '../core/fs.js';
import { ApxsError } from '../core/errors.js';
import { runCapture } from '../core/run.js';

export interface SystemHttpd {
  httpd: string;
  apxs: string | undefined;
  modulesDir: string;
}

export async function findSystemHttpd(env: NodeJS.ProcessEnv = process.env): Promise<SystemHttpd> {
  const httpd = await firstExisting([
    ...(env.APXS_TS_HTTPD ? [env.APXS_TS_HTTPD] : []),
    '/usr/sbin/apache2',
    '/usr/sbin/httpd',
    ...pathCandidates(['apache2', 'httpd'], env),
  ]);
  if (!httpd) {
    throw new ApxsError('TOOL_MISSING', 'no httpd binary found on this system', {
      hint: 'install it: apt-get install -y apache2-bin apache2-dev (or set APXS_TS_HTTPD)',
    });
  }
  const apxs = await firstExisting([
    ...(env.APXS_TS_APXS ? [env.APXS_TS_APXS] : []),
    '/usr/bin/apxs',
    '/usr/bin/apxs2',
    ...pathCandidates(['apxs', 'apxs2'], env),
  ]);
  const modulesDir = await firstExisting([
    '/usr/lib/apache2/modules',
    '/usr/lib64/httpd/modules',
    '/usr/lib/httpd/modules',
    path.join(path.dirname(path.dirname(httpd)), 'modules'),
  ]);
  if (!modulesDir) {
    throw new ApxsError('TOOL_MISSING', `no module directory found for ${httpd}`, {
      hint: 'install apache2-bin',
    });
  }
  return { httpd, apxs, modulesDir };
}

export interface SystemRoot {
  root: string;
  /** How it was found, in words. */
  why: string;
}

/**
 * The system server's root, the fallback of a command given no server root
 * (apachectl and `apxs -i -a` act on it): httpd -V's HTTPD_ROOT (its
 * compiled-in ServerRoot), else apxs -q SYSCONFDIR as apxs finds it.
 * $APXS_TS_SYSTEM_ROOT names it instead (tests point it at a copy; empty or
 * `none`: there is no system server).
 */
export async function systemServerRoot(
  env: NodeJS.ProcessEnv = process.env,
): Promise<SystemRoot | undefined> {
  const forced = env.APXS_TS_SYSTEM_ROOT;
  if (forced !== undefined)
    return forced === '' || forced === 'none'
      ? undefined
      : { root: path.resolve(forced), why: '$APXS_TS_SYSTEM_ROOT' };
  const sys = await findSystemHttpd(env).catch(() => undefined);
  if (!sys) return undefined;
  const v = await runCapture(sys.httpd, ['-V'], { timeoutMs: 10_000 }).catch(() => undefined);
  const root = v && /-D HTTPD_ROOT="([^"]+)"/.exec(v.stdout)?.[1];
  if (root && (await statIfAny(root))?.isDirectory())
    return { root, why: `the system's httpd (${sys.httpd} -V: HTTPD_ROOT)` };
  if (!sys.apxs) return undefined;
  const q = await runCapture(sys.apxs, ['-q', 'SYSCONFDIR'], { timeoutMs: 10_000 }).catch(
    () => undefined,
  );
  const conf = q?.stdout.trim();
  if (!conf || !(await statIfAny(conf))?.isDirectory()) return undefined;
  // A source prefix's SYSCONFDIR is PREFIX/conf; Debian's is the root itself.
  return {
    root: path.basename(conf) === 'conf' ? path.dirname(conf) : conf,
    why: `the system's apxs (${sys.apxs} -q SYSCONFDIR)`,
  };
}
