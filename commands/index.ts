/**
 * The CLI's top: parses argv with commander, runs one command, prints its
 * outcome (one JSON object on stdout under --json, human text otherwise,
 * nothing but errors under -q) and is the only place that turns errors into
 * exit codes:
 *   0 ok, 1 failure, 2 usage error, 3 not running (ctl).
 *
 * Only the command named in argv is constructed (its module required, its
 * options declared): `--version` constructs none, and the bundle's top-level
 * `--help` lists the commands from a table written into it at build time.
 */
import { resolve as resolvePath } from 'node:path';
import { Command, CommanderError, Help } from 'commander';
import { ApxsError, fileError, isErrno } from '../lib/core/errors.js';
import type { LockHolder } from '../lib/core/lock.js';
import { setExitCodeIfReaderGone, writeErr, writeLines, writeOut } from './output.js';
import { noColorEnv, setOutputMode } from './progress.js';
import type { Outcome, Runner } from './types.js';
import { chosenServerRoot } from '../lib/httpd/root-choice.js';

/** `subcommand`: the word after the command in argv, for a group that constructs only the subcommand named. */
type Register = (program: Command, run: Runner, subcommand?: string) => void;

/**
 * Command modules are loaded on demand (a no-op `build` should not load the
 * HTTP or OpenPGP code), with require: the CommonJS loader is ~15 ms faster
 * to start than the ESM one on Node 20, and every command pays start-up.
 */
const COMMANDS: Record<string, () => { register: Register }> = {
  sandbox: () => require('./sandbox.js'),
  new: () => require('./new.js'),
  build: () => require('./build.js'),
  install: () => require('./install.js'),
  uninstall: () => require('./install.js'),
  makefile: () => require('./makefile.js'),
  ctl: () => require('./ctl.js'),
  hosts: () => require('./hosts.js'),
  vhost: () => require('./vhost.js'),
  source: () => require('./source.js'),
  query: () => require('./query.js'),
  doctor: () => require('./doctor.js'),
  dev: () => require('./dev.js'),
  debug: () => require('./debug.js'),
  completion: () => require('./completion.js'),
};

const VERSION = '0.1.0';

/** A top-level command as `--help` lists it. */
export interface TopLevelEntry {
  name: string;
  description: string;
  /** `install [options] [dir]` */
  term: string;
}

/**
 * The top-level commands as `--help` lists them, written into the bundle by
 * scripts/bundle.mjs from the real command tree (topLevelCommands()), so
 * that the bundle's `--help` and its answer to an unknown command construct
 * no command. Undefined in the tsc build, which constructs them all instead.
 */
declare const APXS_TS_TOP_LEVEL: TopLevelEntry[] | undefined;
const staticTopLevel = (): TopLevelEntry[] | undefined => (typeof APXS_TS_TOP_LEVEL === 'undefined' ? undefined : APXS_TS_TOP_LEVEL);

/** Commands that walk the whole tree: completion writes its scripts from it (not when it is asked for candidates). */
const NEEDS_TREE = new Set(['completion']);

/** argv before `--` (what comes after belongs to the command, e.g. configure arguments). */
const ownArgs = (argv: string[]) => {
  const args = argv.slice(2);
  const dd = args.indexOf('--');
  return dd === -1 ? args : args.slice(0, dd);
};

/** Global options that take a value: the word after them is that value, not a command name. */
const GLOBAL_VALUE_OPTIONS = new Set(['--wait', '--trust']);

/** The words of argv that name a command and subcommand (no options, no global options' values). */
function commandWords(args: string[]): string[] {
  return args.filter((a, i) => !a.startsWith('-') && !(i > 0 && GLOBAL_VALUE_OPTIONS.has(args[i - 1]!)));
}

/**
 * Which commands to construct for argv: the one it names (`help NAME` names
 * NAME); none for `--version`; for the top-level help, or a name that is no
 * command, the static table when there is one, else every command.
 */
export function commandsFor(argv: string[], haveStatic: boolean): string[] | 'static' {
  const args = ownArgs(argv);
  const words = commandWords(args);
  const name = words[0] === 'help' ? words[1] : words[0];
  if (name !== undefined && Object.hasOwn(COMMANDS, name)) {
    const wantsTree = NEEDS_TREE.has(name) && !args.some((a) => a === '--complete' || a.startsWith('--complete='));
    return wantsTree ? Object.keys(COMMANDS) : [name];
  }
  if (name === undefined && (args.includes('-V') || args.includes('--version'))) return [];
  return haveStatic ? 'static' : Object.keys(COMMANDS);
}

/** Commander's output: help and version to stdout, errors to stderr; under --json both are held back for the JSON object. */
function outputFor(json: () => boolean, keep: (s: string) => void) {
  return {
    writeOut: (s: string) => (json() ? keep(s) : writeOut(s)),
    // Commander's "error: …" says the command line is wrong: exit 2 (help shown on error exits 0).
    writeErr: (s: string) => {
      if (s.startsWith('error:')) setExitCodeIfReaderGone(2);
      if (!json()) writeErr(s);
    },
  };
}

/**
 * `--trust DIR` (any command): DIR and what is below it are trusted although
 * another user owns or can write them (lib/core/trust.ts reads the list from
 * $APXS_TS_SAFE_DIRECTORIES, to which this adds DIR for this run).
 */
function trustDir(dir: string, prev: string[] = []): string[] {
  const abs = resolvePath(dir);
  process.env.APXS_TS_SAFE_DIRECTORIES = [...(process.env.APXS_TS_SAFE_DIRECTORIES ?? '').split(':').filter(Boolean), abs].join(':');
  return [...prev, abs];
}

/** The line that says a command fell back to the system's server root (none when it was given one). */
function systemRootNote(): string[] {
  const root = chosenServerRoot();
  return root?.from === 'system' ? [`note: using the system's server root ${root.root} (found by ${root.why}): no --server-root, APXS_TS_SERVER_ROOT or apxs-ts.json`] : [];
}

function causes(err: unknown): string[] {
  const out: string[] = [];
  for (let c = (err as Error).cause, i = 0; c && i < 5; c = (c as Error).cause, i++) {
    out.push(`caused by: ${c instanceof Error ? c.stack ?? c.message : String(c)}`);
  }
  return out;
}

/** The program with its global options and no commands. */
function newProgram(): Command {
  return new Command('apxs-ts')
    .description('Build Apache httpd and its C/C++ modules, install them, run the server: apxs, apachectl, a2enmod in one safer tool')
    .version(VERSION)
    .option('--json', 'print one JSON object on stdout')
    .option('-q, --quiet', 'print nothing but errors (the exit code tells the rest)')
    .option('--no-color', 'no colour codes (also when NO_COLOR is set)')
    .option('--verbose', 'show causes and stacks of errors')
    .option('--wait <seconds>', 'how long to wait for a lock another apxs-ts holds (default: each command\'s own; env APXS_TS_LOCK_WAIT; 0: do not wait)', (v: string) => lazy.options().numberArg(lazy.numbers().NUMBER_RULES.lockWaitSeconds)(v))
    // Here, not in options.ts: --version must load no module beyond index, output and progress.
    .option('--trust <dir>', 'trust DIR although another user owns or can write it (repeatable; adds to $APXS_TS_SAFE_DIRECTORIES)', trustDir)
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .addHelpText('after', `
Examples:
  apxs-ts sandbox create ./srv --port 8080
  apxs-ts new mod_info --cpp --template info
  cd mod_info && apxs-ts build && apxs-ts install --server-root ../srv
  apxs-ts ctl start --server-root ../srv`);
}

function construct(program: Command, names: string[], run: Runner, subcommand?: string): void {
  const registers = new Set(names.map((n) => COMMANDS[n]!().register));
  for (const register of registers) register(program, run, names.length === 1 ? subcommand : undefined);
}

/** Commands that only list themselves in the top-level help (and let commander suggest a near name). */
function constructStatic(program: Command, entries: TopLevelEntry[]): void {
  for (const e of entries) program.command(e.name).description(e.description);
  const terms = new Map(entries.map((e) => [e.name, e.term]));
  program.configureHelp({
    subcommandTerm(this: Help, c: Command) {
      return terms.get(c.name()) ?? Help.prototype.subcommandTerm.call(this, c);
    },
  });
}

/** Every top-level command as `--help` lists it, from the whole tree: what scripts/bundle.mjs writes into the bundle. */
export function topLevelCommands(): TopLevelEntry[] {
  const program = newProgram();
  construct(program, Object.keys(COMMANDS), () => async () => {});
  const help = program.createHelp();
  return program.commands.map((c) => ({ name: c.name(), description: help.subcommandDescription(c), term: help.subcommandTerm(c) }));
}

/** Modules only some runs need (an error, a lock, a --wait), loaded then: `--version` and a no-op build load none. */
const lazy = {
  options: () => require('./options.js') as typeof import('./options.js'),
  paths: () => require('./paths.js') as typeof import('./paths.js'),
  numbers: () => require('../lib/core/numbers.js') as typeof import('../lib/core/numbers.js'),
  lock: () => require('../lib/core/lock.js') as typeof import('../lib/core/lock.js'),
  lockSettings: () => require('../lib/core/lock-settings.js') as typeof import('../lib/core/lock-settings.js'),
};

/** The lock wait the user chose (--wait, else APXS_TS_LOCK_WAIT), and a line on stderr when a run waits for a lock. */
function configureLocks(waitSec: number | undefined, quiet: boolean): void {
  const env = process.env.APXS_TS_LOCK_WAIT;
  const sec = waitSec ?? (env ? lazy.options().numberFromEnv('APXS_TS_LOCK_WAIT', env, lazy.numbers().NUMBER_RULES.lockWaitSeconds) : undefined);
  lazy.lockSettings().configureLockWaits({
    waitMs: sec === undefined ? undefined : sec * 1000,
    // Not under -q: the exit code (LOCKED) and its message still tell.
    onWait: (h: LockHolder) => {
      if (!quiet) writeErr(`apxs-ts: waiting for ${h.lockFile}: held by ${lazy.lock().describeHolder(h)}; waiting up to ${Math.round(h.waitMs / 100) / 10} s (--wait SECONDS or APXS_TS_LOCK_WAIT sets it)\n`);
    },
  });
}

export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const own = ownArgs(argv);
  let json = own.includes('--json');
  let quiet = own.includes('-q') || own.includes('--quiet');
  let color = !own.includes('--no-color') && !noColorEnv();
  const verbose = own.includes('--verbose');
  setOutputMode({ quiet, color });

  const report = (err: unknown): number => {
    // A raw errno that escaped lib/ still names its path and gets a code.
    const fromErrno = !(err instanceof ApxsError) && isErrno(err) && err.path ? fileError(err.path, err) : undefined;
    const e0 = err instanceof ApxsError ? err : fromErrno
      ?? new ApxsError('INTERNAL', err instanceof Error ? err.message : String(err), { cause: err, hint: 'run again with --verbose for the stack' });
    // A path the command line named that does not exist: exit 2 for every command alike (commands/paths.ts).
    const e = lazy.paths().asBadPath(e0, own) ?? e0;
    setExitCodeIfReaderGone(e.exitCode);
    const root = chosenServerRoot();
    if (json) {
      writeOut(JSON.stringify({ ok: false, ...(root ? { serverRootFrom: root.from } : {}), ...(e.data ?? {}), error: { code: e.code, message: e.message, hint: e.hint ?? null, details: e.details } }) + '\n');
    } else {
      writeLines('err', [...systemRootNote(), `apxs-ts: error: ${e.message}`, ...e.details.map((d) => `  ${d}`), ...(e.hint ? [`hint: ${e.hint}`] : [])]);
    }
    if (verbose) writeLines('err', [e.stack ?? '', ...causes(e)]);
    return e.exitCode;
  };

  // Under --json, help and version are one JSON object too.
  let helpText = '';
  const program = newProgram().configureOutput(outputFor(() => json, (s) => { helpText += s; }));

  const run: Runner = (action) => async (...args: unknown[]) => {
    // The global options as commander parsed them, before the action runs (its spinner asks).
    const g = program.opts();
    json ||= g.json === true;
    quiet ||= g.quiet === true;
    color &&= g.color !== false;
    setOutputMode({ quiet, color, json });
    configureLocks(g.wait as number | undefined, quiet);
    const outcome: Outcome = await action(...args);
    // Which server root the command acted on, and why: a fallback to the system's must never pass unsaid.
    const root = chosenServerRoot();
    if (json) {
      writeOut(JSON.stringify({ ok: true, ...outcome.data, ...(root ? { serverRootFrom: root.from } : {}) }) + '\n');
    } else if (!quiet) {
      writeLines('out', outcome.stdout);
      writeLines('err', [...systemRootNote(), ...(outcome.human ?? [])]);
    }
  };

  const names = commandsFor(argv, staticTopLevel() !== undefined);
  if (names === 'static') constructStatic(program, staticTopLevel()!);
  else construct(program, names, run, commandWords(ownArgs(argv))[1]);
  program.commands.forEach(function setUp(c: Command) {
    c.exitOverride().configureOutput(outputFor(() => json, (s) => { helpText += s; }));
    c.commands.forEach(setUp);
  });

  try {
    await program.parseAsync(argv);
    json = program.opts().json === true || json;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.version') {
        if (json) writeOut(JSON.stringify({ ok: true, version: VERSION }) + '\n');
        return 0;
      }
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help') {
        if (json) writeOut(JSON.stringify({ ok: true, help: helpText }) + '\n');
        return 0;
      }
      setExitCodeIfReaderGone(2);
      if (json) writeOut(JSON.stringify({ ok: false, error: { code: 'USAGE', message: err.message.replace(/^error: /, ''), hint: 'run with --help for usage', details: [] } }) + '\n');
      return 2;
    }
    exitCode = report(err);
  }
  return exitCode;
}
