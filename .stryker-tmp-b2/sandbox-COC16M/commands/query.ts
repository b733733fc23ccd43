// @ts-nocheck
import type { Command } from 'commander';
import { queryBuildVars } from '../lib/dev/build-vars.js';
import { detectServerRoot, resolveServerRootPath } from '../lib/httpd/server-root.js';
import { withServerRoot } from './options.js';
import type { Outcome, Runner } from './types.js';

export function register(program: Command, run: Runner): void {
  withServerRoot(program.command('query'))
    .argument('[vars...]', 'variable names (INCLUDEDIR, CC, CFLAGS, LIBEXECDIR, ...); none: all of them')
    .description('the target\'s build variables, as `apxs -q` gives them (all of them with --json)')
    .addHelpText('after', `
Prints one value per line for the names given; with none, every variable as NAME = value.
--json prints {"ok":true,"source","vars":{NAME:value,...}}.

Examples:
  apxs-ts query INCLUDEDIR
  apxs-ts query CC CFLAGS --server-root ./srv
  apxs-ts query --json`)
    .action(run(async (vars: string[], o: { serverRoot?: string }): Promise<Outcome> => {
      // Like build: with no server root, the system's apxs answers.
      const p = await resolveServerRootPath(o.serverRoot, process.cwd());
      const sr = p ? await detectServerRoot(p) : undefined;
      const r = await queryBuildVars(sr, vars);
      const width = Math.max(0, ...Object.keys(r.vars).map((n) => n.length));
      return {
        data: { ...r },
        stdout: vars.length ? vars.map((n) => r.vars[n] ?? '') : Object.entries(r.vars).map(([n, v]) => `${n.padEnd(width)} = ${v}`),
      };
    }));
}
