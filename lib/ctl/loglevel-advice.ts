/**
 * What `LogLevel NAME:debug` does for a module, read from its sources. On
 * 2.4 a module's log lines carry its level only when it declares
 * `APLOG_USE_MODULE(NAME)` (or `AP_DECLARE_MODULE(NAME)`, which does both);
 * every 2.2-era module logs under the global level, so its per-module level
 * changes nothing. And its lines are found by the source file name httpd
 * prints (`blog_handler.c(42):`) as well as by the `[NAME:debug]` tag.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { escapeRegExp } from '../core/fs.js';
import { apxsCommand } from '../core/command-hint.js';
import { moduleLinePattern } from './error-log.js';
import { logModuleName, type LogLevelResult } from './loglevel.js';

const SOURCE = /\.(c|cc|cpp|cxx|C)$/;

export interface ModuleSources {
  dir: string;
  /**
   * The C/C++ files of `dir` that define NAME_module (the module record), or all of them when none
   * does.
   */
  files: string[];
  /** The file defining NAME_module, if one does. */
  recordFile: string | undefined;
  /** Declares APLOG_USE_MODULE(NAME) or AP_DECLARE_MODULE(NAME). */
  declaresLogModule: boolean;
}

/** Reads a module directory's sources (not its subdirectories). Undefined when it has none. */
export async function readModuleSources(
  dir: string,
  name: string,
): Promise<ModuleSources | undefined> {
  const names = (await fs.readdir(dir).catch((): string[] => []))
    .filter((f) => SOURCE.test(f))
    .sort();
  if (names.length === 0) return undefined;
  const texts = await Promise.all(
    names.map(async (f) => ({
      f,
      text: await fs.readFile(path.join(dir, f), 'utf8').catch(() => ''),
    })),
  );
  const n = escapeRegExp(name);
  const record = new RegExp(`\\b${n}_module\\s*=|AP_DECLARE_MODULE\\s*\\(\\s*${n}\\s*\\)`);
  const declares = new RegExp(
    `^[ \\t]*(?:APLOG_USE_MODULE|AP_DECLARE_MODULE)\\s*\\(\\s*${n}\\s*\\)`,
    'm',
  );
  const recordFile = texts.find((t) => record.test(t.text))?.f;
  return {
    dir,
    files: names,
    recordFile: recordFile && path.join(dir, recordFile),
    declaresLogModule: texts.some((t) => declares.test(t.text)),
  };
}

/**
 * The warning for `loglevel LEVEL --module NAME` on a series with per-module levels; undefined when
 * the sources declare it (or there are none to read).
 */
export function perModuleLevelAdvice(
  src: ModuleSources | undefined,
  name: string,
  level: string,
  serverRoot: string,
): string | undefined {
  if (!src || !src.recordFile || src.declaresLogModule) return undefined;
  return (
    `${path.basename(src.recordFile)} declares neither APLOG_USE_MODULE(${name}) ` +
    `nor AP_DECLARE_MODULE(${name}): mod_${name} logs under the global level, ` +
    `so "LogLevel ${name}:${level}" changes nothing for it. ` +
    `Add the line "APLOG_USE_MODULE(${name});" after the #include ` +
    `lines of ${src.recordFile}, then rebuild and install ` +
    `(\`${apxsCommand('install', { serverRoot })}\` in ${src.dir}); or set the ` +
    `global level: \`${apxsCommand(`ctl loglevel ${level}`, { serverRoot })}\``
  );
}

/**
 * A module's lines: its tag, mod_NAME.c, or the name of any of its source files in httpd's
 * "file.c(42):".
 */
export function moduleLinePatternWithSources(name: string, src: ModuleSources | undefined): RegExp {
  const base = moduleLinePattern(name);
  if (!src) return base;
  const files = src.files.map((f) => escapeRegExp(f));
  return new RegExp(`${base.source}|(?:^|[\\s/])(?:${files.join('|')})\\(\\d+\\)`);
}

/**
 * After `loglevel LEVEL --module NAME` set a per-module line: the advice when the module's sources
 * cannot use it.
 */
export async function perModuleLevelWarnings(
  r: LogLevelResult,
  o: { module?: string; level?: string; sourceDir: string },
): Promise<string[]> {
  if (!o.module || !o.level || !r.lines.some((l) => l.includes(':'))) return [];
  const name = logModuleName(o.module);
  const advice = perModuleLevelAdvice(
    await readModuleSources(o.sourceDir, name),
    name,
    o.level.toLowerCase(),
    r.serverRoot,
  );
  return advice ? [advice] : [];
}
