/**
 * What a version needs to build, checked before anything is downloaded, so
 * a missing package is reported in a second, not after twenty minutes.
 */
import { which } from '../core/fs.js';
import { seriesOfVersion as seriesOf } from '../httpd/version.js';
import { RECIPES, type Requirement } from './recipes.js';

export function requirementsFor(version: string, opts: { ssl?: boolean } = {}): Requirement[] {
  const ssl = opts.ssl ? RECIPES[seriesOf(version)].ssl?.requirement : undefined;
  return [
    ...(ssl ? [ssl] : []),
    { what: 'a C compiler', pkg: 'gcc', anyOf: ['gcc', 'cc'] },
    { what: 'make', pkg: 'make', anyOf: ['make'] },
    { what: 'perl (apxs, configure helpers)', pkg: 'perl', anyOf: ['perl'] },
    ...RECIPES[seriesOf(version)].requirements(version),
  ];
}

export interface PrereqReport {
  missing: Requirement[];
  /** One copy-paste line, or undefined when nothing is missing. */
  installLine: string | undefined;
}

export async function checkPrereqs(
  version: string,
  env = process.env,
  opts: { ssl?: boolean } = {},
): Promise<PrereqReport> {
  const missing: Requirement[] = [];
  for (const r of requirementsFor(version, opts)) {
    let ok = false;
    if (await which(r.anyOf, env)) ok = true;
    if (!ok) missing.push(r);
  }
  return {
    missing,
    installLine: missing.length
      ? `apt-get install -y ${[...new Set(missing.map((m) => m.pkg))].join(' ')}`
      : undefined,
  };
}
