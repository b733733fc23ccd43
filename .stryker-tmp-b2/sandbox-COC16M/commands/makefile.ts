// @ts-nocheck
import type { Command } from 'commander';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../lib/core/atomic-file.js';
import { ApxsError, isErrno } from '../lib/core/errors.js';
import { findSpaceIndentedRecipes, fixSpaceIndentedRecipes } from '../lib/module/makefile-lint.js';
import type { Runner } from './types.js';

async function readMakefile(file: string): Promise<string> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if (isErrno(err, 'ENOENT')) throw new ApxsError('NOT_FOUND', `${file} does not exist`);
    throw err;
  }
}

export function register(program: Command, run: Runner): void {
  const mk = program.command('makefile').description('find and fix recipe lines indented with spaces ("missing separator")');
  mk.command('check')
    .argument('[file]', 'Makefile', 'Makefile')
    .description('name every recipe line indented with spaces; exit 1 if any')
    .addHelpText('after', '\nExample:\n  apxs-ts makefile check mod_info/Makefile')
    .action(run(async (file: string) => {
      const found = findSpaceIndentedRecipes(await readMakefile(file));
      if (found.length > 0) {
        throw new ApxsError('MAKEFILE_SPACES', `${file}: ${found.length} recipe line(s) indented with spaces instead of a tab (make says "missing separator")`, {
          details: found.map((f) => `${file}:${f.line}: ${f.text}`),
          hint: `apxs-ts makefile fix ${file}`,
          data: { file: path.resolve(file), lines: found },
        });
      }
      return { data: { file: path.resolve(file), lines: [] }, human: [`${file}: every recipe line starts with a tab`] };
    }));
  mk.command('fix')
    .argument('[file]', 'Makefile', 'Makefile')
    .description('turn the leading spaces of recipe lines into a tab; nothing else changes')
    .addHelpText('after', '\nExample:\n  apxs-ts makefile fix')
    .action(run(async (file: string) => {
      const { text, fixed } = fixSpaceIndentedRecipes(await readMakefile(file));
      if (fixed.length > 0) await writeFileAtomic(file, text);
      return {
        data: { file: path.resolve(file), fixed },
        human: [fixed.length ? `${file}: fixed line(s) ${fixed.map((f) => f.line).join(', ')}` : `${file}: nothing to fix`],
      };
    }));
}
