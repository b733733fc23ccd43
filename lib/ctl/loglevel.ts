/**
 * `ctl loglevel`: how much httpd logs, in one block apxs-ts marks at the end
 * of the main config. At the end because the last LogLevel wins, and on 2.4
 * a global level resets every per-module one: the block must come after the
 * shipped `LogLevel warn`. The series' dialect says whether a level can be
 * set per module (2.4's `LogLevel NAME:LEVEL`) or only globally.
 *
 * Where the layout has snippet files (Debian), the block is in a file of its
 * own, conf-available/apxs-ts-loglevel.conf enabled as a2enconf enables one:
 * the package's apache2.conf is a conffile, and an edit there is a changed
 * conffile to `dpkg -V` and a prompt at the next upgrade. conf-enabled/ is
 * included after apache2.conf's own `LogLevel warn`, so the block still wins.
 */
import type { FileDiff } from '../core/change-report.js';
import { ApxsError } from '../core/errors.js';
import { withConfigEdit } from '../httpd/config-edit.js';
import { editLogLevels } from '../httpd/loglevel-block.js';
import { serverProfile } from '../httpd/profile.js';
import type { ServerRoot } from '../httpd/server-root.js';
import { restart } from './lifecycle.js';
import { serverFiles } from './server-files.js';
import { serverState } from './server-state.js';

export interface LogLevelOptions {
  /** The level to set; undefined with `reset`. */
  level?: string;
  /** A module's short name (`info` or `mod_info`): only its level, where the series allows it. */
  module?: string;
  /** Take the level (of `module`, or all of apxs-ts's) out again. */
  reset?: boolean;
  /** Graceful-restart a running server so the level applies now (default true). */
  reload?: boolean;
  timeoutSec?: number;
  /** Plan only (--check): write nothing, reload nothing. */
  check?: boolean;
}

export interface LogLevelResult {
  serverRoot: string;
  series: string;
  /** The LogLevel lines of apxs-ts's block now (empty: the config's own level applies). */
  lines: string[];
  changed: string[];
  backups: string[];
  reloaded: boolean;
  warnings: string[];
  didChange: boolean;
  diff: FileDiff[];
  check: boolean;
  configtestSkipped?: string;
}

/** A module name as LogLevel takes it: the short name, without mod_ or .c. */
export function logModuleName(input: string): string {
  const name = input.replace(/^mod_/, '').replace(/\.c$/, '');
  if (!/^[A-Za-z][A-Za-z0-9_]{0,62}$/.test(name)) {
    throw new ApxsError(
      'BAD_INPUT',
      `bad module name ${JSON.stringify(input)}: only letters, digits and _ are allowed`,
      { hint: 'give a module name such as info or mod_info' },
    );
  }
  return name;
}

export async function setLogLevel(sr: ServerRoot, opts: LogLevelOptions): Promise<LogLevelResult> {
  const profile = await serverProfile(sr);
  const { perModule, levels: known } = profile.traits.dialect.logLevel;
  const level = opts.level?.toLowerCase();
  if (!opts.reset && (!level || !known.includes(level))) {
    throw new ApxsError(
      'BAD_INPUT',
      `bad log level ${JSON.stringify(opts.level ?? '')} for httpd ${profile.version}`,
      { hint: `one of: ${known.join(', ')}` },
    );
  }
  const module = opts.module === undefined ? undefined : logModuleName(opts.module);
  const warnings: string[] = [];
  if (module && !perModule) {
    warnings.push(
      `httpd ${profile.version} has one LogLevel for all modules (per-module ` +
        `levels came with 2.4): set the global level; \`ctl logs --module ` +
        `${module}\` shows only ${module}'s lines`,
    );
  }
  const edit = await withConfigEdit(
    sr,
    'setting LogLevel',
    async (tx) => {
      const body = await editLogLevels(tx, sr, (l) => {
        if (opts.reset && module && perModule) l.modules.delete(module);
        else if (opts.reset) Object.assign(l, { global: undefined, modules: new Map() });
        else if (module && perModule) l.modules.set(module, level!);
        else l.global = level;
      });
      return body;
    },
    { check: opts.check },
  );
  warnings.push(...edit.warnings);
  let reloaded = false;
  if (edit.didChange && opts.reload !== false && !opts.check) {
    const { running } = await serverState(sr, (await serverFiles(sr)).pidFile);
    if (running) {
      await restart(sr, { graceful: true, timeoutSec: opts.timeoutSec });
      reloaded = true;
    }
  }
  return {
    serverRoot: sr.root,
    series: profile.series,
    lines: edit.value,
    changed: edit.changed,
    backups: edit.backups,
    reloaded,
    warnings,
    didChange: edit.didChange,
    diff: edit.diff,
    check: edit.check,
    ...(edit.configtestSkipped ? { configtestSkipped: edit.configtestSkipped } : {}),
  };
}
