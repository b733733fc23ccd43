/**
 * lib/core/marked-block.ts pinned exactly (for mutation testing): each broken
 * structure's message and data, the offsets scanBlocks reports, marker lines
 * with indentation and trailing blanks, and the small offset helpers.
 */
import { describe, expect, it } from 'vitest';
import { ApxsError } from '../../lib/core/errors.js';
import {
  detectEol,
  findBlock,
  listBlockIds,
  offsetAfterLine,
  offsetOutsideBlocks,
  removeBlock,
  scanBlocks,
  upsertBlock,
} from '../../lib/core/marked-block.js';

function thrown(f: () => unknown): ApxsError {
  try {
    f();
  } catch (err) {
    if (err instanceof ApxsError) return err;
    throw err;
  }
  throw new Error('no error');
}

describe('marker blocks, exactly', () => {
  it.each([
    ['a\n# BEGIN apxs-ts x\nb\n', 'f:2: "# BEGIN apxs-ts x" has no "# END apxs-ts x" after it', 2],
    [
      '# BEGIN apxs-ts\n# BEGIN apxs-ts y\n# END apxs-ts y\n# END apxs-ts\n',
      'f:2: "# BEGIN apxs-ts y" inside the block "# BEGIN apxs-ts" opened on line 1, which has no END before it',
      2,
    ],
    [
      '# BEGIN apxs-ts a\n# END apxs-ts a\n\n# BEGIN apxs-ts a\n# END apxs-ts a\n',
      'f:4: a second "# BEGIN apxs-ts a" block (the first begins on line 1)',
      4,
    ],
    ['x\n# END apxs-ts q\n', 'f:2: "# END apxs-ts q" without a "# BEGIN apxs-ts q" before it', 2],
    [
      '# BEGIN apxs-ts a\n# END apxs-ts b\n',
      'f:2: "# END apxs-ts b" closes "# BEGIN apxs-ts a" opened on line 1',
      2,
    ],
  ])('%j', (text, message, line) => {
    const e = thrown(() => scanBlocks(text, 'f'));
    expect(e.message).toBe(message);
    expect(e.data).toEqual({ file: 'f', line });
    expect(thrown(() => scanBlocks(text)).data).toEqual({ file: null, line });
  });

  it('offsets of a block; markers may be indented and carry trailing blanks; the id is trimmed', () => {
    const text = 'head\n  # BEGIN apxs-ts  mod x \t\nbody\r\n\t# END apxs-ts mod x  \ntail';
    const [b] = scanBlocks(text);
    expect(b).toEqual({
      id: 'mod x',
      start: 5,
      bodyStart: text.indexOf('body'),
      bodyEnd: text.indexOf('\t# END'),
      end: text.indexOf('tail'),
    });
    expect(findBlock(text, 'mod x')).toEqual({
      start: 5,
      end: text.indexOf('tail'),
      body: ['body'],
    });
    expect(findBlock(text, 'mod')).toBeUndefined();
    // A block ending the text without a final newline ends at the text's end.
    const last = 'a\n# BEGIN apxs-ts\n# END apxs-ts';
    expect(scanBlocks(last)[0]).toMatchObject({ start: 2, end: last.length });
    expect(findBlock(last, '')?.body).toEqual([]);
    expect(findBlock('# BEGIN apxs-ts\n\n\n# END apxs-ts\n', '')?.body).toEqual(['', '']);
  });

  it('listBlockIds: one word after the prefix only', () => {
    const text = ['module a', 'module b c', 'module ', 'modulex', 'vhosts']
      .map((id) => `# BEGIN apxs-ts ${id}\n# END apxs-ts ${id}\n`)
      .join('');
    expect(listBlockIds(text, 'module ')).toEqual(['a']);
    expect(listBlockIds(text, '')).toEqual(['module', 'modulex', 'vhosts']); // 'module ' is trimmed to 'module'
  });

  it('upsert keeps a last block without a final newline that way; insertion mid-line is put on a line of its own', () => {
    const text = 'x\n# BEGIN apxs-ts\nold\n# END apxs-ts';
    expect(upsertBlock(text, '', ['new'], 0)).toBe('x\n# BEGIN apxs-ts\nnew\n# END apxs-ts');
    expect(upsertBlock('x\r\ny', 'b', ['1', '2'], 5)).toBe(
      'x\r\ny\r\n# BEGIN apxs-ts b\r\n1\r\n2\r\n# END apxs-ts b',
    );
    expect(removeBlock('x\r\ny\r\n# BEGIN apxs-ts b\r\n1\r\n# END apxs-ts b', 'b')).toBe('x\r\ny');
    expect(upsertBlock('', 'b', [], 0)).toBe('# BEGIN apxs-ts b\n# END apxs-ts b\n');
    expect(removeBlock('# BEGIN apxs-ts b\n# END apxs-ts b', 'b')).toBe('');
  });

  it('detectEol, offsetAfterLine, offsetOutsideBlocks', () => {
    expect(detectEol('a\r\nb\n')).toBe('\r\n');
    expect(detectEol('a\nb\r\n')).toBe('\n');
    expect(detectEol('\nb')).toBe('\n');
    expect(detectEol('no eol')).toBe('\n');
    const t = 'l1\nl2\r\nl3';
    expect([0, 1, 2, 3, 9].map((n) => offsetAfterLine(t, n))).toEqual([
      0,
      3,
      7,
      t.length,
      t.length,
    ]);
    const b = 'a\n# BEGIN apxs-ts\nx\n# END apxs-ts\nb\n';
    const start = b.indexOf('# BEGIN');
    const end = b.indexOf('b\n', start + 5);
    expect(offsetOutsideBlocks(b, start)).toBe(start); // at its start: outside
    expect(offsetOutsideBlocks(b, start + 1)).toBe(end);
    expect(offsetOutsideBlocks(b, end - 1)).toBe(end);
    expect(offsetOutsideBlocks(b, end)).toBe(end);
  });
});
