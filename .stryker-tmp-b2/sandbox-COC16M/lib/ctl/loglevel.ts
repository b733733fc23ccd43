/**
 * `ctl loglevel`: how much httpd logs, in one block apxs-ts marks at the end
 * of the main config. At the end because the last LogLevel wins, and on 2.4
 * a global level resets every per-module one: the block must come after the
 * shipped `LogLevel warn`. The series' dialect says whether a level can be
 * set per module (2.4's `LogLevel NAME:LEVEL`) or only globally.
 */
// @ts-nocheck

import { promises as fs } from 'node:fs';
import { ApxsError } from '../core/errors.js';
import { findBlock, removeBlock, upsertBlock } from '../core/marked-block.js';
import { withConfigEdit } from '../httpd/config-edit.js';
import { serverProfile } from '../httpd/profile.js';
import type { ServerRoot } from '../httpd/server-root.js';
import { restart } from './lifecycle.js';
import { serverFiles } from './server-files.js';
import { serverState } from './server-state.js';

const BLOCK = 'loglevel';

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
}

/** A module name as LogLevel takes it: the short name, without mod_ or .c. */
export function logModuleName(input: string): string {
  const name = input.replace(/^mod_/, '').replace(/\.c$/, '');
  if (!/^[A-Za-z][A-Za-z0-9_]{0,62}$/.test(name)) {
    throw new ApxsError('BAD_INPUT', `bad module name ${JSON.stringify(input)}: only letters, digits and _ are allowed`, { hint: 'give a module name such as info or mod_info' });
  }
  return name;
}

interface Levels {
  global: string | undefined;
  modules: Map<string, string>;
}

/** Reads apxs-ts's own block back (only lines it wrote: `LogLevel LEVEL` and `LogLevel NAME:LEVEL`). */
function parseBlock(body: string[]): Levels {
  const levels: Levels = { global: undefined, modules: new Map() };
  for (const line of body) {
    const m = /^\s*LogLevel\s+(?:([A-Za-z0-9_]+):)?(\w+)\s*$/.exec(line);
    if (!m) continue;
    if (m[1]) levels.modules.set(m[1], m[2]!);
    else levels.global = m[2];
  }
  return levels;
}

function renderBlock(l: Levels): string[] {
  // The global line first: on 2.4 a later global level would reset the modules'.
  return [...(l.global ? [`LogLevel ${l.global}`] : []), ...[...l.modules].map(([m, v]) => `LogLevel ${m}:${v}`)];
}

export async function setLogLevel(sr: ServerRoot, opts: LogLevelOptions): Promise<LogLevelResult> {
  const profile = await serverProfile(sr);
  const { perModule, levels: known } = profile.traits.dialect.logLevel;
  const level = opts.level?.toLowerCase();
  if (!opts.reset && (!level || !known.includes(level))) {
    throw new ApxsError('BAD_INPUT', `bad log level ${JSON.stringify(opts.level ?? '')} for httpd ${profile.version}`, { hint: `one of: ${known.join(', ')}` });
  }
  const module = opts.module === undefined ? undefined : logModuleName(opts.module);
  const warnings: string[] = [];
  if (module && !perModule) {
    warnings.push(`httpd ${profile.version} has one LogLevel for all modules (per-module levels came with 2.4): set the global level; \`ctl logs --module ${module}\` shows only ${module}'s lines`);
  }
  const edit = await withConfigEdit(sr, 'setting LogLevel', async (tx) => {
    const text = await fs.readFile(sr.configFile, 'utf8');
    const l = parseBlock(findBlock(text, BLOCK, sr.configFile)?.body ?? []);
    if (opts.reset && module && perModule) l.modules.delete(module);
    else if (opts.reset) Object.assign(l, { global: undefined, modules: new Map() });
    else if (module && perModule) l.modules.set(module, level!);
    else l.global = level;
    const body = renderBlock(l);
    await tx.write(sr.configFile, body.length ? upsertBlock(text, BLOCK, body, text.length, sr.configFile) : removeBlock(text, BLOCK, sr.configFile));
    return body;
  });
  let reloaded = false;
  if (edit.changed.length && opts.reload !== false) {
    const { running } = await serverState(sr, (await serverFiles(sr)).pidFile, { scan: false });
    if (running) {
      await restart(sr, { graceful: true, timeoutSec: opts.timeoutSec });
      reloaded = true;
    }
  }
  return { serverRoot: sr.root, series: profile.series, lines: edit.value, changed: edit.changed, backups: edit.backups, reloaded, warnings };
}
