/**
 * What `source list` shows: every release the mirrors list, once, grouped by series, newest series
 * first.
 */
import type { Listing } from './acquire.js';

export const SERIES_NEWEST_FIRST = ['2.4', '2.2', '2.0', '1.3'] as const;

export interface ListedRelease {
  version: string;
  file: string;
  mirror: string;
}

export function releasesBySeries(listings: Listing[]): {
  releases: ListedRelease[];
  series: { series: string; versions: string[] }[];
} {
  const all = new Map<string, ListedRelease>();
  // The first mirror that lists a version is where it is taken from.
  for (const l of listings)
    for (const r of l.releases)
      if (!all.has(r.version))
        all.set(r.version, { version: r.version, file: r.file, mirror: l.mirror });
  const releases = [...all.values()];
  const series = SERIES_NEWEST_FIRST.map((s) => ({
    series: s,
    versions: releases.filter((r) => r.version.startsWith(`${s}.`)).map((r) => r.version),
  })).filter((s) => s.versions.length);
  return { releases, series };
}
