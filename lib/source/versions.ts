/**
 * httpd release names and versions: apache_1.3.42.tar.gz, httpd-2.4.68.tar.bz2,
 * httpd-2.4.68-deps.tar.gz.
 */
import { shellWord } from '../core/command-hint.js';
import { ApxsError } from '../core/errors.js';
import { seriesOfVersion as seriesOf, type Series } from '../httpd/version.js';

export interface Release {
  version: string;
  series: Series;
  /** The source tarball to use (gz preferred over bz2). */
  file: string;
  /** APR/APR-util bundle unpacked over the tree, when the mirror has one. */
  depsFile: string | undefined;
}

const TARBALL = /^(?:httpd-(2\.[0-4]\.\d+)|apache_(1\.3\.\d+))\.tar\.(gz|bz2)$/;
const DEPS = /^httpd-(2\.[0-4]\.\d+)-deps\.tar\.(gz|bz2)$/;

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Releases among file names, newest first. Only the series apxs-ts builds (1.3, 2.0, 2.2, 2.4). */
export function releasesFrom(names: string[]): Release[] {
  const byVersion = new Map<string, Release>();
  for (const n of names) {
    const m = TARBALL.exec(n);
    if (!m) continue;
    const version = (m[1] ?? m[2])!;
    if (!['1.3', '2.0', '2.2', '2.4'].includes(seriesOf(version))) continue;
    const existing = byVersion.get(version);
    if (!existing || (existing.file.endsWith('.bz2') && n.endsWith('.gz'))) {
      byVersion.set(version, {
        version,
        series: seriesOf(version),
        file: n,
        depsFile: existing?.depsFile,
      });
    }
  }
  for (const n of names) {
    const m = DEPS.exec(n);
    const r = m ? byVersion.get(m[1]!) : undefined;
    if (r && (!r.depsFile || n.endsWith('.gz'))) r.depsFile = n;
  }
  return [...byVersion.values()].sort((a, b) => compareVersions(b.version, a.version));
}

/**
 * VERSION is exact (2.4.68), a series (2.4, 1.3) or latest. A version the
 * mirror does not have is a bad argument (exit 2), like an ill-formed one.
 */
export function pickRelease(releases: Release[], wanted: string, mirror?: string): Release {
  const w = wanted.trim();
  // The hint's command lists the same mirror (#18: advice keeps the options that located its
  // resources).
  const list = `apxs-ts source list${mirror ? ` --mirror ${shellWord(mirror)}` : ''}`;
  if (!/^(latest|\d+\.\d+(\.\d+)?)$/.test(w)) {
    throw new ApxsError(
      'USAGE',
      `bad version ${JSON.stringify(wanted)}: expected 2.4.68, a series such as 2.4, or latest`,
      {
        hint: `${list} shows the releases on the mirror`,
      },
    );
  }
  const hit =
    w === 'latest' ? releases[0] : releases.find((r) => r.version === w || r.series === w);
  if (!hit) {
    const have = releases
      .slice(0, 8)
      .map((r) => r.version)
      .join(', ');
    throw new ApxsError('BAD_INPUT', `no httpd release ${w} on the mirror`, {
      hint: have
        ? `it has ${have}${releases.length > 8 ? ', …' : ''}; ${list} shows them all`
        : `the mirror lists no httpd releases: check it with ${list}`,
      data: { version: w, available: releases.map((r) => r.version) },
    });
  }
  return hit;
}

/** Links of an Apache autoindex (or any HTML directory) page. */
export function linksOf(html: string): string[] {
  const out: string[] = [];
  for (const m of html.matchAll(/href\s*=\s*"([^"?#]+)"/gi)) {
    const name = decodeURIComponent(m[1]!).replace(/^.*\//, '');
    if (name) out.push(name);
  }
  return [...new Set(out)];
}
