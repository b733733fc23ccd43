import { ApxsError } from '../lib/core/errors.js';
import { listSandboxes, removeSandbox } from '../lib/ctl/sandboxes.js';
import { createSandbox, writeProjectFile } from '../lib/httpd/sandbox.js';
import { portTakenWarning } from '../lib/ctl/sandbox-ports.js';
import { warningLines } from './output.js';
import type { Outcome } from './types.js';
import { apxsCommand } from '../lib/core/command-hint.js';

export async function create(
  dir: string,
  o: { port: number; tlsPort?: number; force?: boolean; project: boolean; use?: boolean },
): Promise<Outcome> {
  if (o.tlsPort === o.port)
    throw new ApxsError('USAGE', `--tls-port ${o.tlsPort} is --port too`, {
      hint: 'give HTTPS a port of its own',
    });
  const res = await createSandbox({ dir, port: o.port, tlsPort: o.tlsPort, force: o.force });
  const taken = await portTakenWarning(res.port);
  if (taken) res.warnings.push(taken);
  const project = o.project
    ? await writeProjectFile(process.cwd(), res.root, { use: o.use })
    : null;
  const kept = project && !project.written ? project : null;
  return {
    data: {
      ...res,
      projectFile: project?.written ? project.file : null,
      projectKept: kept ? { file: kept.file, serverRoot: kept.previous } : null,
    },
    human: [
      `sandbox ${res.root} (httpd ${res.httpd}, ${res.url})`,
      ...(project?.written
        ? [
            project.previous && project.previous !== res.root
              ? `${project.file} switched from ${project.previous} to this sandbox`
              : `recorded in ${project.file}: commands below this directory use it`,
          ]
        : []),
      ...(kept
        ? [
            `${kept.file} still names ${kept.previous}: kept it (commands below this directory use that one); --use switches it to this sandbox`,
          ]
        : []),
      ...warningLines(res.warnings),
      `next: ${apxsCommand('ctl start', { serverRoot: res.root })}`,
    ],
  };
}

export async function list(): Promise<Outcome> {
  const { sandboxes, dropped } = await listSandboxes();
  return {
    data: { sandboxes, dropped },
    stdout: sandboxes.map(
      (s) => `${s.running ? `running (pid ${s.pid})` : 'stopped'}\t${s.port}\t${s.root}`,
    ),
    human: [
      ...(sandboxes.length ? [] : ['no sandboxes (apxs-ts sandbox create DIR makes one)']),
      ...dropped.map((d) => `dropped from the list: ${d} (no longer a sandbox)`),
    ],
  };
}

export async function remove(dir: string): Promise<Outcome> {
  const r = await removeSandbox(dir);
  return {
    data: { ...r },
    human: [
      ...(r.stopped !== null ? [`stopped httpd (pid ${r.stopped})`] : []),
      ...warningLines(r.warnings),
      ...(r.finished ? ['an earlier remove was interrupted: finished it'] : []),
      r.removed.includes(r.root)
        ? `removed ${r.root}`
        : `removed ${r.removed.length} file(s) and directories apxs-ts made in ${r.root}`,
      ...(r.kept.length
        ? [
            `kept ${r.kept.length} (not made by apxs-ts, or changed by hand since):`,
            ...r.kept.slice(0, 20).map((k) => `  ${k}`),
            ...(r.kept.length > 20
              ? [`  … and ${r.kept.length - 20} more (--json lists them all)`]
              : []),
          ]
        : []),
    ],
  };
}
