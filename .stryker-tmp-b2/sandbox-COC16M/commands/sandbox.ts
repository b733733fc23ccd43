// @ts-nocheck
import type { Command } from 'commander';
import { listSandboxes, removeSandbox } from '../lib/ctl/sandboxes.js';
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
    .option('--use', 'switch ./apxs-ts.json to this sandbox when it names another server root')
    .description('create a sandbox ServerRoot: no root needed, nothing in /etc touched')
    .addHelpText('after', '\nExamples:\n  apxs-ts sandbox create ./srv --port 8080\n  apxs-ts sandbox create ./srv2 --port 8081 --use   (later commands here use srv2)')
    .action(run(async (dir: string, o: { port: string; force?: boolean; project: boolean; use?: boolean }) => {
      const res = await createSandbox({ dir, port: parsePort(o.port), force: o.force });
      const project = o.project ? await writeProjectFile(process.cwd(), res.root, { use: o.use }) : null;
      const kept = project && !project.written ? project : null;
      return {
        data: { ...res, projectFile: project?.written ? project.file : null, projectKept: kept ? { file: kept.file, serverRoot: kept.previous } : null },
        human: [
          `sandbox ${res.root} (httpd ${res.httpd}, ${res.url})`,
          ...(project?.written
            ? [project.previous && project.previous !== res.root
              ? `${project.file} switched from ${project.previous} to this sandbox`
              : `recorded in ${project.file}: commands below this directory use it`]
            : []),
          ...(kept ? [`${kept.file} still names ${kept.previous}: kept it (commands below this directory use that one); --use switches it to this sandbox`] : []),
          ...res.warnings.map((w) => `warning: ${w}`),
          `next: apxs-ts ctl start --server-root ${res.root}`,
        ],
      };
    }));

  sandbox
    .command('list')
    .description('the sandboxes you created: running or not, port, path')
    .addHelpText('after', '\nExample:\n  apxs-ts sandbox list --json')
    .action(run(async () => {
      const { sandboxes, dropped } = await listSandboxes();
      return {
        data: { sandboxes, dropped },
        stdout: sandboxes.map((s) => `${s.running ? `running (pid ${s.pid})` : 'stopped'}\t${s.port}\t${s.root}`),
        human: [
          ...(sandboxes.length ? [] : ['no sandboxes (apxs-ts sandbox create DIR makes one)']),
          ...dropped.map((d) => `dropped from the list: ${d} (no longer a sandbox)`),
        ],
      };
    }));

  sandbox
    .command('remove')
    .argument('<dir>', 'a sandbox made by sandbox create')
    .description('stop a sandbox\'s server if it runs, then delete the sandbox (only what apxs-ts made)')
    .addHelpText('after', '\nExample:\n  apxs-ts sandbox remove ./srv')
    .action(run(async (dir: string) => {
      const r = await removeSandbox(dir);
      return {
        data: { ...r },
        human: [
          ...(r.stopped !== null ? [`stopped httpd (pid ${r.stopped})`] : []),
          ...r.warnings.map((w) => `warning: ${w}`),
          `removed ${r.removed.join(', ')}`,
          ...(r.kept.length ? [`kept (not made by apxs-ts): ${r.kept.join(', ')}`] : []),
        ],
      };
    }));
}
