import type { Command } from 'commander';
import { createSandbox, writeProjectFile } from '../lib/httpd/sandbox.js';
import { parsePort } from '../lib/core/ports.js';
import type { Runner } from './types.js';

export function register(program: Command, run: Runner): void {
  const sandbox = program.command('sandbox').description('private httpd server roots run by the system httpd binary');
  sandbox
    .command('create')
    .argument('<dir>', 'directory for the new server root')
    .option('--port <n>', 'port to Listen on (127.0.0.1)', '8080')
    .option('--force', 'write a fresh config into an existing directory')
    .option('--no-project', `do not record the server root in ./apxs-ts.json`)
    .description('create a sandbox ServerRoot: no root needed, nothing in /etc touched')
    .addHelpText('after', '\nExample:\n  apxs-ts sandbox create ./srv --port 8080')
    .action(run(async (dir: string, o: { port: string; force?: boolean; project: boolean }) => {
      const res = await createSandbox({ dir, port: parsePort(o.port), force: o.force });
      const projectFile = o.project ? await writeProjectFile(process.cwd(), res.root) : null;
      return {
        data: { ...res, projectFile },
        human: [
          `sandbox ${res.root} (httpd ${res.httpd}, ${res.url})`,
          ...(projectFile ? [`recorded in ${projectFile}: commands below this directory use it`] : []),
          ...res.warnings.map((w) => `warning: ${w}`),
          `next: apxs-ts ctl start --server-root ${res.root}`,
        ],
      };
    }));
}
