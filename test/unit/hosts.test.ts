/** The hosts file: names, block edits, and every byte outside the block kept. */
import { describe, expect, it } from 'vitest';
import {
  addToBlock,
  readBlock,
  removeFromBlock,
  withBlock,
  parseHostsLines,
} from '../../lib/sites/hosts-file.js';
import { validateHostname } from '../../lib/sites/host-names.js';

describe('validateHostname', () => {
  it.each(['one.dd', 'a', 'x-y.example.com', 'UPPER.dd', 'a'.repeat(63) + '.dd'])(
    'accepts %j',
    (n) => {
      expect(() => validateHostname(n)).not.toThrow();
    },
  );
  it.each([
    ['', /empty/],
    ['one dd', /whitespace/],
    ['one.dd\n', /whitespace/],
    ['one\u0000dd', /control/],
    ['a..b', /empty label/],
    ['.a', /empty label/],
    ['-a.dd', /inner hyphens/],
    ['a-.dd', /inner hyphens/],
    ['a_b.dd', /inner hyphens/],
    ['a'.repeat(64) + '.dd', /longer than 63/],
    [`${'a'.repeat(60)}.`.repeat(5) + 'dd', /longer than 253/],
    ['10.0.0.1', /all digits/],
    // The same DNS name as trailing.dot (#16): refused with the hint to drop the dot, never a second name.
    ['trailing.dot.', /ends with a dot/],
  ])('rejects %j', (n, why) => {
    expect(() => validateHostname(n)).toThrow(why);
  });
});

describe('block edits', () => {
  it('groups names per address, moves a name within a family, keeps v4 and v6 apart', () => {
    let m = addToBlock(new Map(), '127.0.0.1', ['one.dd', 'two.dd']);
    m = addToBlock(m, '::1', ['one.dd']);
    m = addToBlock(m, '127.0.0.2', ['two.dd']);
    expect([...m]).toEqual([
      ['127.0.0.1', ['one.dd']],
      ['::1', ['one.dd']],
      ['127.0.0.2', ['two.dd']],
    ]);
    expect([...removeFromBlock(m, ['one.dd'])]).toEqual([['127.0.0.2', ['two.dd']]]);
  });

  const ORIGINALS = [
    '127.0.0.1 localhost\n::1 localhost ip6-localhost\n',
    '\ufeff# hosts with a BOM\r\n127.0.0.1\tlocalhost\t# inline comment\r\n10.1.1.1  box   box.lan\r\n',
    '127.0.0.1 localhost\n# no final newline',
    '',
    '\t\n   \n# only comments and blank lines\n\n',
  ];

  it.each(ORIGINALS)(
    '1,000 random adds and removes keep every byte outside the block: %j',
    (original) => {
      // A seeded generator, so a failure can be replayed.
      let seed = 0x2f6b1d ^ original.length;
      const rand = (n: number) => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed % n;
      };
      const names = Array.from({ length: 12 }, (_, i) => `site${i}.dd`);
      const ips = ['127.0.0.1', '127.0.0.2', '::1'];
      let text = original;
      for (let i = 0; i < 1000; i++) {
        const block = readBlock(text);
        const picked = Array.from({ length: 1 + rand(3) }, () => names[rand(names.length)]!);
        const next =
          rand(2) === 0
            ? addToBlock(block, ips[rand(ips.length)]!, picked)
            : removeFromBlock(block, picked);
        text = withBlock(text, next);
        // Without our block, the file is exactly what it was.
        expect(withBlock(text, new Map())).toBe(original);
        expect(readBlock(text)).toEqual(next);
      }
    },
  );

  it('lists entries, marking the managed ones', () => {
    const text =
      '127.0.0.1 localhost # c\n# BEGIN apxs-ts\n127.0.0.1 one.dd two.dd\n# END apxs-ts\n';
    expect(parseHostsLines(text)).toEqual([
      { ip: '127.0.0.1', names: ['localhost'], line: 1, managed: false },
      { ip: '127.0.0.1', names: ['one.dd', 'two.dd'], line: 3, managed: true },
    ]);
  });
});
