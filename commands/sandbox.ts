import type { Command } from 'commander';
import { ApxsError } from '../lib/core/errors.js';
import { listSandboxes, removeSandbox } from '../lib/ctl/sandboxes.js';
import { createSandbox, writeProjectFile } from '../lib/httpd/sandbox.js';
import { portArg } from './options.js';
import { portTakenWarning } from '../lib/ctl/sandbox-ports.js';
import type { Runner } from './types.js';
import { apxsCommand } from '../lib/core/command-hint.js';

export function register(program: Command, run: Runner): void {
  const sandbox = program.command('sandbox').description('private httpd server roots run by the system httpd binary');
  sandbox
    .command('create')
    .argument('<dir>', 'directory for the new server root')
    .option('--port <n>', 'port to Listen on (127.0.0.1)', portArg, 8080)
    .option('--tls-port <n>', 'the port `vhost add --tls` listens on for HTTPS (127.0.0.1)', portArg)
    .option('--force', 'write a fresh config into an existing directory')
    .option('--no-project', `do not record the server root in ./apxs-ts.json`)
    .option('--use', 'switch ./apxs-ts.json to this sandbox when it names another server root')
    .description('create a sandbox ServerRoot: no root needed, nothing in /etc touched')
    .addHelpText('after', '\nExamples:\n  apxs-ts sandbox create ./srv --port 8080\n  apxs-ts sandbox create ./srv2 --port 8081 --use   (later commands here use srv2)')
    .action(run(async (dir: string, o: { port: number; tlsPort?: number; force?: boolean; project: boolean; use?: boolean }) => {
      if (o.tlsPort === o.port) throw new ApxsError('USAGE', `--tls-port ${o.tlsPort} is --port too`, { hint: 'give HTTPS a port of its own' });
      const res = await createSandbox({ dir, port: o.port, tlsPort: o.tlsPort, force: o.force });
      const taken = await portTakenWarning(res.port);
      if (taken) res.warnings.push(taken);
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
          `next: ${apxsCommand('ctl start', { serverRoot: res.root })}`,
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
    .description('stop a sandbox\'s server if it runs, then delete what apxs-ts made in it; your files (and files you edited) are kept and listed')
    .addHelpText('after', '\nExample:\n  apxs-ts sandbox remove ./srv')
    .action(run(async (dir: string) => {
      const r = await removeSandbox(dir);
      return {
        data: { ...r },
        human: [
          ...(r.stopped !== null ? [`stopped httpd (pid ${r.stopped})`] : []),
          ...r.warnings.map((w) => `warning: ${w}`),
          ...(r.finished ? ['an earlier remove was interrupted: finished it'] : []),
          r.removed.includes(r.root) ? `removed ${r.root}` : `removed ${r.removed.length} file(s) and directories apxs-ts made in ${r.root}`,
          ...(r.kept.length ? [`kept ${r.kept.length} (not made by apxs-ts, or changed by hand since):`, ...r.kept.slice(0, 20).map((k) => `  ${k}`), ...(r.kept.length > 20 ? [`  … and ${r.kept.length - 20} more (--json lists them all)`] : [])] : []),
        ],
      };
    }));
}
