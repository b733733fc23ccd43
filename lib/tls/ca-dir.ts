/**
 * Where the local CA lives (lib/tls/ca.ts makes and reads it). A module of its own: `ctl start`
 * and `ctl status` need only the certificate's path to probe TLS vhosts, not the CA code and
 * node:crypto that lib/tls/ca.ts loads.
 */
import os from 'node:os';
import path from 'node:path';

/**
 * Where the CA lives: `override` (--ca-dir), $APXS_TS_CA_DIR, $XDG_DATA_HOME/apxs-ts/ca,
 * ~/.local/share/apxs-ts/ca.
 */
export function caDir(override?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (override) return path.resolve(override);
  if (env.APXS_TS_CA_DIR) return path.resolve(env.APXS_TS_CA_DIR);
  return path.join(
    env.XDG_DATA_HOME || path.join(env.HOME || os.homedir(), '.local', 'share'),
    'apxs-ts',
    'ca',
  );
}

export const certPath = (dir: string) => path.join(dir, 'ca.pem');
