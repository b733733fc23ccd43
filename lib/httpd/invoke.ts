/**
 * How to run a server root's httpd: the binary, the -d/-f arguments that pin
 * it to this root, and the environment its envvars file sets (a prefix's
 * bin/envvars holds LD_LIBRARY_PATH; Debian's apache2.conf needs APACHE_*).
 */
import path from 'node:path';
import { runCapture } from '../core/run.js';
import type { ServerRoot } from './server-root.js';
import { sanitizerEnv } from './sanitizer-env.js';

export interface HttpdCommand {
  file: string;
  args: string[];
  env: Record<string, string>;
}

const envCache = new Map<string, Record<string, string>>();

/** Sources an envvars file in sh and returns the variables it set or changed. */
export async function envvarsOf(
  file: string,
  extra: Record<string, string> = {},
): Promise<Record<string, string>> {
  const key = `${file}\0${JSON.stringify(extra)}`;
  const hit = envCache.get(key);
  if (hit) return hit;
  const res = await runCapture('sh', ['-c', 'set -a; . "$1" >/dev/null 2>&1; env -0', 'sh', file], {
    env: extra,
  });
  const out: Record<string, string> = {};
  for (const entry of res.stdout.split('\0')) {
    const eq = entry.indexOf('=');
    if (eq <= 0) continue;
    const k = entry.slice(0, eq);
    const v = entry.slice(eq + 1);
    if (process.env[k] !== v) out[k] = v;
  }
  envCache.set(key, { ...out, ...extra });
  return envCache.get(key)!;
}

export async function httpdCommand(sr: ServerRoot, args: string[]): Promise<HttpdCommand> {
  const base = sr.layout.envBase(sr);
  const env = sr.envvars ? await envvarsOf(sr.envvars, base) : (base ?? {});
  await sr.layout.prepareRun(env);
  // Modules built with `build --sanitize` load only after their runtime: preloaded for every run of
  // httpd.
  const san = await sanitizerEnv(sr.modulesDir, path.join(sr.stateDir, 'crashes'), env);
  return {
    file: sr.httpd,
    args: ['-d', sr.root, '-f', path.relative(sr.root, sr.configFile) || sr.configFile, ...args],
    env: { ...env, ...san },
  };
}
