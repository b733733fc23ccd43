/**
 * `apxs-ts install` for a module directory: which .so (lib/module/module-so.ts),
 * which <Location> (lib/module/install-location.ts), then the install
 * transaction (lib/module/install.ts). The developer's --handler,
 * --location and --no-location are kept in the manifest once the install
 * succeeded, so a rejected install leaves the module directory as it was too.
 */
import type { ServerRoot } from '../httpd/server-root.js';
import path from 'node:path';
import { buildModule, checkModuleApi, type BuildResult, type ModuleProject } from './compile.js';
import { installModule, type InstallResult } from './install.js';
import {
  checkLocationFlags,
  planLocation,
  readLocationOverrides,
  readRegistrations,
  saveLocationOverrides,
  type LocationOverrides,
  type LocationPlan,
} from './install-location.js';
import { chooseModuleSo, type SoChoice } from './module-so.js';
import type { Toolchain } from './toolchain.js';

export interface ProjectInstallResult extends InstallResult {
  so: Omit<SoChoice, 'build'> & { built: boolean };
  location: LocationPlan['location'];
  locationFrom: LocationPlan['from'];
  registers: LocationPlan['registers'];
  /** Whether apxs-ts-module.json was updated with the flags given. */
  savedOverrides: boolean;
}

export async function installProject(
  sr: ServerRoot,
  project: ModuleProject,
  tc: Toolchain,
  /**
   * check: plan only (--check): no build, no write to the server or to apxs-ts-module.json.
   * built: the build the caller just made (dev's, with its own flags): installed as it is, never
   * rebuilt here. Without it a source saved since that build made install rebuild with the
   * target's flags, and install served a build the caller did not make nor report.
   */
  opts: {
    force?: boolean;
    flags?: LocationOverrides;
    proveConfig?: boolean;
    check?: boolean;
    built?: BuildResult;
  } = {},
): Promise<ProjectInstallResult> {
  const flags = opts.flags ?? {};
  checkLocationFlags(flags);
  // A module of the other module API than this server's is refused here, before anything is
  // compiled or copied.
  checkModuleApi(project, tc);
  const plan = planLocation(
    await readRegistrations(project.dir, project.sources),
    project.module,
    flags,
    await readLocationOverrides(project.dir),
  );
  const choice: SoChoice & { unbuilt?: string } = opts.built
    ? {
        so: opts.built.so,
        madeBy: 'apxs-ts build',
        build: opts.built,
        reason: `${path.basename(opts.built.so)} as the caller's build made it`,
      }
    : await chooseModuleSo(project, () => buildModule(project, tc), { noBuild: opts.check });
  const res = await installModule(
    sr,
    {
      module: project.module,
      so: choice.so,
      location: plan.location,
      force: opts.force,
      proveConfig: opts.proveConfig,
      ...(choice.unbuilt ? { unbuilt: choice.unbuilt } : {}),
    },
    { check: opts.check },
  );
  const savedOverrides = opts.check ? false : await saveLocationOverrides(project.dir, flags);
  const { build, unbuilt: _unbuilt, ...so } = choice;
  return {
    ...res,
    so: { ...so, built: build !== null && !build.upToDate },
    location: plan.location,
    locationFrom: plan.from,
    registers: plan.registers,
    savedOverrides,
  };
}
