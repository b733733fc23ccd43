import { queryBuildVars } from '../lib/dev/build-vars.js';
import { targetServerRootIfAny } from './server-root.js';
import type { Outcome } from './types.js';

export async function query(vars: string[], o: { serverRoot?: string }): Promise<Outcome> {
  // Like build: with no server root, the system's apxs answers.
  const sr = await targetServerRootIfAny(o);
  const r = await queryBuildVars(sr, vars);
  const width = Math.max(0, ...Object.keys(r.vars).map((n) => n.length));
  return {
    data: { ...r },
    stdout: vars.length
      ? vars.map((n) => r.vars[n] ?? '')
      : Object.entries(r.vars).map(([n, v]) => `${n.padEnd(width)} = ${v}`),
  };
}
