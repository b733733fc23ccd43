/** vhost check through the built CLI (moved from test/unit: it spawns the CLI). */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, cli, tmpDir } from '../helpers.js';

const FIX = path.join(ROOT, 'fixtures', 'vhost-check');

describe('vhost check CLI', () => {
  it('the CLI prints findings with file:line and exits 1', async () => {
    const dir = await tmpDir();
    const file = path.join(dir, 'c.conf');
    await fs.writeFile(
      file,
      (await fs.readFile(path.join(FIX, 'mismatch-22.conf'), 'utf8')).replaceAll('@@dir@@', dir),
    );
    const r = await cli([
      'vhost',
      'check',
      '--config',
      file,
      '--httpd-version',
      '2.2',
      '--hosts-file',
      path.join(FIX, 'hosts'),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${file}:2: warning: NameVirtualHost *:80 has no VirtualHosts`);
    expect(r.stderr).toContain('fix: ');
  });
});
