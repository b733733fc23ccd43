import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  detectServerRoot,
  findProjectFile,
  resolveServerRootPath,
} from '../../lib/httpd/server-root.js';
import { loadConfTree } from '../../lib/httpd/conf-tree.js';
import { same, statKey } from '../../lib/module/stamp.js';
import { tmpDir } from '../helpers.js';

async function touch(file: string, content = ''): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, content);
}

describe('server roots', () => {
  it('tells a prefix, a Debian layout and a sandbox apart', async () => {
    const d = await tmpDir();
    await touch(path.join(d, 'prefix', 'bin', 'httpd'));
    await touch(path.join(d, 'prefix', 'bin', 'apxs'));
    await touch(path.join(d, 'prefix', 'conf', 'httpd.conf'));
    await touch(path.join(d, 'debian', 'apache2.conf'));
    await fs.mkdir(path.join(d, 'debian', 'mods-available'));
    await touch(
      path.join(d, 'sb', 'apxs-ts-sandbox.json'),
      JSON.stringify({ kind: 'sandbox', httpd: '/usr/sbin/apache2', apxs: '/usr/bin/apxs' }),
    );
    expect(await detectServerRoot(path.join(d, 'prefix'))).toMatchObject({
      kind: 'prefix',
      httpd: path.join(d, 'prefix', 'bin', 'httpd'),
      apxs: path.join(d, 'prefix', 'bin', 'apxs'),
    });
    // A Debian layout that is not the real /etc/apache2 keeps its modules beside it.
    expect(await detectServerRoot(path.join(d, 'debian'))).toMatchObject({
      kind: 'debian',
      configFile: path.join(d, 'debian', 'apache2.conf'),
      modulesDir: path.join(d, 'debian', 'modules'),
    });
    expect(await detectServerRoot(path.join(d, 'sb'))).toMatchObject({
      kind: 'sandbox',
      configFile: path.join(d, 'sb', 'conf', 'httpd.conf'),
    });
    await expect(detectServerRoot(d)).rejects.toThrow(/not a server root apxs-ts knows/);
    await expect(detectServerRoot(path.join(d, 'missing'))).rejects.toThrow(/does not exist/);
    // Not only a missing path: one under a file (ENOTDIR) is no server root either, with the same code.
    await expect(
      detectServerRoot(path.join(d, 'prefix', 'bin', 'httpd', 'x')),
    ).rejects.toMatchObject({ code: 'NO_SERVER_ROOT' });
  });

  it('a stamp input that can no longer be stat()ed (gone, or under a file now) is stale, not an error', async () => {
    const d = await tmpDir();
    await touch(path.join(d, 'file'));
    expect(await statKey(path.join(d, 'file'))).toEqual([expect.any(Number), 0]);
    expect(await statKey(path.join(d, 'gone'))).toBeUndefined();
    expect(await statKey(path.join(d, 'file', 'x'))).toBeUndefined();
    expect(await same(path.join(d, 'file', 'x'), [1, 0])).toBe(false);
  });

  it('finds apxs-ts.json upward and resolves it against its own directory; options and env win', async () => {
    const d = await tmpDir();
    await touch(path.join(d, 'apxs-ts.json'), JSON.stringify({ serverRoot: './srv' }));
    await fs.mkdir(path.join(d, 'a', 'b'), { recursive: true });
    expect((await findProjectFile(path.join(d, 'a', 'b')))?.serverRoot).toBe(path.join(d, 'srv'));
    expect(await resolveServerRootPath('x', d, {})).toBe(path.join(d, 'x'));
    expect(await resolveServerRootPath(undefined, d, { APXS_TS_SERVER_ROOT: '/opt/h' })).toBe(
      '/opt/h',
    );
  });
});

describe('config tree', () => {
  it('expands Include globs relative to ServerRoot, ${VAR}s and IfModule/IfDefine', async () => {
    const d = await tmpDir();
    await touch(
      path.join(d, 'apache2.conf'),
      [
        'ServerRoot ' + d,
        'PidFile ${APACHE_PID_FILE}',
        'Include ports.conf',
        'IncludeOptional sites-enabled/*.conf',
        'IncludeOptional nothing/*.conf',
        '<IfModule ssl_module>',
        '  Listen 443',
        '</IfModule>',
        '<IfModule !ssl_module>',
        '  Listen 8443',
        '</IfModule>',
        'Define X',
        '<IfDefine X>',
        'ErrorLog "/tmp/with space/error.log"',
        '</IfDefine>',
      ].join('\n'),
    );
    await touch(path.join(d, 'ports.conf'), 'Listen 80\n');
    await touch(path.join(d, 'sites-enabled', 'b.conf'), 'Listen 82\n');
    await touch(path.join(d, 'sites-enabled', 'a.conf'), 'Listen \\\n  81\n');
    const tree = await loadConfTree(path.join(d, 'apache2.conf'), {
      env: { APACHE_PID_FILE: '/run/x.pid' },
    });
    const listens = tree.directives
      .filter((x) => x.name === 'Listen')
      .map((x) => [x.args[0], path.basename(x.file), x.line]);
    expect(listens).toEqual([
      ['80', 'ports.conf', 1],
      ['81', 'a.conf', 1],
      ['82', 'b.conf', 1],
      ['8443', 'apache2.conf', 10],
    ]);
    expect(tree.directives.find((x) => x.name === 'PidFile')?.args).toEqual(['/run/x.pid']);
    expect(tree.directives.find((x) => x.name === 'ErrorLog')?.args).toEqual([
      '/tmp/with space/error.log',
    ]);
    expect(tree.errors).toEqual([]);
  });
});
