/** vhost check on fixture configs: one finding per mistake, with file:line and the fix. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfTree } from '../../lib/httpd/conf-tree.js';
import { hostsList } from '../../lib/sites/hosts-file.js';
import type { Series } from '../../lib/httpd/version.js';
import { RULES, checkVhosts, listVhosts } from '../../lib/sites/vhost-rules.js';
import { gatherFacts, ruleContext } from '../../lib/sites/vhost-rules/context.js';
import { httpdSyntaxErrors } from '../../lib/sites/vhost-rules/httpd-s.js';
import { collectVhosts } from '../../lib/sites/vhost-model.js';
import { syncNameVirtualHost, vhostBlock } from '../../lib/sites/vhost-edit.js';
import { upsertBlock, removeBlock } from '../../lib/core/marked-block.js';
import { ROOT, tmpDir } from '../helpers.js';

const FIX = path.join(ROOT, 'fixtures', 'vhost-check');

async function check(fixture: string, series: Series) {
  const dir = await tmpDir();
  await fs.mkdir(path.join(dir, 'one'));
  await fs.mkdir(path.join(dir, 'two'));
  const file = path.join(dir, fixture);
  await fs.writeFile(
    file,
    (await fs.readFile(path.join(FIX, fixture), 'utf8')).replaceAll('@@dir@@', dir),
  );
  const hostsFile = path.join(FIX, 'hosts');
  const tree = await loadConfTree(file, { serverRoot: dir });
  const res = await checkVhosts({ tree, series, hosts: await hostsList(hostsFile), hostsFile });
  return { ...res, file, dir, codes: res.findings.map((f) => `${f.code}@${f.line}`) };
}

/** The context one rule sees, for a config given as text (@@dir@@ is a temp dir holding one/ and two/). */
async function contextOf(
  text: string,
  series: Series,
  extraNames: string[] = [],
  httpdS?: { exitCode: number; output: string },
) {
  const dir = await tmpDir();
  await fs.mkdir(path.join(dir, 'one'));
  await fs.mkdir(path.join(dir, 'two'));
  const file = path.join(dir, 'c.conf');
  await fs.writeFile(file, text.replaceAll('@@dir@@', dir));
  const tree = await loadConfTree(file, { serverRoot: dir });
  const vhosts = collectVhosts(tree);
  const hosts = [
    {
      ip: '127.0.0.1',
      names: ['one.dd', 'two.dd', 'default.dd', ...extraNames],
      line: 1,
      managed: true,
    },
  ];
  const s = httpdS && { ...httpdS, output: httpdS.output.replaceAll('@@file@@', file) };
  return ruleContext(
    { tree, series, hosts, hostsFile: 'hosts', configFile: file, httpdS: s },
    await gatherFacts(vhosts),
    vhosts,
  );
}

const vh = (addr: string, name: string, extra = '') =>
  `<VirtualHost ${addr}>\n    ServerName ${name}\n    DocumentRoot @@dir@@/one\n${extra}</VirtualHost>\n`;

/** One row per rule: a small config that trips it, and the one finding it gives. */
const RULE_TABLE: {
  rule: string;
  series: Series;
  config: string;
  code: string;
  hosts?: string[];
  httpdS?: { exitCode: number; output: string };
}[] = [
  {
    rule: 'syntax',
    series: '2.4',
    config: '<VirtualHost *:80>\n    ServerName one.dd\n',
    code: 'SYNTAX@1',
  },
  {
    rule: 'nameVirtualHostOn24',
    series: '2.4',
    config: `NameVirtualHost *:80\n${vh('*:80', 'one.dd')}`,
    code: 'NAMEVIRTUALHOST_ON_24@1',
  },
  {
    rule: 'nameVirtualHostUnused',
    series: '2.2',
    config: `NameVirtualHost *:80\n${vh('127.0.0.1:80', 'one.dd')}`,
    code: 'NAMEVIRTUALHOST_UNUSED@1',
  },
  {
    rule: 'nameVirtualHostMissing',
    series: '1.3',
    config: `${vh('*:80', 'one.dd')}${vh('*:80', 'two.dd')}`,
    code: 'NAMEVIRTUALHOST_MISSING@5',
  },
  {
    rule: 'mixedWildcardPorts',
    series: '2.2',
    config: `${vh('*:80', 'one.dd')}${vh('*', 'two.dd')}`,
    code: 'MIXED_WILDCARD_PORTS@5',
  },
  {
    rule: 'wildcardShadowed',
    series: '2.4',
    config: `${vh('*:80', 'one.dd')}${vh('*', 'two.dd')}`,
    code: 'WILDCARD_SHADOWED@5',
  },
  {
    rule: 'duplicateName',
    series: '2.4',
    config: `${vh('*:80', 'one.dd')}${vh('*:80', 'one.dd')}`,
    code: 'DUPLICATE_NAME@5',
  },
  {
    rule: 'nameNotResolved',
    series: '2.4',
    config: vh('*:80', 'nowhere.dd'),
    code: 'NAME_NOT_RESOLVED@1',
  },
  {
    rule: 'nameWrongAddress',
    series: '2.4',
    config: vh('10.0.0.5:80', 'one.dd'),
    code: 'NAME_WRONG_ADDRESS@1',
  },
  {
    rule: 'nameFallsToDefault',
    series: '2.4',
    config: `${vh('*:80', 'default.dd')}${vh('*:80', 'www.one.dd')}`,
    code: 'NAME_FALLS_TO_DEFAULT@5',
    hosts: ['www.one.dd'],
  },
  {
    rule: 'docrootMissing',
    series: '2.4',
    config:
      '<VirtualHost *:80>\n    ServerName one.dd\n    DocumentRoot @@dir@@/not-there\n</VirtualHost>\n',
    code: 'DOCROOT_MISSING@1',
  },
  {
    rule: 'docrootNotGranted',
    series: '2.4',
    config: `<Directory />\n    Require all denied\n</Directory>\n${vh('*:80', 'one.dd')}`,
    code: 'DOCROOT_NOT_GRANTED@4',
  },
  {
    rule: 'docrootNotGranted',
    series: '2.2',
    config: `<Directory />\n    Order deny,allow\n    Deny from all\n</Directory>\n${vh('*:80', 'one.dd')}`,
    code: 'DOCROOT_NOT_GRANTED@5',
  },
  {
    rule: 'docrootNotGranted',
    series: '2.4',
    config: `LoadModule access_compat_module m.so\n<Directory />\n    Require all denied\n</Directory>\n<Directory @@dir@@>\n    Order allow,deny\n    Allow from all\n</Directory>\n${vh('*:80', 'one.dd')}<Directory @@dir@@/one>\n    Require all denied\n</Directory>\n`,
    code: 'DOCROOT_NOT_GRANTED@9',
  },
  {
    rule: 'access22On24',
    series: '2.4',
    config: vh('*:80', 'one.dd', '    <Location />\n        Deny from all\n    </Location>\n'),
    code: 'ACCESS_22_ON_24@5',
  },
  {
    rule: 'httpdRejects',
    series: '2.4',
    config: vh('*:80', 'one.dd', '    Frobnicate on\n'),
    code: 'HTTPD_REJECTS@4',
    httpdS: {
      exitCode: 1,
      output:
        "AH00526: Syntax error on line 4 of @@file@@:\nInvalid command 'Frobnicate', perhaps misspelled or defined by a module not included in the server configuration",
    },
  },
  {
    rule: 'httpdVhostWarnings',
    series: '2.2',
    config: `${vh('_default_:80', 'one.dd')}${vh('_default_:80', 'two.dd')}`,
    code: 'HTTPD_VHOST_WARNING@5',
    httpdS: {
      exitCode: 0,
      output:
        '[Tue Jan 02 10:00:00 2024] [warn] _default_ VirtualHost overlap on port 80, the first has precedence\nVirtualHost configuration:',
    },
  },
];

describe('vhost check rules, one by one', () => {
  it('docrootNotGranted: a grant by Order/Allow (2.4 with mod_access_compat, or 2.2) under a denied <Directory /> is a grant', async () => {
    const grant = (lines: string) =>
      `<Directory />\n    Require all denied\n    Order deny,allow\n    Deny from all\n</Directory>\n<Directory @@dir@@>\n${lines}</Directory>\n${vh('*:80', 'one.dd')}`;
    const run = async (config: string, series: Series) =>
      RULES.find((r) => r.name === 'docrootNotGranted')!.run(await contextOf(config, series));
    expect(
      await run(
        `LoadModule access_compat_module m.so\n${grant('    Order allow,deny\n    Allow from all\n')}`,
        '2.4',
      ),
    ).toEqual([]);
    expect(await run(grant('    Order allow,deny\n    Allow from all\n'), '2.2')).toEqual([]);
    expect(await run(grant('    Require all granted\n'), '2.4')).toEqual([]);
    expect((await run(grant('    Options None\n'), '2.2')).map((f) => f.code)).toEqual([
      'DOCROOT_NOT_GRANTED',
    ]);
  });

  it('every rule has a row in the table', () => {
    expect([...new Set(RULE_TABLE.map((r) => r.rule))].sort()).toEqual(
      RULES.map((r) => r.name).sort(),
    );
  });

  it.each(RULE_TABLE)('$rule: $code', async ({ rule, series, config, code, hosts, httpdS }) => {
    const ctx = await contextOf(config, series, hosts, httpdS);
    const found = RULES.find((r) => r.name === rule)!.run(ctx);
    expect(found.map((f) => `${f.code}@${f.line}`)).toEqual([code]);
    // Every other rule is silent on this config: the row tests this rule alone.
    const others = RULES.filter((r) => r.name !== rule).flatMap((r) => r.run(ctx));
    expect(others.map((f) => f.code)).toEqual([]);
  });
});

describe('vhost check', () => {
  it('the 2.2 two-site setup (NameVirtualHost * and <VirtualHost *>) is right for 2.2', async () => {
    const r = await check('two-sites-22.conf', '2.2');
    expect(r.codes).toEqual([]);
    expect(
      listVhosts(r.vhosts, 80, '2.2').map((v) => [v.serverName, v.address, v.isDefault]),
    ).toEqual([
      ['one.dd', '*:80', true],
      ['two.dd', '*:80', false],
    ]);
  });

  it('the same setup on 2.4: NameVirtualHost is AH00548 and Order/Allow need mod_access_compat', async () => {
    const r = await check('two-sites-22.conf', '2.4');
    expect(r.codes).toEqual(['NAMEVIRTUALHOST_ON_24@3', 'ACCESS_22_ON_24@9', 'ACCESS_22_ON_24@10']);
    const f = r.findings[0]!;
    expect(f.message).toBe(
      'AH00548: NameVirtualHost has no effect and will be removed in the next release',
    ); // the location is f.file:f.line, printed once
    expect([f.file, f.line]).toEqual([r.file, 3]);
    expect(f.fix).toBe('delete "NameVirtualHost *"');
    expect(r.findings[1]!.fix).toMatch(/Require all granted/);
  });

  it('NameVirtualHost *:80 with <VirtualHost *> blocks: no VirtualHosts, and mixed * forms', async () => {
    const r = await check('mismatch-22.conf', '2.2');
    expect(r.codes).toEqual(['NAMEVIRTUALHOST_UNUSED@2', 'MIXED_WILDCARD_PORTS@4']);
    expect(r.findings[0]!.message).toBe('NameVirtualHost *:80 has no VirtualHosts');
    expect(r.findings[0]!.fix).toContain('exactly "*:80"');
    expect(r.findings[1]!.message).toBe(
      'mixing * ports and non-* ports with a NameVirtualHost address is not supported, proceeding with undefined results',
    );
  });

  it('mixing *:80 and * in VirtualHost blocks', async () => {
    const r = await check('mixed-ports.conf', '2.2');
    expect(r.codes).toEqual(['MIXED_WILDCARD_PORTS@7']);
    expect(r.findings[0]!.explanation).toContain(':7');
  });

  it('hosts maps one.dd but the vhost says www.one.dd: requests fall to the default vhost', async () => {
    const r = await check('www-name.conf', '2.4');
    expect(r.codes).toEqual(['NAME_NOT_RESOLVED@6', 'NAME_FALLS_TO_DEFAULT@6']);
    const fall = r.findings.find((f) => f.code === 'NAME_FALLS_TO_DEFAULT')!;
    expect(fall.message).toContain(
      'maps one.dd, but the vhost says www.one.dd: requests for one.dd fall to the default vhost',
    );
    expect(fall.explanation).toContain(`default.dd at ${r.file}:2`);
    expect(fall.fix).toContain('ServerAlias one.dd');
  });

  it('the same name in two vhosts', async () => {
    const r = await check('duplicate-name.conf', '2.4');
    expect(r.codes).toEqual(['DUPLICATE_NAME@6']);
    expect(r.findings[0]!.message).toBe(
      `one.dd is named by two vhosts on *:80: ${r.file}:2 and ${r.file}:6`,
    );
  });

  it('a missing DocumentRoot', async () => {
    const r = await check('missing-docroot.conf', '2.4');
    expect(r.codes).toEqual(['DOCROOT_MISSING@2']);
    expect(r.findings[0]!.fix).toBe(`mkdir -p ${r.dir}/not-there`);
  });

  it('2.2 access directives on 2.4, fine on 2.2', async () => {
    expect((await check('access-22-on-24.conf', '2.4')).codes).toEqual([
      'ACCESS_22_ON_24@6',
      'ACCESS_22_ON_24@7',
    ]);
    expect((await check('access-22-on-24.conf', '2.2')).codes).toEqual([]);
  });

  it('what vhost add writes for 2.2 passes check on 2.2', async () => {
    const dir = await tmpDir();
    await fs.mkdir(path.join(dir, 'one'));
    const file = path.join(dir, 'v.conf');
    await fs.writeFile(
      file,
      [
        'Listen 80',
        'NameVirtualHost *:80',
        ...vhostBlock('2.2', '*:80', 'one.dd', [], path.join(dir, 'one')),
      ].join('\n'),
    );
    const tree = await loadConfTree(file);
    const r = await checkVhosts({
      tree,
      series: '2.2',
      hosts: await hostsList(path.join(FIX, 'hosts')),
      hostsFile: 'hosts',
    });
    expect(r.findings).toEqual([]);
    expect(collectVhosts(tree)[0]!.body.some((d) => d.name === 'Order')).toBe(true);
  });

  it('keeps one NameVirtualHost per VirtualHost address for 2.2, none for 2.4', () => {
    let text = '# header\n';
    text = upsertBlock(
      text,
      'vhost a.dd',
      vhostBlock('2.2', '127.0.0.1:8080', 'a.dd', [], '/a'),
      text.length,
    );
    text = upsertBlock(
      text,
      'vhost b.dd',
      vhostBlock('2.2', '127.0.0.1:8080', 'b.dd', [], '/b'),
      text.length,
    );
    const v22 = syncNameVirtualHost(text, '2.2');
    expect(v22.match(/^NameVirtualHost .*$/gm)).toEqual(['NameVirtualHost 127.0.0.1:8080']);
    expect(syncNameVirtualHost(v22, '2.4')).toBe(text);
    expect(
      syncNameVirtualHost(removeBlock(removeBlock(v22, 'vhost a.dd'), 'vhost b.dd'), '2.2'),
    ).toBe('# header\n');
  });
});

/** checkVhosts of a config text with what httpd -S printed for it (@@file@@ is the config's path). */
async function checkWithS(text: string, series: Series, exitCode: number, output: string) {
  const dir = await tmpDir();
  await fs.mkdir(path.join(dir, 'one'));
  const file = path.join(dir, 'c.conf');
  await fs.writeFile(file, text.replaceAll('@@dir@@', dir));
  const tree = await loadConfTree(file, { serverRoot: dir });
  const hosts = [{ ip: '127.0.0.1', names: ['one.dd', 'two.dd'], line: 1, managed: true }];
  const r = await checkVhosts({
    tree,
    series,
    hosts,
    hostsFile: 'hosts',
    configFile: file,
    httpdS: { exitCode, output: output.replaceAll('@@file@@', file) },
  });
  return { ...r, file, codes: r.findings.map((f) => `${f.code}@${f.line}`) };
}

describe('vhost check with httpd -S', () => {
  it("a directive httpd -S rejects (our reader does not know it) is an error at httpd's file:line", async () => {
    const r = await checkWithS(
      vh('*:80', 'one.dd', '    Frobnicate on\n'),
      '2.4',
      1,
      "AH00526: Syntax error on line 4 of @@file@@:\nInvalid command 'Frobnicate', perhaps misspelled or defined by a module not included in the server configuration",
    );
    expect(r.codes).toEqual(['HTTPD_REJECTS@4']);
    const f = r.findings[0]!;
    expect(f).toMatchObject({
      severity: 'error',
      file: r.file,
      message: expect.stringContaining("Invalid command 'Frobnicate'"),
    });
    expect(f.explanation).toContain('not a directive httpd knows');
  });

  it("finds the innermost file:line when httpd nests the Include's location on one line", () => {
    expect(
      httpdSyntaxErrors(
        'apache2: Syntax error on line 50 of /s/conf/httpd.conf: Syntax error on line 4 of /s/conf/v.conf: /s/conf/v.conf:4: <VirtualHost> was not closed.',
      ),
    ).toEqual([{ file: '/s/conf/v.conf', line: 4, message: '<VirtualHost> was not closed.' }]);
  });

  it('httpd -S failing with no file:line is still an error, at the config file', async () => {
    const r = await checkWithS(
      vh('*:80', 'one.dd'),
      '2.4',
      1,
      'AH00543: httpd: bad user name nobody-here',
    );
    expect(r.findings.map((f) => [f.code, f.file, f.line, f.message])).toEqual([
      ['HTTPD_REJECTS', r.file, 0, 'AH00543: httpd: bad user name nobody-here'],
    ]);
  });

  it('what httpd -S says that one of our findings already says is reported once', async () => {
    const nvh = await checkWithS(
      `NameVirtualHost *:80\n${vh('*:80', 'one.dd')}`,
      '2.4',
      0,
      'AH00548: NameVirtualHost has no effect and will be removed in the next release @@file@@:1\nVirtualHost configuration:',
    );
    expect(nvh.codes).toEqual(['NAMEVIRTUALHOST_ON_24@1']);
    const order = await checkWithS(
      vh('*:80', 'one.dd', '    <Location />\n        Order allow,deny\n    </Location>\n'),
      '2.4',
      1,
      "AH00526: Syntax error on line 5 of @@file@@:\nInvalid command 'Order', perhaps misspelled or defined by a module not included in the server configuration",
    );
    expect(order.codes).toEqual(['ACCESS_22_ON_24@5']);
  });

  it('vhost warnings of httpd -S are findings: AH00548 from a 2.4 httpd for a config checked as 2.2, 2.2\'s "has no VirtualHosts" at its line', async () => {
    const on24 = await checkWithS(
      `NameVirtualHost *:80\n${vh('*:80', 'one.dd')}`,
      '2.2',
      0,
      '[Tue Jan 02 10:00:00.1 2024] [core:warn] [pid 7] AH00548: NameVirtualHost has no effect and will be removed in the next release @@file@@:1',
    );
    expect(on24.findings.map((f) => [f.code, f.severity, f.line, f.message])).toEqual([
      [
        'HTTPD_VHOST_WARNING',
        'warning',
        1,
        `AH00548: NameVirtualHost has no effect and will be removed in the next release ${on24.file}:1`,
      ],
    ]);
    const on22 = await checkWithS(
      `Listen 80\nNameVirtualHost 10.0.0.1:80\n${vh('*:80', 'one.dd')}`,
      '2.2',
      0,
      '[Tue Jan 02 10:00:00 2024] [warn] NameVirtualHost 10.0.0.1:80 has no VirtualHosts',
    );
    expect(on22.codes).toEqual(['NAMEVIRTUALHOST_UNUSED@2']); // ours, in httpd's words: once
    const overlap = await checkWithS(
      `Listen 80\n${vh('10.0.0.1:80', 'one.dd')}${vh('10.0.0.1:80', 'two.dd')}`,
      '2.2',
      0,
      '[Tue Jan 02 10:00:00 2024] [warn] VirtualHost 10.0.0.1:80 overlaps with VirtualHost 10.0.0.1:80, the first has precedence, perhaps you need a NameVirtualHost directive',
    );
    // Our rule says it at the same line, in words that name the fix: httpd's warning is not repeated.
    expect(overlap.codes.filter((c) => /NAMEVIRTUALHOST|HTTPD_VHOST/.test(c))).toEqual([
      'NAMEVIRTUALHOST_MISSING@6',
    ]);
  });
});
