import { readModuleProject } from '../lib/module/compile.js';
import { uninstallModule } from '../lib/module/install.js';
import { installProject } from '../lib/module/install-project.js';
import { parseModuleName } from '../lib/module/names.js';
import { targetServerRoot } from './server-root.js';
import { warningLines } from './output.js';
import { toolchainForServer } from '../lib/module/toolchain.js';
import type { Outcome } from './types.js';

export async function install(
  dir: string,
  o: {
    serverRoot?: string;
    force?: boolean;
    handler?: string;
    location?: string | boolean;
    public?: boolean;
    local?: boolean;
  },
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
  const res = await installProject(sr, project, tc, { force: o.force, flags });
  const stem = project.module.stem;
  const soLine = res.so.built
    ? `built ${res.so.so} (${res.so.reason})`
    : res.so.madeBy === 'another tool'
      ? `installing ${res.so.so}: ${res.so.reason}`
      : `installing ${res.so.so} (${res.so.reason})`;
  const loc = res.location;
  const locLine = loc
    ? `<Location ${loc.path}> ${loc.directives.map(([d, v]) => `${d} ${v}`).join(', ')} (from ${res.locationFrom === 'flags' ? 'the flags given' : res.locationFrom})`
    : `no <Location>${res.locationFrom === 'sources' ? ': the sources compare r->handler with no name and register no filter' : ` (from ${res.locationFrom === 'flags' ? '--no-location' : res.locationFrom})`}`;
  return {
    data: { ...res },
    human: [
      soLine,
      ...(res.changed.length === 0
        ? [`${stem} is already installed in ${sr.root}: nothing changed`]
        : [
            `installed ${stem} into ${sr.root} (${sr.kind}); changed ${res.changed.join(', ')}`,
            locLine,
            ...(res.backups.length ? [`backups: ${res.backups.join(', ')}`] : []),
            ...(res.savedOverrides
              ? [`kept in ${project.dir}/apxs-ts-module.json for the next install`]
              : []),
            `reload the server to use it: apxs-ts ctl graceful --server-root ${sr.root}`,
          ]),
      ...warningLines(res.warnings),
    ],
  };
}

export async function uninstall(name: string, o: { serverRoot?: string }): Promise<Outcome> {
  const module = parseModuleName(name);
  const sr = await targetServerRoot(o, { writes: true });
  const res = await uninstallModule(sr, module);
  return {
    data: { ...res },
    human: [
      `removed ${module.stem} from ${sr.root}; changed ${res.changed.join(', ')}`,
      ...warningLines(res.warnings),
    ],
  };
}
