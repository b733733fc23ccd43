/** Release names, checksum formats, safe extraction, the Listen edit (the shipped files and signatures: test/e2e/source-files.test.ts). */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApxsError } from '../../lib/core/errors.js';
import { checkPrefix, setListen } from '../../lib/source/build.js';
import { cacheFsError, checkCacheDir, removeFromCache } from '../../lib/source/cache.js';
import { parseChecksum } from '../../lib/source/checksum.js';
import { extractTarball } from '../../lib/source/extract.js';
import { checkPrereqs, requirementsFor } from '../../lib/source/prereqs.js';
import { linksOf, pickRelease, releasesFrom } from '../../lib/source/versions.js';
import { tmpDir } from '../helpers.js';
import { makeTarGz } from '../tar-writer.js';

const NAMES = [
  'apache_1.3.41.tar.gz',
  'apache_1.3.42.tar.gz',
  'apache_1.3.42.tar.gz.asc',
  'httpd-2.0.65.tar.bz2',
  'httpd-2.0.65.tar.gz',
  'httpd-2.2.34.tar.bz2',
  'httpd-2.2.34-deps.tar.bz2',
  'httpd-2.4.9.tar.gz',
  'httpd-2.4.10.tar.gz',
  'httpd-2.4.68.tar.gz',
  'httpd-2.4.68.tar.gz.sha512',
  'httpd-2.4.68-deps.tar.gz',
  'KEYS',
  'httpd-3.0.0.tar.gz',
  'patches/',
];

describe('releases', () => {
  it('reads an Apache autoindex page', () => {
    const html =
      '<tr><td><a href="?C=N;O=D">Name</a></td></tr><tr><td><a href="/dist/">Parent Directory</a></td></tr><tr><td><a href="httpd-2.4.68.tar.gz">httpd-2.4.68.tar.gz</a></td></tr><a href="KEYS">KEYS</a>';
    expect(linksOf(html)).toEqual(['httpd-2.4.68.tar.gz', 'KEYS']);
  });
  it('lists releases newest first, preferring .gz, with their deps tarballs', () => {
    const r = releasesFrom(NAMES);
    expect(r.map((x) => x.version)).toEqual([
      '2.4.68',
      '2.4.10',
      '2.4.9',
      '2.2.34',
      '2.0.65',
      '1.3.42',
      '1.3.41',
    ]);
    expect(r.find((x) => x.version === '2.0.65')!.file).toBe('httpd-2.0.65.tar.gz');
    expect(r.find((x) => x.version === '2.2.34')).toMatchObject({
      file: 'httpd-2.2.34.tar.bz2',
      depsFile: 'httpd-2.2.34-deps.tar.bz2',
    });
    expect(r.find((x) => x.version === '1.3.42')).toMatchObject({
      series: '1.3',
      file: 'apache_1.3.42.tar.gz',
    });
  });
  it.each([
    ['2.4.10', '2.4.10'],
    ['2.4', '2.4.68'],
    ['latest', '2.4.68'],
    ['1.3', '1.3.42'],
    ['2.2', '2.2.34'],
  ])('picks %s -> %s', (want, got) => {
    expect(pickRelease(releasesFrom(NAMES), want).version).toBe(got);
  });
  it('names what the mirror has when the version is not there', () => {
    expect(() => pickRelease(releasesFrom(NAMES), '2.4.99')).toThrow(/no httpd release 2\.4\.99/);
    expect(() => pickRelease(releasesFrom(NAMES), '2.4.68; rm -rf /')).toThrow(/bad version/);
  });
  it('its hints list the same mirror the release was looked for on (#18 item 1)', () => {
    const hintOf = (v: string) => {
      try {
        pickRelease(releasesFrom(NAMES), v, 'http://127.0.0.1:9/my mirror/');
      } catch (e) {
        return (e as ApxsError).hint;
      }
      throw new Error('accepted');
    };
    expect(hintOf('2.4.99')).toContain(
      "apxs-ts source list --mirror 'http://127.0.0.1:9/my mirror/' shows them all",
    );
    expect(hintOf('x.y')).toContain(
      "apxs-ts source list --mirror 'http://127.0.0.1:9/my mirror/' shows the releases",
    );
  });
  it.each([
    ['2.4.999', 'BAD_INPUT'],
    ['9.9.9', 'BAD_INPUT'],
    ['3.0', 'BAD_INPUT'],
    ['2.4.68; rm -rf /', 'USAGE'],
    ['x.y', 'USAGE'],
    ['', 'USAGE'],
  ])(
    'an unknown or ill-formed version %j is a bad argument (%s, exit 2) pointing at source list',
    (v, code) => {
      const err = (() => {
        try {
          pickRelease(releasesFrom(NAMES), v);
        } catch (e) {
          return e as ApxsError;
        }
        throw new Error('accepted');
      })();
      expect(err).toBeInstanceOf(ApxsError);
      expect([err.code, err.exitCode]).toEqual([code, 2]);
      expect(err.hint).toContain('apxs-ts source list');
    },
  );
});

describe('checksum formats', () => {
  const sha = createHash('sha256').update('x').digest('hex');
  const md5 = createHash('md5').update('x').digest('hex');
  const sha512 = createHash('sha512').update('x').digest('hex');
  it.each([
    ['coreutils binary', `${sha} *httpd-2.4.68.tar.gz\n`, 'sha256', sha],
    ['coreutils text', `${sha}  httpd-2.4.68.tar.gz\n`, 'sha256', sha],
    ['openssl', `SHA256(httpd-2.4.68.tar.gz)= ${sha}\n`, 'sha256', sha],
    ['bsd md5', `MD5 (httpd-2.4.68.tar.gz) = ${md5}\n`, 'md5', md5],
    ['bare', `${md5.toUpperCase()}\n`, 'md5', md5],
    [
      'gpg --print-md',
      `httpd-2.4.68.tar.gz: ${sha512.toUpperCase().match(/.{8}/g)!.slice(0, 8).join(' ')}\n                     ${sha512.toUpperCase().match(/.{8}/g)!.slice(8).join(' ')}\n`,
      'sha512',
      sha512,
    ],
  ] as const)('%s', (_, text, algo, want) => {
    expect(parseChecksum(text, algo, 'httpd-2.4.68.tar.gz')).toBe(want);
  });
  it('says so when the file holds no hash of that kind', () => {
    expect(() => parseChecksum('nothing here', 'sha512')).toThrow(/no sha512 hash/);
  });
});

describe('a checksum line is used only for the file it names', () => {
  const FILE = 'httpd-2.4.68.tar.gz';
  const OTHER = 'httpd-2.4.67.tar.gz';
  const sha512 = createHash('sha512').update('x').digest('hex');
  const sha256 = createHash('sha256').update('x').digest('hex');
  const md5 = createHash('md5').update('x').digest('hex');
  const otherSha = createHash('sha256').update('y').digest('hex');
  const gpg = (name: string, hex: string) => {
    const groups = hex.toUpperCase().match(/.{8}/g)!;
    return `${name}: ${groups.slice(0, 8).join(' ')}\n${' '.repeat(name.length + 2)}${groups.slice(8).join(' ')}\n`;
  };
  const ok = (format: string, text: string, algo: 'sha512' | 'sha256' | 'md5', want: string) =>
    [format, text, algo, want] as const;
  const refused = (format: string, text: string, algo: 'sha512' | 'sha256' | 'md5') =>
    [format, text, algo, null] as const;
  it.each([
    ok('hex *file', `${sha256} *${FILE}\n`, 'sha256', sha256),
    ok('hex  file', `${sha256}  ${FILE}\n`, 'sha256', sha256),
    ok('hex  ./file', `${sha256}  ./${FILE}\n`, 'sha256', sha256),
    ok('hex *dir/file', `${sha256} *dist/httpd/${FILE}\n`, 'sha256', sha256),
    ok('hex *file, CRLF', `${sha256} *${FILE}\r\n`, 'sha256', sha256),
    ok('MD5 (file) = hex', `MD5 (${FILE}) = ${md5}\n`, 'md5', md5),
    ok('SHA256(file)= hex', `SHA256(${FILE})= ${sha256}\n`, 'sha256', sha256),
    ok('gpg --print-md, wrapped', gpg(FILE, sha512), 'sha512', sha512),
    ok('bare hex', `${sha256}\n`, 'sha256', sha256),
    ok('bare HEX, no newline', sha256.toUpperCase(), 'sha256', sha256),
    ok(
      'several files, ours second',
      `${otherSha} *${OTHER}\n${sha256} *${FILE}\n`,
      'sha256',
      sha256,
    ),
    ok(
      'gpg, several files, ours second',
      gpg(OTHER, createHash('sha512').update('y').digest('hex')) + gpg(FILE, sha512),
      'sha512',
      sha512,
    ),
    refused('hex *other-file', `${sha256} *${OTHER}\n`, 'sha256'),
    refused('hex  other-file', `${sha256}  ${OTHER}\n`, 'sha256'),
    refused('MD5 (other-file) = hex', `MD5 (${OTHER}) = ${md5}\n`, 'md5'),
    refused('SHA256(other-file)= hex', `SHA256(${OTHER})= ${sha256}\n`, 'sha256'),
    refused('gpg --print-md of another file', gpg(OTHER, sha512), 'sha512'),
    refused('a name that only ends like ours', `${sha256} *x${FILE}\n`, 'sha256'),
    refused('a name that only starts like ours', `${sha256} *${FILE}.bak\n`, 'sha256'),
    refused('the .asc named instead', `${sha256} *${FILE}.asc\n`, 'sha256'),
  ])('%s', (_, text, algo, want) => {
    if (want !== null) {
      expect(parseChecksum(text, algo, FILE)).toBe(want);
      return;
    }
    let err: unknown;
    try {
      parseChecksum(text, algo, FILE);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApxsError);
    expect((err as ApxsError).code).toBe('CHECKSUM_MISMATCH');
    expect((err as ApxsError).message).toMatch(
      new RegExp(`checksum file names .*, not ${FILE.replace(/\./g, '\\.')}$`),
    );
  });
});

describe('the cache and the prefix', () => {
  const errno = (code: string, syscall = 'open') =>
    Object.assign(new Error(`${code}: x`), { code, syscall });
  it.each([
    ['EACCES', 'PERMISSION_DENIED', 1, /permission denied/],
    ['EPERM', 'PERMISSION_DENIED', 1, /permission denied/],
    ['EROFS', 'READ_ONLY', 1, /read-only file system/],
    ['ENOSPC', 'NO_SPACE', 1, /no space left/],
    ['ENOTDIR', 'BAD_INPUT', 2, /not a directory/],
    ['EISDIR', 'BAD_INPUT', 2, /is a directory/],
  ])(
    '%s in the cache is %s (exit %i), naming the path, with a hint',
    (code, want, exit, message) => {
      const e = cacheFsError('/some/cache', errno(code))!;
      expect([e.code, e.exitCode]).toEqual([want, exit]);
      expect(e.message).toContain('/some/cache');
      expect(e.message).toMatch(message);
      expect(e.hint).toBeTruthy();
    },
  );
  it('leaves network errors alone', () => {
    expect(cacheFsError('/c', errno('ECONNRESET', 'read'))).toBeUndefined();
  });
  it('a file given as the cache, or a path through one, is a bad argument; a dry check creates nothing', async () => {
    const base = await tmpDir();
    await fs.writeFile(path.join(base, 'f'), 'x');
    for (const dir of [path.join(base, 'f'), path.join(base, 'f', 'sub', 'dir')]) {
      for (const create of [false, true]) {
        await expect(checkCacheDir(dir, { create })).rejects.toMatchObject({
          code: 'BAD_INPUT',
          message: expect.stringContaining(path.join(base, 'f')),
        });
      }
    }
    await checkCacheDir(path.join(base, 'new', 'cache'), { create: false });
    expect(await fs.readdir(base)).toEqual(['f']);
    await checkCacheDir(path.join(base, 'new', 'cache'), { create: true });
    expect((await fs.stat(path.join(base, 'new', 'cache'))).isDirectory()).toBe(true);
  });
  it('removes a file only when it is inside the cache', async () => {
    const base = await tmpDir();
    const cache = path.join(base, 'cache');
    await fs.mkdir(cache);
    await fs.symlink(cache, path.join(base, 'cache-link'));
    for (const f of ['outside.tar.gz', 'cache/inside.tar.gz', 'cache-link/linked.tar.gz'])
      await fs.writeFile(path.join(base, f), 'x');
    expect(await removeFromCache(path.join(base, 'outside.tar.gz'), cache)).toBe(false);
    expect(await removeFromCache(path.join(cache, '..', 'outside.tar.gz'), cache)).toBe(false);
    expect(await removeFromCache(cache, cache)).toBe(false);
    expect(await removeFromCache(path.join(base, 'cache-link', 'linked.tar.gz'), cache)).toBe(true);
    expect(
      await removeFromCache(path.join(cache, 'inside.tar.gz'), path.join(base, 'cache-link')),
    ).toBe(true);
    expect((await fs.readdir(base)).sort()).toEqual(['cache', 'cache-link', 'outside.tar.gz']);
    expect(await fs.readdir(cache)).toEqual([]);
  });
  it('a prefix must be new, empty or an httpd prefix: not /, a file, or a directory of other things', async () => {
    const base = await tmpDir();
    const make = async (rel: string, files: string[]) => {
      const d = path.join(base, rel);
      await fs.mkdir(d, { recursive: true });
      for (const f of files) {
        await fs.mkdir(path.dirname(path.join(d, f)), { recursive: true });
        await fs.writeFile(path.join(d, f), '');
      }
      return d;
    };
    await fs.writeFile(path.join(base, 'a-file'), 'x');
    await fs.symlink('/', path.join(base, 'root-link'));
    const refused = [
      '/',
      path.join(base, 'root-link'),
      path.join(base, 'a-file'),
      path.join(base, 'a-file', 'p'),
      await make('home', ['.bashrc', 'notes.txt']),
      await make('usr-local', ['bin/perl', 'lib/x.so']),
      base,
    ];
    const allowed = [
      path.join(base, 'new'),
      path.join(base, 'new', 'deeper'),
      await make('empty', []),
      await make('p1', ['bin/httpd']),
      await make('p2', ['bin/apachectl']),
      await make('p3', ['conf/httpd.conf']),
      await make('p4', ['apxs-ts-receipt.json']),
    ];
    const outcome = async (p: string) =>
      checkPrefix(p).then(
        () => 'ok',
        (e: ApxsError) => `${e.code}/${e.exitCode}`,
      );
    expect(await Promise.all(refused.map(outcome))).toEqual(refused.map(() => 'BAD_INPUT/2'));
    expect(await Promise.all(allowed.map(outcome))).toEqual(allowed.map(() => 'ok'));
    await expect(fs.stat(path.join(base, 'new'))).rejects.toThrow(); // checking creates nothing
  });
});

describe('extraction', () => {
  it.each([
    [
      'a ../ path',
      [
        { name: 'pkg/ok.txt', content: 'ok' },
        { name: 'pkg/../../evil.txt', content: 'x' },
      ],
      /"\.\." path/,
    ],
    ['an absolute path', [{ name: '/tmp/apxs-ts-evil-abs.txt', content: 'x' }], /absolute path/],
    [
      'a symlink outside',
      [{ name: 'pkg/link', type: 'symlink' as const, linkname: '../../../etc/passwd' }],
      /outside the tree/,
    ],
    [
      'an absolute symlink',
      [{ name: 'pkg/link', type: 'symlink' as const, linkname: '/etc/passwd' }],
      /absolute path/,
    ],
    [
      'a hard link outside',
      [{ name: 'pkg/h', type: 'hardlink' as const, linkname: '../x' }],
      /outside the tree/,
    ],
  ])('refuses %s and writes nothing outside the work dir', async (_, entries, why) => {
    const base = await tmpDir();
    const tgz = path.join(base, 'evil.tar.gz');
    await fs.writeFile(tgz, makeTarGz(entries));
    const work = path.join(base, 'a', 'b', 'work');
    await expect(extractTarball(tgz, work)).rejects.toThrow(/unsafe entr/);
    await extractTarball(tgz, path.join(base, 'w2')).catch((e: { details: string[] }) =>
      expect(e.details.join('\n')).toMatch(why),
    );
    expect((await fs.readdir(base)).sort()).toEqual(['a', 'evil.tar.gz']);
    expect(await fs.readdir(path.join(base, 'a', 'b'))).toEqual([]);
    await expect(fs.stat('/tmp/apxs-ts-evil-abs.txt')).rejects.toThrow();
  });
  it('keeps links that stay inside the tree', async () => {
    const base = await tmpDir();
    const tgz = path.join(base, 'ok.tar.gz');
    await fs.writeFile(
      tgz,
      makeTarGz([
        { name: 'pkg/', type: 'dir' },
        { name: 'pkg/a.txt', content: 'A' },
        { name: 'pkg/sub/', type: 'dir' },
        { name: 'pkg/sub/l', type: 'symlink', linkname: '../a.txt' },
      ]),
    );
    const r = await extractTarball(tgz, path.join(base, 'w'));
    expect(r.top).toBe(path.join(base, 'w', 'pkg'));
    expect(await fs.readFile(path.join(base, 'w', 'pkg', 'sub', 'l'), 'utf8')).toBe('A');
  });
});

describe('prerequisites and the installed config', () => {
  it('asks for libpcre2-dev from 2.4.53 on, libpcre3-dev before, bash for 1.3', () => {
    expect(requirementsFor('2.4.68').map((r) => r.pkg)).toContain('libpcre2-dev');
    expect(requirementsFor('2.4.52').map((r) => r.pkg)).toContain('libpcre3-dev');
    expect(requirementsFor('1.3.42').map((r) => r.pkg)).toContain('bash');
  });
  it('prints one apt-get line for what is missing', async () => {
    const r = await checkPrereqs('2.4.68', { PATH: '/nonexistent' });
    expect(r.installLine).toBe(
      'apt-get install -y gcc make perl libapr1-dev libaprutil1-dev libpcre2-dev',
    );
    expect((await checkPrereqs('2.4.68')).installLine).toBeUndefined();
  });
  it('switches the shipped Listen off and puts ours in a block', () => {
    const conf = '#Listen 12.34.56.78:80\nListen 80\n\nServerAdmin you@example.com\n';
    const out = setListen(conf, '2.4', 8080);
    expect(out).toBe(
      '#Listen 12.34.56.78:80\n# Listen 80   (apxs-ts: see the apxs-ts listen block)\n# BEGIN apxs-ts listen\nListen localhost:8080\nServerName localhost:8080\n# END apxs-ts listen\n\nServerAdmin you@example.com\n',
    );
    expect(setListen(out, '2.4', 8081)).toContain(
      'Listen localhost:8081\nServerName localhost:8081',
    );
  });
});
