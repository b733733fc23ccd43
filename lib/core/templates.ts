/**
 * Templates are real files under templates/, copied byte for byte with
 * `@@key@@` placeholders replaced in names and contents. A placeholder left
 * over after substitution is a bug in the template or the caller: an error.
 */
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { ApxsError } from './errors.js';

/**
 * templates/ at the package root: the nearest directory above this file that
 * holds a package.json (lib/core in a checkout, dist/lib/core in tsc's
 * output, dist/ for the bundle). Only there: an install that lost its
 * templates/ must not take those of a project it is installed under.
 */
export function templatesRoot(from: string = __dirname): string {
  // `from` is this file's directory; a test passes another to reach the two errors.
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) {
      if (existsSync(path.join(dir, 'templates'))) return path.join(dir, 'templates');
      throw new ApxsError(
        'INTERNAL',
        `apxs-ts's templates/ is missing: ${path.join(dir, 'templates')}`,
        { hint: 'reinstall apxs-ts (npm install -g apxs-ts)' },
      );
    }
    if (path.dirname(dir) === dir) {
      throw new ApxsError(
        'INTERNAL',
        `no package.json above ${from}: apxs-ts's templates/ cannot be found`,
        { hint: 'reinstall apxs-ts (npm install -g apxs-ts)' },
      );
    }
  }
}

const PLACEHOLDER = /@@([A-Za-z]+)@@/g;

export function fillPlaceholders(
  text: string,
  values: Record<string, string>,
  where: string,
): string {
  const out = text.replace(PLACEHOLDER, (whole, key: string) => values[key] ?? whole);
  const left = out.match(PLACEHOLDER);
  if (left) {
    throw new ApxsError('TEMPLATE', `template ${where} has unknown placeholder ${left[0]}`, {
      hint: "this is a bug in apxs-ts's templates; please report it",
    });
  }
  return out;
}

export interface RenderedFile {
  /** Relative path after substitution. */
  rel: string;
  content: Buffer;
  mode: number;
}

/** Reads and fills every file under the given template dirs (later dirs win on the same name). */
export async function renderTemplateDirs(
  dirs: string[],
  values: Record<string, string>,
): Promise<RenderedFile[]> {
  const files = new Map<string, RenderedFile>();
  for (const dir of dirs) {
    for (const rel of await listFiles(dir)) {
      const src = path.join(dir, rel);
      const raw = await fs.readFile(src);
      const st = await fs.stat(src);
      const outRel = fillPlaceholders(rel, values, rel);
      const content = Buffer.from(
        fillPlaceholders(raw.toString('utf8'), values, path.relative(templatesRoot(), src)),
        'utf8',
      );
      files.set(outRel, { rel: outRel, content, mode: st.mode & 0o777 });
    }
  }
  return [...files.values()].sort((a, b) => a.rel.localeCompare(b.rel));
}

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const ent of await fs.readdir(path.join(dir, prefix), { withFileTypes: true })) {
    const rel = path.join(prefix, ent.name);
    if (ent.isDirectory()) out.push(...(await listFiles(dir, rel)));
    else if (ent.isFile()) out.push(rel);
  }
  return out;
}
