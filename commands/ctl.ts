import type { Command } from 'commander';
import { brokenConfigError, configTest } from '../lib/httpd/configtest.js';
import { ApxsError } from '../lib/core/errors.js';
import { accessLogPath, errorLogPath, followLines, tailForFollow } from '../lib/ctl/error-log.js';
import { restart, start, status, stop, type CtlResult } from '../lib/ctl/lifecycle.js';
import { logModuleName, setLogLevel } from '../lib/ctl/loglevel.js';
import { moduleLinePatternWithSources, perModuleLevelWarnings, readModuleSources } from '../lib/ctl/loglevel-advice.js';
import path from 'node:path';
import { requireServerRoot } from '../lib/httpd/server-root.js';
import { NUMBER_RULES } from '../lib/core/numbers.js';
import { numberArg, subcommandsWanted, timeoutArg } from './options.js';
import { healthNote } from '../lib/ctl/health-note.js';
import { progress } from './progress.js';
import { emit } from './stream.js';
import type { Outcome, Runner } from './types.js';

interface CtlOpts {
  serverRoot?: string;
  url?: string;
  timeout: number;
  json?: boolean;
}

const EXIT_HELP = `
Exit codes:
  0  done (start/restart/graceful: the server answers its health URL; status: running and healthy)
  1  failed (config broken, port in use, did not become healthy; status: running but unhealthy,
     or orphaned workers whose parent is gone)
  2  usage error, or a verb this httpd lacks (graceful-stop on httpd 1.3 and 2.0; nothing is signalled)
  3  not running (stop, graceful-stop, status)

--json prints one object: {"ok":true,"action","pid","healthUrl","health":{"status","latencyMs"},...}
or {"ok":false,"error":{"code","message","hint"},...}.

Examples:
  apxs-ts ctl start --server-root ./srv
  apxs-ts ctl status --json
  apxs-ts ctl graceful
  apxs-ts ctl logs -n 50 --follow`;

function describe(r: CtlResult): string[] {
  const health = r.health ? ` ${r.healthUrl} answered ${r.health.status} in ${r.health.latencyMs.toFixed(1)} ms` : '';
  const head = r.alreadyRunning ? `httpd is already running (pid ${r.pid});${health}`
    : r.action.includes('stop') && r.pid === undefined ? `httpd's orphaned workers (pid ${r.orphans?.join(', ') ?? '?'}) ended in ${Math.round(r.elapsedMs)} ms`
    : r.action.includes('stop') ? `httpd (pid ${r.pid}) stopped in ${Math.round(r.elapsedMs)} ms`
    : `${r.action}: httpd (pid ${r.pid}) is up;${health}`;
  const note = r.action.includes('stop') ? undefined : healthNote(r.health?.status, r.serverRoot);
  return [head, ...(note ? [`note: ${note}`] : []), ...(r.stale ? [`removed stale pid file ${r.stale.pidFile}: ${r.stale.reason}`] : []), ...r.warnings.map((w) => `warning: ${w}`)];
}

/** --timeout, checked by its option parser (commands/options.ts). */
const timeoutOf = (o: CtlOpts): number => o.timeout;

async function withSpinner<T>(json: boolean | undefined, text: string, fn: () => Promise<T>): Promise<T> {
  const p = await progress(!!json);
  p.start(text);
  try {
    return await fn();
  } finally {
    p.stop();
  }
}

const SUBCOMMANDS = ['start', 'stop', 'graceful-stop', 'restart', 'graceful', 'status', 'configtest', 'logs', 'loglevel', 'crashes'] as const;

export function register(program: Command, run: Runner, subcommand?: string): void {
  const wanted = subcommandsWanted(subcommand, SUBCOMMANDS);
  const ctl = program.command('ctl').description('start, stop and check the server with real health checks').addHelpText('after', EXIT_HELP);
  const common = (c: Command) => c
    .option('--server-root <dir>', 'server root (env APXS_TS_SERVER_ROOT, or apxs-ts.json upward)')
    .option('--url <url>', 'health URL (default: the first Listen address)')
    .option('--timeout <seconds>', 'how long to wait', timeoutArg, 30)
    .addHelpText('after', EXIT_HELP);

  const lifecycle: [string, string, (sr: Awaited<ReturnType<typeof requireServerRoot>>, o: CtlOpts) => Promise<CtlResult>][] = [
    ['start', 'configtest, check the port, start, and wait until the health URL answers', (sr, o) => start(sr, { url: o.url, timeoutSec: timeoutOf(o) })],
    ['stop', 'stop and wait until the process and its pid file are gone (exit 3 if not running)', (sr, o) => stop(sr, { timeoutSec: timeoutOf(o) })],
    ['graceful-stop', 'let requests finish, then stop (httpd 2.2 and later; exit 3 if not running)', (sr, o) => stop(sr, { timeoutSec: timeoutOf(o), graceful: true })],
    ['restart', 'configtest, then restart and wait for the new generation to answer', (sr, o) => restart(sr, { url: o.url, timeoutSec: timeoutOf(o) })],
    ['graceful', 'configtest, then graceful restart and wait for the new generation to answer', (sr, o) => restart(sr, { url: o.url, timeoutSec: timeoutOf(o), graceful: true })],
  ];
  for (const [name, desc, fn] of lifecycle) {
    if (!wanted(name)) continue;
    common(ctl.command(name).description(desc)).action(run(async (o: CtlOpts, cmd: Command) => {
      const json = cmd.optsWithGlobals().json as boolean | undefined;
      const sr = await requireServerRoot(o.serverRoot, process.cwd(), { writes: true });
      const r = await withSpinner(json, `${name} httpd in ${sr.root}`, () => fn(sr, o));
      const note = name.includes('stop') ? undefined : healthNote(r.health?.status, r.serverRoot);
      return { data: { ...r, ...(note ? { healthNote: note } : {}) }, human: describe(r) };
    }));
  }

  if (wanted('status')) common(ctl.command('status').description('running or not, pid, since when, listening addresses, health (exit 0 healthy, 1 unhealthy, 3 not running)'))
    .action(run(async (o: CtlOpts) => {
      const sr = await requireServerRoot(o.serverRoot, process.cwd());
      const s = await status(sr, { url: o.url, timeoutSec: Math.min(timeoutOf(o), 10) });
      const note = healthNote(s.health?.status, sr.root);
      return {
        data: { ...s, ...(note ? { healthNote: note } : {}) },
        stdout: [
          `httpd${s.version ? ` ${s.version}` : ''} is running: pid ${s.pid} since ${s.since ?? '?'}`,
          `listening: ${s.listening.join(', ') || '(none seen)'}`,
          `health: ${s.healthUrl} answered ${s.health?.status} in ${s.health?.latencyMs.toFixed(1)} ms`,
          ...(s.crashes && s.crashes.count ? [`crashes since start: ${s.crashes.count}; last: ${s.crashes.last}`] : []),
          ...(note ? [`note: ${note}`] : []),
        ],
      };
    }));

  if (wanted('crashes')) common(ctl.command('crashes').description('children that died by a signal since the server started, each with its backtrace (gdb on its core, else addr2line)'))
    .addHelpText('after', '\nMore examples:\n  apxs-ts ctl crashes --json\n  apxs-ts ctl crashes -n 1')
    .option('-n, --last <n>', 'the last N crashes (default 20; all are counted)', numberArg(NUMBER_RULES.lines))
    .action(run(async (o: CtlOpts & { last?: number }): Promise<Outcome> => {
      const sr = await requireServerRoot(o.serverRoot, process.cwd());
      const { crashReport } = require('./crashes.js') as typeof import('./crashes.js');
      return crashReport(sr, o.last);
    }));

  if (wanted('configtest')) common(ctl.command('configtest').description('httpd\'s verdict on the config, warnings explained (exit 0 ok, 1 broken)'))
    .action(run(async (o: CtlOpts): Promise<Outcome> => {
      const sr = await requireServerRoot(o.serverRoot, process.cwd());
      const v = await configTest(sr);
      const lines = [v.output || (v.ok ? 'Syntax OK' : ''), ...v.explanations.map((e) => `explained: ${e}`)];
      if (!v.ok) throw brokenConfigError(v, 'config is broken', { data: { ...v } });
      return { data: { ...v }, stdout: lines };
    }));

  if (wanted('logs')) common(ctl.command('logs').description('the last lines of the error log (or the access log); --follow keeps printing'))
    .option('-n, --lines <n>', 'how many lines (1 or more)', numberArg(NUMBER_RULES.lines), 20)
    .option('-f, --follow', 'keep printing new lines until interrupted')
    .option('--module <name>', 'only the lines of this module (2.4 tags them [NAME:level]; debug lines name mod_NAME.c)')
    .option('--access', 'the access log instead of the error log (the default vhost\'s own, when it has one)')
    .option('--vhost <name>', 'with --access: the access log of this vhost')
    .option('--source <dir>', 'with --module: the module\'s source directory, whose file names httpd prints on debug lines (default: the current directory)')
    .addHelpText('after', '\nMore examples:\n  apxs-ts ctl logs --module info -n 5\n  apxs-ts ctl logs --access --follow')
    .action(run(async (o: CtlOpts & { lines: number; follow?: boolean; module?: string; access?: boolean; vhost?: string; source?: string }, cmd: Command): Promise<Outcome> => {
      const sr = await requireServerRoot(o.serverRoot, process.cwd());
      if (o.vhost !== undefined && !o.access) throw new ApxsError('USAGE', '--vhost goes with --access', { hint: `apxs-ts ctl logs --access --vhost ${o.vhost}` });
      const file = o.access ? await accessLogPath(sr, o.vhost) : await errorLogPath(sr);
      const mod = o.module === undefined ? undefined : logModuleName(o.module);
      const filter = mod === undefined ? undefined : moduleLinePatternWithSources(mod, await readModuleSources(path.resolve(o.source ?? '.'), mod));
      const n = o.lines;
      if (o.follow && cmd.optsWithGlobals().json) throw new ApxsError('USAGE', '--follow does not go with --json');
      const { lines, end } = await tailForFollow(file, n, filter);
      if (!o.follow) return { data: { file, lines, ...(o.module ? { module: o.module } : {}) }, stdout: lines };
      emit({ json: {}, lines });
      for await (const l of followLines(file, { from: end, filter })) emit({ json: {}, lines: [l] });
      throw new ApxsError('INTERNAL', 'following the log ended'); // followLog never returns
    }));

  if (wanted('loglevel')) common(ctl.command('loglevel').description('set LogLevel (per module on 2.4, global before) in a marked block; a running server is reloaded'))
    .argument('[level]', 'emerg alert crit error warn notice info debug (2.4 also trace1-8)')
    .option('--module <name>', 'only this module\'s level (2.4: LogLevel NAME:LEVEL; before 2.4 the global level)')
    .option('--reset', 'take apxs-ts\'s level out again (of --module, or all)')
    .option('--no-reload', 'only edit the config; do not graceful-restart a running server')
    .option('--source <dir>', 'with --module: the module\'s source directory, read to tell whether it logs under its own level (default: the current directory)')
    .addHelpText('after', '\nMore examples:\n  apxs-ts ctl loglevel debug --module info\n  apxs-ts ctl loglevel --reset')
    .action(run(async (level: string | undefined, o: CtlOpts & { module?: string; reset?: boolean; reload: boolean; source?: string }): Promise<Outcome> => {
      if (!level && !o.reset) throw new ApxsError('USAGE', 'give a LEVEL (e.g. debug), or --reset');
      if (level && o.reset) throw new ApxsError('USAGE', 'give a LEVEL or --reset, not both');
      const sr = await requireServerRoot(o.serverRoot, process.cwd(), { writes: true });
      const r = await setLogLevel(sr, { level, module: o.module, reset: o.reset, reload: o.reload, timeoutSec: timeoutOf(o) });
      r.warnings.push(...(await perModuleLevelWarnings(r, { module: o.module, level, sourceDir: path.resolve(o.source ?? '.') })));
      const what = r.lines.length ? r.lines.join(', ') : 'the config\'s own LogLevel';
      return {
        data: { ...r },
        human: [
          r.changed.length ? `${sr.configFile}: ${what}${r.reloaded ? '; reloaded httpd' : ''}` : `${what} already: nothing changed`,
          ...r.warnings.map((w) => `warning: ${w}`),
        ],
      };
    }));
}
