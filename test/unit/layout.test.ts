/** Where a layout puts a module's lines in the main config. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EditTransaction } from '../../lib/core/edit-transaction.js';
import { LAYOUTS } from '../../lib/httpd/layout.js';
import { tmpDir } from '../helpers.js';

async function enable(conf: string): Promise<string> {
  const root = await tmpDir();
  const configFile = path.join(root, 'httpd.conf');
  await fs.writeFile(configFile, conf);
  const sr = { root, configFile, modulesDir: path.join(root, 'modules'), envvars: undefined };
  await LAYOUTS.prefix.enableModule(new EditTransaction(), sr, {
    name: 'x',
    load: ['LoadModule x_module libexec/mod_x.so'],
    conf: [],
  });
  return fs.readFile(configFile, 'utf8');
}

const BLOCK =
  '# BEGIN apxs-ts module x\nLoadModule x_module libexec/mod_x.so\n# END apxs-ts module x\n';

describe('main-config layouts put LoadModule where apxs -a does', () => {
  it.each([
    [
      'after the last LoadModule',
      'Listen 80\nLoadModule a_module modules/mod_a.so\nLoadModule b_module modules/mod_b.so\nServerName x\n',
      3,
    ],
    [
      "after 1.3's ClearModuleList and AddModule lines: before them the module is inactive",
      'LoadModule a_module libexec/mod_a.so\nClearModuleList\nAddModule mod_so.c\nAddModule mod_a.c\nPort 80\n',
      4,
    ],
    ['at the end when there is no LoadModule', 'Listen 80\n', 1],
  ])('%s', async (_what, conf, afterLine) => {
    const lines = conf.split('\n');
    expect(await enable(conf)).toBe(
      [
        ...lines.slice(0, afterLine),
        ...BLOCK.split('\n').slice(0, -1),
        ...lines.slice(afterLine),
      ].join('\n'),
    );
  });
});
