import { ApxsError } from '../lib/core/errors.js';
import { listSandboxes, removeSandbox } from '../lib/ctl/sandboxes.js';
import { createSandbox, writeProjectFile } from '../lib/httpd/sandbox.js';
import { portTakenWarning } from '../lib/ctl/sandbox-ports.js';
import { warningLines } from './output.js';
import type { Outcome } from './types.js';
import type { ChangeOptions } from '../lib/core/change-report.js';
import { changeOutcome } from './change-output.js';
import { apxsCommand } from '../lib/core/command-hint.js';

export async function create(
  dir: string,
  o: {
    port: number;
    tlsPort?: number;
    force?: boolean;
    project: boolean;
    use?: boolean;
  } & ChangeOptions,
): Promise<Outcome> {
  if (o.tlsPort === o.port)
    throw new ApxsError('USAGE', `--tls-port ${o.tlsPort} is --port too`, {
      hint: 'give HTTPS a port of its own',
    });
  const res = await createSandbox({
    dir,
    port: o.port,
    tlsPort: o.tlsPort,
    force: o.force,
    check: o.check,
  });
  // A sandbox already there as asked: no port warning (its own server may be what holds the port).
  const taken = res.changed ? await portTakenWarning(res.port) : undefined;
  if (taken) res.warnings.push(taken);
  const project = o.project
    ? await writeProjectFile(process.cwd(), res.root, { use: o.use, check: o.check })
    : null;
  const kept = project && !project.written ? project : null;
  const { diff, ...rest } = res;
  const changed = res.changed || !!project?.changed;
  const verb = o.check ? 'would create' : 'created';
  const msg = !changed
    ? `sandbox ${res.root} is already there as asked`
    : !res.changed
      ? `sandbox ${res.root} is already there; ${o.check ? 'would record' : 'recorded'} ` +
        `it in ${project?.file}`
      : `${verb} sandbox ${res.root} (${res.files.length} file(s))`;
  return changeOutcome(
    o,
    {
      changed,
      msg,
      warnings: res.warnings,
      diff: [...diff, ...(project?.diff ? [project.diff] : [])],
    },
    {
      ...rest,
      changed,
      projectFile: project?.written ? project.file : null,
      projectKept: kept ? { file: kept.file, serverRoot: kept.previous } : null,
    },
    [
      `sandbox ${res.root} (httpd ${res.httpd}, ${res.url})`,
      ...(project?.changed
        ? [
            project.previous && project.previous !== res.root
              ? `${project.file} switched from ${project.previous} to this sandbox`
              : `recorded in ${project.file}: commands below this directory use it`,
          ]
        : []),
      ...(kept
        ? [
            `${kept.file} still names ${kept.previous}: kept it (commands below ` +
              'this directory use that one); --use switches it to this sandbox',
          ]
        : []),
      ...warningLines(res.warnings),
      `next: ${apxsCommand('ctl start', { serverRoot: res.root })}`,
    ],
  );
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

export async function remove(dir: string, o: ChangeOptions = {}): Promise<Outcome> {
  const r = await removeSandbox(dir, process.env, { check: o.check });
  const { diff, ...rest } = r;
  if (!r.changed)
    return changeOutcome(
      o,
      {
        changed: false,
        msg: `${r.root} is not there: nothing to remove`,
        warnings: r.warnings,
        diff,
      },
      { ...rest },
    );
  const w = o.check ? 'would be ' : '';
  const msg = r.removed.includes(r.root)
    ? `${o.check ? 'would remove' : 'removed'} ${r.root}`
    : `${o.check ? 'would remove' : 'removed'} ${r.removed.length} file(s) ` +
      `and directories apxs-ts made in ${r.root}; ${r.kept.length} kept`;
  return changeOutcome(o, { changed: true, msg, warnings: r.warnings, diff }, { ...rest }, [
    ...(r.stopped !== null
      ? [`${o.check ? 'would stop' : 'stopped'} httpd (pid ${r.stopped})`]
      : []),
    ...warningLines(r.warnings),
    ...(r.finished
      ? [`an earlier remove was interrupted: ${o.check ? 'would finish it' : 'finished it'}`]
      : []),
    ...(r.kept.length
      ? [
          `${w}kept ${r.kept.length} (not made by apxs-ts, or changed by hand since):`,
          ...r.kept.slice(0, 20).map((k) => `  ${k}`),
          ...(r.kept.length > 20
            ? [`  … and ${r.kept.length - 20} more (--json lists them all)`]
            : []),
        ]
      : []),
  ]);
}
