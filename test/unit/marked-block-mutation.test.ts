/**
 * Mutation gaps of lib/core/marked-block.ts (#16): a stray marker on a last
 * line without a newline, a carriage return inside a line, text before a
 * marker, replacing a block that is followed by more text without a final
 * newline, a BOM with an insert point elsewhere, an offset after a block.
 */
import { describe, expect, it } from 'vitest';
import {
  findBlock,
  offsetOutsideBlocks,
  scanBlocks,
  upsertBlock,
} from '../../lib/core/marked-block.js';

describe('marked-block', () => {
  it('a stray END on the last line, without a final newline, is named by its line', () => {
    expect(() => scanBlocks('a\nb\n# END apxs-ts x', 'f')).toThrow(
      expect.objectContaining({ code: 'BLOCK_BROKEN', data: { file: 'f', line: 3 } }),
    );
  });

  it('a carriage return inside a marker line makes it no marker', () => {
    expect(scanBlocks('# BEGIN apxs-ts a\rb\n')).toEqual([]);
  });

  it('a carriage return inside a body line is kept; only the one before the newline goes', () => {
    const text = '# BEGIN apxs-ts a\r\nx\ry\r\n# END apxs-ts a\r\n';
    expect(findBlock(text, 'a')?.body).toEqual(['x\ry']);
  });

  it('text before "# BEGIN apxs-ts" on the same line makes it no marker', () => {
    expect(scanBlocks('x # BEGIN apxs-ts a\n')).toEqual([]);
    expect(findBlock('x # BEGIN apxs-ts a\n', 'a')).toBeUndefined();
  });

  it("replacing a block followed by a last line without newline keeps the block's own newline", () => {
    const text = '# BEGIN apxs-ts a\nold\n# END apxs-ts a\ntail';
    expect(upsertBlock(text, 'a', ['new'], 0)).toBe(
      '# BEGIN apxs-ts a\nnew\n# END apxs-ts a\ntail',
    );
  });

  it('with a BOM, a new block at the end goes at the end, not after the BOM', () => {
    const text = '\ufeffone\n';
    expect(upsertBlock(text, 'a', ['x'], text.length)).toBe(
      '\ufeffone\n# BEGIN apxs-ts a\nx\n# END apxs-ts a\n',
    );
    expect(upsertBlock(text, 'a', ['x'], 0)).toBe(
      '\ufeff# BEGIN apxs-ts a\nx\n# END apxs-ts a\none\n',
    );
  });

  it('an offset after a block stays where it is; one inside moves to its end', () => {
    const text = '# BEGIN apxs-ts a\nx\n# END apxs-ts a\ntail\nmore\n';
    const end = text.indexOf('tail');
    expect(offsetOutsideBlocks(text, text.length)).toBe(text.length);
    expect(offsetOutsideBlocks(text, end + 2)).toBe(end + 2);
    expect(offsetOutsideBlocks(text, 3)).toBe(end);
  });
});
