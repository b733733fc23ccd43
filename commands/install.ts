import { readModuleProject } from '../lib/module/compile.js';
import { uninstallModule } from '../lib/module/install.js';
import { installProject } from '../lib/module/install-project.js';
import { parseModuleName } from '../lib/module/names.js';
import { targetServerRoot } from './server-root.js';
import { warningLines } from './output.js';
import { toolchainForServer } from '../lib/module/toolchain.js';
import type { ChangeOptions } from '../lib/core/change-report.js';
import type { InstallResult } from '../lib/module/install.js';
import { moduleState } from '../lib/module/module-state.js';
import type { ServerRoot } from '../lib/httpd/server-root.js';
import { editChangeData } from './change-output.js';
import type { Outcome } from './types.js';

/**
 * The JSON of install and uninstall: editChangeData's, and the module's `state` as read back
 * (lib/module/module-state.ts).
 */
async function changeData(
  sr: ServerRoot,
  res: InstallResult,
  msg: string,
  o: ChangeOptions,
  symbolOf: string | undefined,
): Promise<{ data: Record<string, unknown>; stdout: string[] | undefined }> {
  // Any change to a module's files needs a running server's graceful to apply.
  const { data, stdout } = await editChangeData(sr, res, msg, o, res.didChange);
  const state = await moduleState(sr, res.module, { soSymbol: symbolOf });
  return { data: { ...data, state }, stdout };
}

export async function install(
  dir: string,
  o: {
    serverRoot?: string;
    force?: boolean;
    handler?: string;
    location?: string | boolean;
    public?: boolean;
    local?: boolean;
  } & ChangeOptions,
): Promise<Outcome> {
  const project = await readModuleProject(dir);
  const sr = await targetServerRoot(o, { writes: true });
  const tc = await toolchainForServer(sr);
  // commander turns --no-location into location: false, and a given --location into its string.
  const flags = {
    handler: o.handler,
    url: typeof o.location === 'string' ? o.location : undefined,
    noLocation: o.location === false,
    public: o.public ? true : o.local ? false : undefined,
  };
  const res = await installProject(sr, project, tc, { force: o.force, flags, check: o.check });
  const stem = project.module.stem;
  const soLine = res.so.built
    ? `built ${res.so.so} (${res.so.reason})`
    : res.so.madeBy === 'another tool'
      ? `installing ${res.so.so}: ${res.so.reason}`
      : `installing ${res.so.so} (${res.so.reason})`;
  const loc = res.location;
  const locLine = loc
    ? `<Location ${loc.path}> ${loc.directives.map(([d, v]) => `${d} ${v}`).join(', ')} ` +
      `(from ${res.locationFrom === 'flags' ? 'the flags given' : res.locationFrom})`
    : 'no <Location>' +
      (res.locationFrom === 'sources'
        ? ': the sources compare r->handler with no name and register no filter'
        : ` (from ${res.locationFrom === 'flags' ? '--no-location' : res.locationFrom})`);
  const would = o.check ? 'would install' : 'installed';
  const msg = res.didChange
    ? `${would} ${stem} into ${sr.root} ` +
      `(${sr.kind})` +
      (res.changed.length
        ? `; ${o.check ? 'would change' : 'changed'} ${res.changed.join(', ')}`
        : '')
    : `${stem} is already installed in ${sr.root}: nothing ${o.check ? 'would change' : 'changed'}`;
  const { data, stdout } = await changeData(sr, res, msg, o, project.module.symbol);
  return {
    data,
    stdout,
    human: [
      soLine,
      ...(!res.didChange
        ? [msg]
        : [
            msg,
            locLine,
            ...(res.backups.length ? [`backups: ${res.backups.join(', ')}`] : []),
            ...(res.savedOverrides
              ? [`kept in ${project.dir}/apxs-ts-module.json for the next install`]
              : []),
            ...(o.check
              ? []
              : [`reload the server to use it: apxs-ts ctl graceful --server-root ${sr.root}`]),
          ]),
      ...warningLines(res.warnings),
    ],
  };
}

export async function uninstall(
  name: string,
  o: { serverRoot?: string } & ChangeOptions,
): Promise<Outcome> {
  const module = parseModuleName(name);
  const sr = await targetServerRoot(o, { writes: true });
  const res = await uninstallModule(sr, module, { check: o.check });
  const msg = res.alreadyAbsent
    ? `${module.stem} is not installed in ${sr.root} (already absent): ` +
      `nothing ${o.check ? 'would change' : 'changed'}`
    : res.didChange
      ? `${o.check ? 'would remove' : 'removed'} ${module.stem} from ${sr.root}; ` +
        `${o.check ? 'would change' : 'changed'} ${res.changed.join(', ')}`
      : `${module.stem}: nothing ${o.check ? 'would change' : 'changed'}`;
  const { data, stdout } = await changeData(sr, res, msg, o, undefined);
  return { data, stdout, human: [msg, ...warningLines(res.warnings)] };
}
