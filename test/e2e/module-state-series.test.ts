/**
 * install's `state` (lib/module/module-state.ts, #23) on the httpd builds of
 * test/series-builds.ts: the identifier read from the built .so's module
 * record, enabled from the config, and "loaded" confirmed by httpd's own
 * `-t -D DUMP_MODULES` where the series has it (2.2), said not confirmable
 * where it does not (1.3, 2.0: their -l lists only compiled-in modules).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli, tmpDir } from '../helpers.js';
import { builtHttpd, withBuiltHttpd } from '../series-builds.js';

describe.each(['1.3.42', '2.0.65', '2.2.34'])('module state on httpd %s', (version) => {
  it('installed, identifier from the .so, enabled; loaded confirmed by httpd on 2.2, null (not confirmable) before', async () => {
    await builtHttpd(version);
    await withBuiltHttpd(version, async ({ prefix }) => {
      const work = await tmpDir('apxs-ts-modstate-');
      const made = await cli(['new', 'mstate', '--server-root', prefix, '--dir', work]);
      expect(made.code, made.stderr).toBe(0);
      const dir = path.join(work, 'mod_mstate');
      const conf = path.join(prefix, 'conf', 'httpd.conf');
      const confBefore = await fs.readFile(conf);
      try {
        const inst = await cli(['install', '--server-root', prefix, '--json'], { cwd: dir });
        expect(inst.code, inst.stderr).toBe(0);
        const confirmable = version.startsWith('2.2.');
        expect(inst.json.state).toMatchObject({
          installed: true,
          identifier: 'mstate_module',
          enabled: true,
          loaded: confirmable ? true : null,
        });
        expect(inst.json.state.loadedNote).toMatch(
          confirmable ? /^httpd -t -D DUMP_MODULES$/ : /no DUMP_MODULES/,
        );
        const un = await cli(['uninstall', 'mstate', '--server-root', prefix, '--json']);
        expect(un.code, un.stderr).toBe(0);
        expect(un.json.state).toMatchObject({
          installed: false,
          identifier: null,
          enabled: false,
          loaded: confirmable ? false : null,
        });
      } finally {
        await cli(['uninstall', 'mstate', '--server-root', prefix]);
        await fs.writeFile(conf, confBefore);
      }
    });
  }, 600_000);
});
