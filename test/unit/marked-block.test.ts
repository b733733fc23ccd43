/** Marker blocks are parsed strictly, for every caller; a BOM before the first line is no obstacle. */
import { describe, expect, it } from 'vitest';
import { ApxsError } from '../../lib/core/errors.js';
import {
  findBlock,
  listBlockIds,
  offsetOutsideBlocks,
  removeBlock,
  scanBlocks,
  upsertBlock,
} from '../../lib/core/marked-block.js';

const BROKEN: [string, string, number][] = [
  ['a BEGIN without END', 'a\n# BEGIN apxs-ts\nkeep me\n192.168.1.1 router.lan\n', 2],
  ['two BEGINs', '# BEGIN apxs-ts\n1.1.1.1 x.dd\n# BEGIN apxs-ts\nmine\n# END apxs-ts\n', 3],
  ['END before BEGIN', '# END apxs-ts\nmine\n# BEGIN apxs-ts\n1.1.1.1 x.dd\n# END apxs-ts\n', 1],
  [
    'nested blocks',
    '# BEGIN apxs-ts module foo\nLoadModule foo x\n# BEGIN apxs-ts vhosts\nInclude v\n# END apxs-ts vhosts\n# END apxs-ts module foo\n',
    3,
  ],
  [
    'an END naming another block',
    'x\r\n# BEGIN apxs-ts module foo\r\nLoadModule foo x\r\n# END apxs-ts module bar\r\n',
    4,
  ],
  [
    'the same block twice',
    '# BEGIN apxs-ts vhosts\nA\n# END apxs-ts vhosts\nuser\n# BEGIN apxs-ts vhosts\nB\n# END apxs-ts vhosts\n',
    5,
  ],
  ['a stray BEGIN after a BOM', '\ufeff# BEGIN apxs-ts\nmine\n', 1],
];

function brokenAt(f: () => unknown): { code: string; message: string; hint: string | undefined } {
  try {
    f();
  } catch (err) {
    if (err instanceof ApxsError) return { code: err.code, message: err.message, hint: err.hint };
    throw err;
  }
  throw new Error('no error');
}

describe('strict marker blocks', () => {
  it.each(BROKEN)(
    '%s is BLOCK_BROKEN naming file and line, for every function',
    (_what, text, line) => {
      const calls: (() => unknown)[] = [
        () => scanBlocks(text, '/x/httpd.conf'),
        () => findBlock(text, '', '/x/httpd.conf'),
        () => findBlock(text, 'module foo', '/x/httpd.conf'),
        () => upsertBlock(text, '', ['new'], text.length, '/x/httpd.conf'),
        () => upsertBlock(text, 'other', ['new'], 0, '/x/httpd.conf'),
        () => removeBlock(text, '', '/x/httpd.conf'),
        () => listBlockIds(text, 'module ', '/x/httpd.conf'),
        () => offsetOutsideBlocks(text, 0, '/x/httpd.conf'),
      ];
      for (const call of calls) {
        const e = brokenAt(call);
        expect(e.code).toBe('BLOCK_BROKEN');
        expect(e.message).toMatch(new RegExp(`^/x/httpd\\.conf:${line}: `));
        expect(e.hint).toMatch(/fix or remove the stray marker line/);
      }
      // Without a file name, the line still says where.
      expect(brokenAt(() => findBlock(text, '')).message).toMatch(new RegExp(`^line ${line}: `));
    },
  );

  it('several distinct, well-formed blocks in one file are fine', () => {
    const conf =
      'ServerRoot x\n# BEGIN apxs-ts module foo\nLoadModule foo_module modules/mod_foo.so\n# END apxs-ts module foo\n' +
      '# BEGIN apxs-ts listen\nListen 8080\n# END apxs-ts listen\n# BEGIN apxs-ts vhosts\nInclude conf/vhosts.conf\n# END apxs-ts vhosts\n';
    expect(scanBlocks(conf).map((b) => b.id)).toEqual(['module foo', 'listen', 'vhosts']);
    expect(listBlockIds(conf, 'module ')).toEqual(['foo']);
    expect(findBlock(conf, 'vhosts')?.body).toEqual(['Include conf/vhosts.conf']);
    const next = upsertBlock(
      conf,
      'module bar',
      ['LoadModule bar_module modules/mod_bar.so'],
      conf.length,
    );
    expect(removeBlock(removeBlock(next, 'module bar'), 'absent')).toBe(conf);
  });

  it('lines that only look like markers are user lines', () => {
    const text =
      '# BEGIN apxs-tsx\n#BEGIN apxs-ts\n# the apxs-ts block follows\n# END apxs-ts-old\n';
    expect(scanBlocks(text)).toEqual([]);
    expect(removeBlock(upsertBlock(text, '', ['a'], text.length), '')).toBe(text);
  });
});

describe('a BOM before the first line', () => {
  it('a block on the first line after a BOM is found, replaced in place, and the BOM stays', () => {
    const text =
      '\ufeff# BEGIN apxs-ts\r\n127.0.0.1 a.dd\r\n# END apxs-ts\r\n127.0.0.1 localhost\r\n';
    expect(findBlock(text, '')).toEqual({
      start: 1,
      end: text.indexOf('127.0.0.1 localhost'),
      body: ['127.0.0.1 a.dd'],
    });
    expect(upsertBlock(text, '', ['127.0.0.1 a.dd b.dd'], text.length)).toBe(
      '\ufeff# BEGIN apxs-ts\r\n127.0.0.1 a.dd b.dd\r\n# END apxs-ts\r\n127.0.0.1 localhost\r\n',
    );
    expect(removeBlock(text, '')).toBe('\ufeff127.0.0.1 localhost\r\n');
  });
  it('a block inserted at offset 0 goes after the BOM, and removing it gives the bytes back', () => {
    for (const text of ['\ufeff', '\ufeffx', '\ufeffx\n']) {
      const added = upsertBlock(text, 'm', ['one'], 0);
      expect(added.startsWith('\ufeff# BEGIN apxs-ts m')).toBe(true);
      expect(removeBlock(added, 'm')).toBe(text);
    }
  });
});
