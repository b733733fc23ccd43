/**
 * What `build` remembers of the last build (.apxs-ts/build.json): per
 * source, the command line and the mtime and size of the source and every
 * header it included (from the compiler's -MMD file), so a build recompiles
 * only what changed, and nothing when nothing did.
 *
 * Whether a build is needed is answered with sync stats (statKey, same,
 * unitIsFresh, readStamp return values, not Promises): a module has a few
 * dozen inputs, its sources and every httpd/APR header, each one stat(2).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readTrustedJson } from '../core/cache.js';
import { statOrUndefined } from '../core/fs.js';

export type FileKey = [number, number];

export interface Unit {
  argv: string;
  /** The source and the headers it includes, with mtime and size at build time. */
  inputs: Record<string, FileKey>;
  /** The unit's output (.o, or the .so for a one-source module) when it was made. */
  output: FileKey;
}

export interface Stamp {
  version: 2;
  toolchain: string;
  units: Record<string, Unit>;
  /** Link step of a multi-source module. */
  link?: { argv: string; output: FileKey };
}

export function statKey(file: string): FileKey | undefined {
  const st = statOrUndefined(file);
  return st ? [st.mtimeMs, st.size] : undefined;
}

/** Parses a make-style dependency file written by -MMD into absolute paths. */
export function parseDepFile(text: string, baseDir: string): string[] {
  const body = text.replace(/\\\r?\n/g, ' ');
  const colon = body.search(/:(\s|$)/);
  const deps = body.slice(colon + 1).match(/(?:\\ |[^\s])+/g) ?? [];
  return deps.map((d) => path.resolve(baseDir, d.replace(/\\ /g, ' ')));
}

export function same(file: string, key: FileKey | undefined): boolean {
  const now = statKey(file);
  return !!now && !!key && now[0] === key[0] && now[1] === key[1];
}

export function unitIsFresh(unit: Unit | undefined, argv: string, output: string): boolean {
  if (!unit || unit.argv !== argv || !same(output, unit.output)) return false;
  for (const [f, k] of Object.entries(unit.inputs)) if (!same(f, k)) return false;
  return true;
}

export function readStamp(file: string, toolchain: string): Stamp | undefined {
  const stamp = readTrustedJson(file) as Stamp | undefined; // never built, or a torn stamp: build
  return stamp?.version === 2 && stamp.toolchain === toolchain ? stamp : undefined;
}

/** A unit's inputs now: the source and what its -MMD file lists. */
export async function unitInputs(
  src: string,
  depFile: string,
  baseDir: string,
): Promise<Unit['inputs']> {
  const inputs: Unit['inputs'] = {};
  for (const f of [src, ...parseDepFile(await fs.readFile(depFile, 'utf8'), baseDir)]) {
    const k = statKey(f);
    if (k) inputs[f] = k;
  }
  return inputs;
}
