/**
 * The CLI's top: parses argv with commander, runs one command, prints its
 * outcome (one JSON object on stdout under --json, human text otherwise) and
 * is the only place that turns errors into exit codes:
 *   0 ok, 1 failure, 2 usage error, 3 not running (ctl).
 */
import { Command, CommanderError } from 'commander';
import { ApxsError, fileError, isErrno } from '../lib/core/errors.js';
import type { Outcome, Runner } from './types.js';

type Register = (program: Command, run: Runner) => void;

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
};

const VERSION = '0.1.0';

/** Commander's output: help and version to stdout, errors to stderr; under --json both are held back for the JSON object. */
function outputFor(json: () => boolean, keep: (s: string) => void) {
  return {
    writeOut: (s: string) => (json() ? keep(s) : process.stdout.write(s)),
    writeErr: (s: string) => { if (!json()) process.stderr.write(s); },
  };
}

function write(stream: NodeJS.WriteStream, lines: string[] | undefined): void {
  if (lines && lines.length) stream.write(lines.join('\n') + '\n');
}

function causes(err: unknown): string[] {
  const out: string[] = [];
  for (let c = (err as Error).cause, i = 0; c && i < 5; c = (c as Error).cause, i++) {
    out.push(`caused by: ${c instanceof Error ? c.stack ?? c.message : String(c)}`);
  }
  return out;
}

export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  let json = argv.includes('--json');
  const verbose = argv.includes('--verbose');

  const report = (err: unknown): number => {
    // A raw errno that escaped lib/ still names its path and gets a code.
    const fromErrno = !(err instanceof ApxsError) && isErrno(err) && err.path ? fileError(err.path, err) : undefined;
    const e = err instanceof ApxsError ? err : fromErrno
      ?? new ApxsError('INTERNAL', err instanceof Error ? err.message : String(err), { cause: err, hint: 'run again with --verbose for the stack' });
    if (json) {
      process.stdout.write(JSON.stringify({ ok: false, ...(e.data ?? {}), error: { code: e.code, message: e.message, hint: e.hint ?? null, details: e.details } }) + '\n');
    } else {
      write(process.stderr, [`apxs-ts: error: ${e.message}`, ...e.details.map((d) => `  ${d}`), ...(e.hint ? [`hint: ${e.hint}`] : [])]);
    }
    if (verbose) write(process.stderr, [e.stack ?? '', ...causes(e)]);
    return e.exitCode;
  };

  const run: Runner = (action) => async (...args: unknown[]) => {
    const outcome: Outcome = await action(...args);
    if (json) {
      process.stdout.write(JSON.stringify({ ok: true, ...outcome.data }) + '\n');
    } else {
      write(process.stdout, outcome.stdout);
      write(process.stderr, outcome.human);
    }
  };

  // Under --json, help and version are one JSON object too.
  let helpText = '';
  const program = new Command('apxs-ts')
    .description('Build Apache httpd and its C/C++ modules, install them, run the server: apxs, apachectl, a2enmod in one safer tool')
    .version(VERSION)
    .option('--json', 'print one JSON object on stdout')
    .option('--verbose', 'show causes and stacks of errors')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .configureOutput(outputFor(() => json, (s) => { helpText += s; }))
    .addHelpText('after', `
Examples:
  apxs-ts sandbox create ./srv --port 8080
  apxs-ts new mod_info --cpp --template info
  cd mod_info && apxs-ts build && apxs-ts install --server-root ../srv
  apxs-ts ctl start --server-root ../srv`);

  const name = argv.slice(2).find((a) => !a.startsWith('-'));
  const loaders = name && COMMANDS[name] ? [COMMANDS[name]!] : Object.values(COMMANDS);
  const registers = new Set(loaders.map((l) => l().register));
  for (const register of registers) register(program, run);
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
        if (json) process.stdout.write(JSON.stringify({ ok: true, version: VERSION }) + '\n');
        return 0;
      }
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.help') {
        if (json) process.stdout.write(JSON.stringify({ ok: true, help: helpText }) + '\n');
        return 0;
      }
      if (json) process.stdout.write(JSON.stringify({ ok: false, error: { code: 'USAGE', message: err.message.replace(/^error: /, ''), hint: 'run with --help for usage', details: [] } }) + '\n');
      return 2;
    }
    exitCode = report(err);
  }
  return exitCode;
}
