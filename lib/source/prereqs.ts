/**
 * What a version needs to build, checked before anything is downloaded, so
 * a missing package is reported in a second, not after twenty minutes.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { which } from '../core/fs.js';
import { seriesOfVersion as seriesOf, type Series } from '../httpd/version.js';
import { compareVersions } from './versions.js';

export interface Requirement {
  what: string;
  /** Debian package that provides it. */
  pkg: string;
  /** Any of these on PATH (or absolute) satisfies it. */
  anyOf: string[];
}

export function requirementsFor(version: string): Requirement[] {
  const series: Series = seriesOf(version);
  const req: Requirement[] = [
    { what: 'a C compiler', pkg: 'gcc', anyOf: ['gcc', 'cc'] },
    { what: 'make', pkg: 'make', anyOf: ['make'] },
    { what: 'perl (apxs, configure helpers)', pkg: 'perl', anyOf: ['perl'] },
  ];
  if (series === '1.3') req.push({ what: 'bash (1.3\'s configure breaks under dash)', pkg: 'bash', anyOf: ['bash'] });
  if (series === '2.4') {
    req.push({ what: 'APR development files', pkg: 'libapr1-dev', anyOf: ['apr-1-config'] });
    req.push({ what: 'APR-util development files', pkg: 'libaprutil1-dev', anyOf: ['apu-1-config'] });
    if (compareVersions(version, '2.4.53') >= 0) req.push({ what: 'PCRE2 development files', pkg: 'libpcre2-dev', anyOf: ['pcre2-config'] });
    else req.push({ what: 'PCRE development files', pkg: 'libpcre3-dev', anyOf: ['pcre-config'] });
  }
  if (series === '2.2' || series === '2.0') req.push({ what: 'PCRE-free build (bundled)', pkg: 'libc6-dev', anyOf: ['/usr/include/stdio.h'] });
  return req;
}

export interface PrereqReport {
  missing: Requirement[];
  /** One copy-paste line, or undefined when nothing is missing. */
  installLine: string | undefined;
}

export async function checkPrereqs(version: string, env = process.env): Promise<PrereqReport> {
  const missing: Requirement[] = [];
  for (const r of requirementsFor(version)) {
    let ok = false;
    if (await which(r.anyOf, env)) ok = true;
    if (!ok) missing.push(r);
  }
  return { missing, installLine: missing.length ? `apt-get install -y ${[...new Set(missing.map((m) => m.pkg))].join(' ')}` : undefined };
}
