import type { Command } from 'commander';
import { queryBuildVars } from '../lib/dev/build-vars.js';
import { detectServerRoot, resolveServerRootPath } from '../lib/httpd/server-root.js';
import { withServerRoot } from './options.js';
import type { Outcome } from './types.js';

export async function query(vars: string[], o: { serverRoot?: string }): Promise<Outcome> {
  // Like build: with no server root, the system's apxs answers.
  const p = await resolveServerRootPath(o.serverRoot, process.cwd());
  const sr = p ? await detectServerRoot(p) : undefined;
  const r = await queryBuildVars(sr, vars);
  const width = Math.max(0, ...Object.keys(r.vars).map((n) => n.length));
  return {
    data: { ...r },
    stdout: vars.length ? vars.map((n) => r.vars[n] ?? '') : Object.entries(r.vars).map(([n, v]) => `${n.padEnd(width)} = ${v}`),
  };
}
