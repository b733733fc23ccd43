import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../lib/core/atomic-file.js';
import { ApxsError, isErrno } from '../lib/core/errors.js';
import { findSpaceIndentedRecipes, fixSpaceIndentedRecipes } from '../lib/module/makefile-lint.js';
import {
  checkMakefileIncludes,
  fixMakefileIncludes,
  targetIncludeDirs,
  type IncludeCheck,
} from '../lib/module/makefile-includes.js';
import { apxsCommand, shellWord } from '../lib/core/command-hint.js';
import type { Outcome } from './types.js';

async function readMakefile(file: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) throw new ApxsError('NOT_FOUND', `${file} does not exist`);
    throw err;
  }
}

const includeLines = (file: string, c: IncludeCheck) => [
  ...c.missingOnDisk.map((m) => `${file}:${m.line}: -I${m.dir} does not exist`),
  ...c.lacking.map(
    (d) => `${file}: no -I${d}: the target's headers are there (INCLUDEDIR / EXTRA_INCLUDES)`,
  ),
];

export async function check(file: string, o: { serverRoot?: string }): Promise<Outcome> {
  const text = await readMakefile(file);
  const found = findSpaceIndentedRecipes(text);
  const target = await targetIncludeDirs(o.serverRoot, process.cwd());
  const inc = target && checkMakefileIncludes(text, target.dirs, path.dirname(path.resolve(file)));
  const incProblems = inc ? includeLines(file, inc) : [];
  const fixCmd = (includes: boolean) =>
    apxsCommand(`makefile fix ${shellWord(file)}${includes ? ' --includes' : ''}`, {
      serverRoot: includes ? target?.serverRoot : undefined,
    });
  const data = { file: path.resolve(file), lines: found, includes: inc ?? null };
  if (found.length > 0) {
    throw new ApxsError(
      'MAKEFILE_SPACES',
      `${file}: ${found.length} recipe line(s) indented with spaces ` +
        'instead of a tab (make says "missing separator")',
      {
        details: [...found.map((f) => `${file}:${f.line}: ${f.text}`), ...incProblems],
        hint: incProblems.length ? `${fixCmd(false)}, then ${fixCmd(true)}` : fixCmd(false),
        data,
      },
    );
  }
  if (incProblems.length > 0) {
    throw new ApxsError(
      'MAKEFILE_INCLUDES',
      `${file}: ${incProblems.length} include ` +
        `director${incProblems.length === 1 ? 'y' : 'ies'} wrong for the target httpd (the ` +
        'compiler will not find its headers)',
      {
        details: incProblems,
        hint: fixCmd(true),
        data,
      },
    );
  }
  return {
    data,
    human: [
      `${file}: every recipe line starts with a ` +
        `tab${inc && !inc.viaApxs ? '; it names every include directory the target needs' : ''}`,
    ],
  };
}

export async function fix(
  file: string,
  o: { includes?: boolean; serverRoot?: string },
): Promise<Outcome> {
  const spaces = fixSpaceIndentedRecipes(await readMakefile(file));
  let text = spaces.text;
  let includes: IncludeCheck | null = null;
  if (o.includes) {
    const target = await targetIncludeDirs(o.serverRoot, process.cwd());
    if (!target)
      throw new ApxsError('TOOL_MISSING', "no apxs to ask for the target's include directories", {
        hint: 'pass --server-root of the httpd you build for, or install apache2-dev',
      });
    includes = checkMakefileIncludes(text, target.dirs, path.dirname(path.resolve(file)));
    text = fixMakefileIncludes(text, includes) ?? text;
  }
  const changedIncludes = includes
    ? includes.lacking.length + includes.missingOnDisk.length > 0 && !includes.viaApxs
    : false;
  if (spaces.fixed.length > 0 || changedIncludes) await writeFileAtomic(file, text);
  return {
    data: { file: path.resolve(file), fixed: spaces.fixed, includes },
    human: [
      spaces.fixed.length
        ? `${file}: fixed line(s) ${spaces.fixed.map((f) => f.line).join(', ')}`
        : `${file}: no recipe line to fix`,
      ...(includes && changedIncludes
        ? [
            `${file}: ` +
              [
                ...includes.missingOnDisk.map((m) => `dropped -I${m.dir}`),
                ...includes.lacking.map((d) => `added -I${d}`),
              ].join(', '),
          ]
        : []),
    ],
  };
}
