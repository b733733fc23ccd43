/** Finds the system's httpd binary, its apxs and its module directory. */
// @ts-nocheck

import path from 'node:path';
import { firstExisting, pathCandidates } from '../core/fs.js';
import { ApxsError } from '../core/errors.js';

export interface SystemHttpd {
  httpd: string;
  apxs: string | undefined;
  modulesDir: string;
}

export async function findSystemHttpd(env: NodeJS.ProcessEnv = process.env): Promise<SystemHttpd> {
  const httpd = await firstExisting([
    ...(env.APXS_TS_HTTPD ? [env.APXS_TS_HTTPD] : []),
    '/usr/sbin/apache2', '/usr/sbin/httpd', ...pathCandidates(['apache2', 'httpd'], env),
  ]);
  if (!httpd) {
    throw new ApxsError('TOOL_MISSING', 'no httpd binary found on this system', {
      hint: 'install it: apt-get install -y apache2-bin apache2-dev (or set APXS_TS_HTTPD)',
    });
  }
  const apxs = await firstExisting([...(env.APXS_TS_APXS ? [env.APXS_TS_APXS] : []), '/usr/bin/apxs', '/usr/bin/apxs2', ...pathCandidates(['apxs', 'apxs2'], env)]);
  const modulesDir = await firstExisting(['/usr/lib/apache2/modules', '/usr/lib64/httpd/modules', '/usr/lib/httpd/modules',
    path.join(path.dirname(path.dirname(httpd)), 'modules')]);
  if (!modulesDir) {
    throw new ApxsError('TOOL_MISSING', `no module directory found for ${httpd}`, { hint: 'install apache2-bin' });
  }
  return { httpd, apxs, modulesDir };
}
