/** The config reader on httpd's own shipped configs, from the 2.4.68 release in ../shared/mirror (moved from test/unit: it reads ../shared and runs tar). */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseConf } from '../../lib/httpd/conf-parse.js';
import { removeBlock, upsertBlock } from '../../lib/core/marked-block.js';
import { collectVhosts } from '../../lib/sites/vhost-model.js';
import { loadConfTree } from '../../lib/httpd/conf-tree.js';
import { SHARED_MIRROR, tmpDir } from '../helpers.js';

let confDir = '';
let shipped: string[] = [];
beforeAll(async () => {
  const dir = await tmpDir();
  execFileSync('tar', [
    'xzf',
    path.join(SHARED_MIRROR, 'httpd', 'httpd-2.4.68.tar.gz'),
    '-C',
    dir,
    '--wildcards',
    'httpd-2.4.68/docs/conf/*',
  ]);
  confDir = path.join(dir, 'httpd-2.4.68', 'docs', 'conf');
  shipped = [
    path.join(confDir, 'httpd.conf.in'),
    ...(await fs.readdir(path.join(confDir, 'extra')))
      .filter((f) => f.endsWith('.conf.in'))
      .map((f) => path.join(confDir, 'extra', f)),
  ];
});

describe("httpd's shipped configs", () => {
  it('parse without errors, sections balanced', async () => {
    expect(shipped.length).toBeGreaterThanOrEqual(12);
    for (const f of shipped) {
      const p = parseConf(await fs.readFile(f, 'utf8'), f);
      expect(p.errors, f).toEqual([]);
      const opens = p.directives.filter((d) => d.kind === 'open').length;
      expect(p.directives.filter((d) => d.kind === 'close').length, f).toBe(opens);
    }
  });

  it('httpd.conf.in: what httpd would read', async () => {
    const f = path.join(confDir, 'httpd.conf.in');
    const p = parseConf(await fs.readFile(f, 'utf8'), f);
    const byName = (n: string) => p.directives.filter((d) => d.name === n);
    expect(byName('Listen').map((d) => d.args)).toEqual([['@@Port@@']]);
    expect(byName('ServerRoot')[0]!.args).toEqual(['@@ServerRoot@@']);
    // Commented-out lines are not directives: the vhosts Include is shipped commented.
    expect(byName('Include').map((d) => d.args[0])).not.toContain(
      '@rel_sysconfdir@/extra/httpd-vhosts.conf',
    );
    // A quoted argument with spaces and escaped quotes stays one argument.
    const logFormat = byName('LogFormat')[0]!;
    expect(logFormat.args).toEqual([
      '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"',
      'combined',
    ]);
    const files = byName('Files')[0]!;
    expect(files.args).toEqual(['.ht*']);
    expect(
      p.directives.find((d) => d.name === 'Require' && d.sections.includes('Files'))?.args,
    ).toEqual(['all', 'denied']);
  });

  it('httpd-vhosts.conf.in: the two example vhosts, in order', async () => {
    const f = path.join(confDir, 'extra', 'httpd-vhosts.conf.in');
    const tree = await loadConfTree(f, { serverRoot: confDir });
    expect(collectVhosts(tree).map((v) => [v.addresses, v.serverName, v.aliases])).toEqual([
      [['*:@@Port@@'], 'dummy-host.example.com', ['www.dummy-host.example.com']],
      [['*:@@Port@@'], 'dummy-host2.example.com', []],
    ]);
  });

  it('adding and removing a block keeps every other byte of every shipped file', async () => {
    for (const f of shipped) {
      const text = await fs.readFile(f, 'utf8');
      const p = parseConf(text, f);
      const lastLine = p.directives[p.directives.length - 1]!.endLine;
      const at = text.split('\n').slice(0, lastLine).join('\n').length + 1;
      const added = upsertBlock(text, 'x', ['Listen 1'], Math.min(at, text.length));
      expect(parseConf(added, f).directives.length).toBe(p.directives.length + 1);
      expect(removeBlock(added, 'x')).toBe(text);
    }
  });
});
