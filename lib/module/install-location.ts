/**
 * The <Location> install writes for a module: what its sources register
 * (lib/module/registrations.ts), unless the developer said otherwise with
 * --handler, --location or --no-location. What they said is kept in
 * apxs-ts-module.json, so the next install (and the edit-build-install loop)
 * writes the same block without the flags being typed again.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../core/atomic-file.js';
import { ApxsError } from '../core/errors.js';
import { readJson } from '../core/fs.js';
import { configToken, configUrlPath } from '../httpd/config-values.js';
import type { ModuleName } from './names.js';
import { parseRegistrations, type Registrations } from './registrations.js';

export type LocationDirective = 'SetHandler' | 'SetOutputFilter' | 'SetInputFilter';

export interface ModuleLocation {
  path: string;
  directives: Array<[LocationDirective, string]>;
  /** Open to every client; by default only this machine (the dialect's localOnly lines). */
  public?: boolean;
}

/** Where a location came from, for the report. */
export type LocationSource = 'sources' | 'flags' | 'apxs-ts-module.json';

export interface LocationPlan {
  /** null: no <Location> (the module answers everywhere, or is placed by its own hooks). */
  location: ModuleLocation | null;
  from: LocationSource;
  registers: Registrations;
}

/** The install choices kept in apxs-ts-module.json. */
export interface LocationOverrides {
  /** SetHandler this name instead of what the sources register. */
  handler?: string;
  /** The <Location> path (the manifest's `url`, which `new` sets to /NAME). */
  url?: string;
  /** No <Location> at all. */
  noLocation?: boolean;
  /** true: the <Location> answers everyone (--public); false: only this machine again (--local). */
  public?: boolean;
}

interface ManifestFields {
  handler?: string | null;
  url?: string;
  location?: boolean;
  public?: boolean;
}

const MANIFEST = 'apxs-ts-module.json';

/**
 * The overrides a module's manifest holds. `"handler": null` (what `new`
 * writes, and what older hello manifests say) means the sources decide; a
 * handler module scaffolded before install read its sources has its own
 * name there, which is what its source compares with anyway.
 */
export async function readLocationOverrides(dir: string): Promise<LocationOverrides> {
  const m = (await readJson<ManifestFields>(path.join(dir, MANIFEST))) ?? {};
  return {
    ...(typeof m.handler === 'string' ? { handler: m.handler } : {}),
    ...(typeof m.url === 'string' ? { url: m.url } : {}),
    ...(m.location === false ? { noLocation: true } : {}),
    ...(m.public === true ? { public: true } : {}),
  };
}

/** Refuses contradictory flags and bad values before anything is built or written. */
export function checkLocationFlags(flags: LocationOverrides): void {
  if (flags.noLocation && (flags.handler !== undefined || flags.url !== undefined)) {
    throw new ApxsError('USAGE', '--no-location cannot be combined with --handler or --location', {
      hint: 'choose one: --no-location installs the module without a <Location> block',
    });
  }
  if (flags.handler !== undefined) configToken('handler name', flags.handler);
  if (flags.url !== undefined) configUrlPath('location', flags.url);
}

/**
 * Keeps the flags given in the manifest (other keys untouched); a new --handler or --location lifts
 * an earlier --no-location.
 */
export async function saveLocationOverrides(
  dir: string,
  flags: LocationOverrides,
): Promise<boolean> {
  if (
    flags.handler === undefined &&
    flags.url === undefined &&
    !flags.noLocation &&
    flags.public === undefined
  )
    return false;
  const file = path.join(dir, MANIFEST);
  const manifest = (await readJson<Record<string, unknown>>(file)) ?? {};
  const next: Record<string, unknown> = { ...manifest };
  if (flags.handler !== undefined) next.handler = flags.handler;
  if (flags.url !== undefined) next.url = flags.url;
  if (flags.noLocation) next.location = false;
  else if (flags.handler !== undefined || flags.url !== undefined || manifest.location !== false)
    delete next.location;
  if (flags.public === true) next.public = true;
  else if (flags.public === false) delete next.public;
  if (JSON.stringify(next) === JSON.stringify(manifest)) return false;
  await writeFileAtomic(file, `${JSON.stringify(next, null, 2)}\n`);
  return true;
}

/**
 * Every value as the config writer will check it, before anything is built (a manifest edited by
 * hand included).
 */
function checked(loc: ModuleLocation): ModuleLocation {
  configUrlPath('module url', loc.path);
  for (const [d, v] of loc.directives)
    configToken(d === 'SetHandler' ? 'handler name' : 'filter name', v);
  return loc;
}

/** Handler names a module compares with first: its own name, if it is one of them. */
function pickHandler(reg: Registrations, module: ModuleName): string | undefined {
  return reg.handlers.find((h) => h === module.name || h === module.stem) ?? reg.handlers[0];
}

/**
 * The <Location>: a handler gets SetHandler (and only that: a handler
 * module that also has filters inserts them itself); a filter-only module
 * gets SetOutputFilter and/or SetInputFilter with its first filter of each
 * kind; a module that registers neither gets none.
 */
export function planLocation(
  reg: Registrations,
  module: ModuleName,
  flags: LocationOverrides,
  kept: LocationOverrides,
): LocationPlan {
  // A --handler or --location given now lifts a --no-location kept from before.
  const lifts = flags.handler !== undefined || flags.url !== undefined;
  const noLocation = !!flags.noLocation || (!lifts && !!kept.noLocation);
  const handler = flags.handler ?? kept.handler;
  const at = flags.url ?? kept.url ?? `/${module.name}`;
  const open = (flags.public ?? kept.public) === true ? { public: true } : {};
  if (noLocation)
    return { location: null, from: flags.noLocation ? 'flags' : MANIFEST, registers: reg };
  if (handler !== undefined) {
    return {
      location: checked({ path: at, directives: [['SetHandler', handler]], ...open }),
      from: flags.handler !== undefined ? 'flags' : MANIFEST,
      registers: reg,
    };
  }
  const own = pickHandler(reg, module);
  const out = reg.outputFilters[0];
  const inp = reg.inputFilters[0];
  const directives: ModuleLocation['directives'] =
    own !== undefined
      ? [['SetHandler', own]]
      : [
          ...(out !== undefined ? [['SetOutputFilter', out] as [LocationDirective, string]] : []),
          ...(inp !== undefined ? [['SetInputFilter', inp] as [LocationDirective, string]] : []),
        ];
  if (directives.length > 0)
    return {
      location: checked({ path: at, directives, ...open }),
      from: 'sources',
      registers: reg,
    };
  if (flags.url !== undefined) {
    throw new ApxsError(
      'USAGE',
      `${module.stem} registers no handler or filter: --location ` +
        `${flags.url} would be an empty <Location>`,
      {
        hint: 'name the handler to set there with --handler NAME, or leave --location out',
      },
    );
  }
  return { location: null, from: 'sources', registers: reg };
}

/** What the module's sources register (every source of the project, in build order). */
export async function readRegistrations(dir: string, sources: string[]): Promise<Registrations> {
  return parseRegistrations(
    await Promise.all(sources.map((s) => fs.readFile(path.join(dir, s), 'utf8'))),
  );
}
