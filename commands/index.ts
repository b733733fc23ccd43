/**
 * The CLI's top: parses argv with commander, runs one command, prints its
 * outcome (one JSON object on stdout under --json, human text otherwise,
 * nothing but errors under -q) and is the only place that turns errors into
 * exit codes:
 *   0 ok, 1 failure, 2 usage error, 3 not running (ctl).
 *
 * The command tree is commands/program.ts; each action loads its command's
 * body when it runs.
 */
import { type Command, CommanderError } from 'commander';
import { ApxsError, fileError, isErrno } from '../lib/core/errors.js';
import type { LockHolder } from '../lib/core/lock.js';
import { configureLockWaits, describeHolder } from '../lib/core/lock-settings.js';
import { NUMBER_RULES } from '../lib/core/numbers.js';
import { chosenServerRoot } from '../lib/httpd/root-choice.js';
import { numberFromEnv } from './options.js';
import { setExitCodeIfReaderGone, writeErr, writeLines, writeOut } from './output.js';
import { asBadPath } from './paths.js';
import { program as buildProgram, VERSION } from './program.js';
import { noColorEnv, setOutputMode } from './progress.js';
import type { Outcome, Runner } from './types.js';

/** argv before `--` (what comes after belongs to the command, e.g. configure arguments). */
const ownArgs = (argv: string[]) => {
  const args = argv.slice(2);
  const dd = args.indexOf('--');
  return dd === -1 ? args : args.slice(0, dd);
};

/**
 * Commander's output: help and version to stdout, errors to stderr; under --json both are held back
 * for the JSON object.
 */
function outputFor(json: () => boolean, keep: (s: string) => void) {
  return {
    writeOut: (s: string) => (json() ? keep(s) : writeOut(s)),
    // Commander's "error: …" says the command line is wrong: exit 2 (help shown on error exits 0).
    writeErr: (s: string) => {
      if (s.startsWith('error:')) setExitCodeIfReaderGone(2);
      // A group named without a subcommand shows its help on stderr: under --json it goes into the
      // object too.
      if (!json()) writeErr(s);
      else if (!s.startsWith('error:') && !s.startsWith('(')) keep(s);
    },
  };
}

/**
 * The line that says a command fell back to the system's server root (none when it was given one).
 */
function systemRootNote(): string[] {
  const root = chosenServerRoot();
  return root?.from === 'system'
    ? [
        `note: using the system's server root ${root.root} (found by ${root.why}): ` +
          'no --server-root, APXS_TS_SERVER_ROOT or apxs-ts.json',
      ]
    : [];
}

function causes(err: unknown): string[] {
  const out: string[] = [];
  for (let c = (err as Error).cause, i = 0; c && i < 5; c = (c as Error).cause, i++) {
    out.push(`caused by: ${c instanceof Error ? (c.stack ?? c.message) : String(c)}`);
  }
  return out;
}

/**
 * The lock wait the user chose (--wait, else APXS_TS_LOCK_WAIT), and a line on stderr when a run
 * waits for a lock.
 */
function configureLocks(waitSec: number | undefined, quiet: boolean): void {
  const env = process.env.APXS_TS_LOCK_WAIT;
  const sec =
    waitSec ??
    (env ? numberFromEnv('APXS_TS_LOCK_WAIT', env, NUMBER_RULES.lockWaitSeconds) : undefined);
  configureLockWaits({
    waitMs: sec === undefined ? undefined : sec * 1000,
    // Not under -q: the exit code (LOCKED) and its message still tell.
    onWait: (h: LockHolder) => {
      if (!quiet)
        writeErr(
          `apxs-ts: waiting for ${h.lockFile}: held by ${describeHolder(h)}; waiting up to ` +
            `${Math.round(h.waitMs / 100) / 10} s (--wait SECONDS or APXS_TS_LOCK_WAIT sets it)\n`,
        );
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
    const fromErrno =
      !(err instanceof ApxsError) && isErrno(err) && err.path
        ? fileError(err.path, err)
        : undefined;
    const e0 =
      err instanceof ApxsError
        ? err
        : (fromErrno ??
          new ApxsError('INTERNAL', err instanceof Error ? err.message : String(err), {
            cause: err,
            hint: 'run again with --verbose for the stack',
          }));
    // A path the command line named that does not exist: exit 2 for every command alike
    // (commands/paths.ts).
    const e = asBadPath(e0, own) ?? e0;
    setExitCodeIfReaderGone(e.exitCode);
    const root = chosenServerRoot();
    if (json) {
      writeOut(
        JSON.stringify({
          ok: false,
          ...(root ? { serverRootFrom: root.from } : {}),
          ...(e.data ?? {}),
          error: { code: e.code, message: e.message, hint: e.hint ?? null, details: e.details },
        }) + '\n',
      );
    } else {
      writeLines('err', [
        ...systemRootNote(),
        `apxs-ts: error: ${e.message}`,
        ...e.details.map((d) => `  ${d}`),
        ...(e.hint ? [`hint: ${e.hint}`] : []),
      ]);
    }
    if (verbose) writeLines('err', [e.stack ?? '', ...causes(e)]);
    return e.exitCode;
  };

  // Under --json, help and version are one JSON object too.
  let helpText = '';
  const output = outputFor(
    () => json,
    (s) => {
      helpText += s;
    },
  );

  const run: Runner =
    (action) =>
    async (...args: unknown[]) => {
      // The global options as commander parsed them, before the action runs (its spinner asks).
      const g = program.opts();
      json ||= g.json === true;
      quiet ||= g.quiet === true;
      color &&= g.color !== false;
      setOutputMode({ quiet, color, json });
      configureLocks(g.wait as number | undefined, quiet);
      const outcome: Outcome = await action(...args);
      // Which server root the command acted on, and why: a fallback to the system's must never pass
      // unsaid.
      const root = chosenServerRoot();
      if (json) {
        writeOut(
          JSON.stringify({
            ok: true,
            ...outcome.data,
            ...(root ? { serverRootFrom: root.from } : {}),
          }) + '\n',
        );
      } else if (!quiet) {
        writeLines('out', outcome.stdout);
        writeLines('err', [...systemRootNote(), ...(outcome.human ?? [])]);
      }
    };
  const program = buildProgram(run);
  (function setUp(c: Command) {
    c.exitOverride().configureOutput(output);
    c.commands.forEach(setUp);
  })(program);

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
      if (json)
        writeOut(
          JSON.stringify({
            ok: false,
            error: {
              code: 'USAGE',
              message: err.message.replace(/^error: /, ''),
              hint: 'run with --help for usage',
              details: [],
            },
          }) + '\n',
        );
      return 2;
    }
    exitCode = report(err);
  }
  return exitCode;
}
