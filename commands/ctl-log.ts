/**
 * The bodies of `ctl logs` and `ctl loglevel`: the error and access logs, and the LogLevel block.
 */
import path from 'node:path';
import { ApxsError } from '../lib/core/errors.js';
import { accessLogPath, errorLogPath, followLines, tailForFollow } from '../lib/ctl/error-log.js';
import { logModuleName, setLogLevel } from '../lib/ctl/loglevel.js';
import {
  moduleLinePatternWithSources,
  perModuleLevelWarnings,
  readModuleSources,
} from '../lib/ctl/loglevel-advice.js';
import type { ChangeOptions } from '../lib/core/change-report.js';
import { isServerRunning } from '../lib/ctl/running-httpd.js';
import { changeReport, diffLines } from './change-output.js';
import { warningLines } from './output.js';
import { isJson } from './progress.js';
import { targetServerRoot } from './server-root.js';
import { emit } from './stream.js';
import type { Outcome } from './types.js';

interface LogOpts {
  serverRoot?: string;
  timeout: number;
}

export async function logs(
  o: LogOpts & {
    lines: number;
    follow?: boolean;
    module?: string;
    access?: boolean;
    vhost?: string;
    source?: string;
  },
): Promise<Outcome> {
  const sr = await targetServerRoot(o);
  if (o.vhost !== undefined && !o.access)
    throw new ApxsError('USAGE', '--vhost goes with --access', {
      hint: `apxs-ts ctl logs --access --vhost ${o.vhost}`,
    });
  const file = o.access ? await accessLogPath(sr, o.vhost) : await errorLogPath(sr);
  const mod = o.module === undefined ? undefined : logModuleName(o.module);
  const filter =
    mod === undefined
      ? undefined
      : moduleLinePatternWithSources(
          mod,
          await readModuleSources(path.resolve(o.source ?? '.'), mod),
        );
  const n = o.lines;
  if (o.follow && isJson()) throw new ApxsError('USAGE', '--follow does not go with --json');
  const { lines, end } = await tailForFollow(file, n, filter);
  if (!o.follow)
    return { data: { file, lines, ...(o.module ? { module: o.module } : {}) }, stdout: lines };
  emit({ json: {}, lines });
  for await (const l of followLines(file, { from: end, filter })) emit({ json: {}, lines: [l] });
  throw new ApxsError('INTERNAL', 'following the log ended'); // followLog never returns
}

export async function loglevel(
  level: string | undefined,
  o: LogOpts & {
    module?: string;
    reset?: boolean;
    reload: boolean;
    source?: string;
  } & ChangeOptions,
): Promise<Outcome> {
  if (!level && !o.reset) throw new ApxsError('USAGE', 'give a LEVEL (e.g. debug), or --reset');
  if (level && o.reset) throw new ApxsError('USAGE', 'give a LEVEL or --reset, not both');
  const sr = await targetServerRoot(o, { writes: true });
  const r = await setLogLevel(sr, {
    level,
    module: o.module,
    reset: o.reset,
    reload: o.reload,
    timeoutSec: o.timeout,
    check: o.check,
  });
  r.warnings.push(
    ...(await perModuleLevelWarnings(r, {
      module: o.module,
      level,
      sourceDir: path.resolve(o.source ?? '.'),
    })),
  );
  const what = r.lines.length ? r.lines.join(', ') : "the config's own LogLevel";
  const msg = r.didChange
    ? `${o.check ? 'would set ' : ''}${sr.configFile}: ` +
      `${what}${r.reloaded ? '; reloaded httpd' : ''}`
    : `${what} already: nothing ${o.check ? 'would change' : 'changed'}`;
  const { changed: files, didChange, diff, check: _check, ...rest } = r;
  // The command reloads a running server itself (so --check's real run would too); --no-reload
  // leaves that to you.
  const report = changeReport(
    {
      changed: didChange,
      msg,
      warnings: r.warnings,
      restartRequired: didChange && o.reload === false && (await isServerRunning(sr)),
      diff,
    },
    o,
  );
  return {
    data: { ...rest, files, ...report },
    stdout: diffLines(diff, o),
    human: [msg, ...warningLines(r.warnings)],
  };
}
