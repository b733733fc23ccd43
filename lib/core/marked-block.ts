/**
 * The only part of a user's file apxs-ts writes is a block it marks as its
 * own:
 *     # BEGIN apxs-ts <id>
 *     ...
 *     # END apxs-ts <id>
 * These helpers find, replace, insert and remove such blocks as string
 * operations on offsets, so every byte outside the block stays as it was
 * (line endings, a missing final newline, a BOM, tabs).
 */
import { escapeRegExp } from './fs.js';

export interface BlockSpan {
  /** Offset of the BEGIN line's first byte. */
  start: number;
  /** Offset just after the END line's line ending (or end of text). */
  end: number;
  /** Lines between the markers, without line endings. */
  body: string[];
}

const marker = (kind: 'BEGIN' | 'END', id: string) => `# ${kind} apxs-ts${id ? ` ${id}` : ''}`;

export function detectEol(text: string): '\n' | '\r\n' {
  const i = text.indexOf('\n');
  return i > 0 && text[i - 1] === '\r' ? '\r\n' : '\n';
}

/** Offsets of each line start, with the line's text (no EOL). */
function lines(text: string): { start: number; end: number; text: string }[] {
  const out: { start: number; end: number; text: string }[] = [];
  let pos = 0;
  while (pos < text.length) {
    const nl = text.indexOf('\n', pos);
    const end = nl === -1 ? text.length : nl + 1;
    out.push({ start: pos, end, text: text.slice(pos, nl === -1 ? text.length : nl).replace(/\r$/, '') });
    pos = end;
  }
  return out;
}


/** Offset just past the line ending of the line that contains `offset`. */
function endOfLine(text: string, offset: number): number {
  const nl = text.indexOf('\n', offset);
  return nl === -1 ? text.length : nl + 1;
}

export function findBlock(text: string, id: string): BlockSpan | undefined {
  // A regex scan, not a split into lines: hosts files can have 100,000 lines.
  const begin = new RegExp(`^[ \\t]*${escapeRegExp(marker('BEGIN', id))}[ \\t]*\\r?$`, 'm').exec(text);
  if (!begin) return undefined;
  const bodyStart = endOfLine(text, begin.index);
  const endRe = new RegExp(`^[ \\t]*${escapeRegExp(marker('END', id))}[ \\t]*\\r?$`, 'm');
  const rest = text.slice(bodyStart);
  const end = endRe.exec(rest);
  if (!end) return undefined;
  const bodyText = rest.slice(0, end.index);
  const body = bodyText === '' ? [] : bodyText.replace(/\r?\n$/, '').split('\n').map((l) => l.replace(/\r$/, ''));
  return { start: begin.index, end: endOfLine(text, bodyStart + end.index), body };
}

export function listBlockIds(text: string, prefix: string): string[] {
  const re = new RegExp(`^\\s*# BEGIN apxs-ts ${escapeRegExp(prefix)}(\\S+)\\s*$`);
  return lines(text).flatMap((l) => {
    const m = re.exec(l.text);
    return m ? [m[1]!] : [];
  });
}

function render(id: string, body: string[], eol: string): string {
  return [marker('BEGIN', id), ...body, marker('END', id)].join(eol) + eol;
}

/**
 * Writes the block `id` with `body`. An existing block is replaced where it
 * stands; a new one goes at `insertAt` (an offset that must be a line start,
 * or the end of the text).
 */
export function upsertBlock(text: string, id: string, body: string[], insertAt: number): string {
  const eol = detectEol(text);
  const existing = findBlock(text, id);
  if (existing) {
    // Keep the block's own final line ending when it was the file's last line without one.
    let block = render(id, body, eol);
    if (existing.end === text.length && !/\n$/.test(text)) block = block.slice(0, -eol.length);
    return text.slice(0, existing.start) + block + text.slice(existing.end);
  }
  const before = text.slice(0, insertAt);
  if (before.length > 0 && !before.endsWith('\n')) {
    // The file had no final newline: the block goes on a line of its own and
    // also ends without one, so removing it gives back the exact original.
    return before + eol + render(id, body, eol).slice(0, -eol.length) + text.slice(insertAt);
  }
  return before + render(id, body, eol) + text.slice(insertAt);
}

export function removeBlock(text: string, id: string): string {
  const b = findBlock(text, id);
  if (!b) return text;
  if (b.end === text.length && !text.endsWith('\n') && b.start > 0) {
    // Undo what upsertBlock did for a file without a final newline.
    const eolLen = text[b.start - 2] === '\r' ? 2 : 1;
    return text.slice(0, b.start - eolLen);
  }
  return text.slice(0, b.start) + text.slice(b.end);
}

/** Offset of the start of the line after 1-based line `n` (end of text if none). */
export function offsetAfterLine(text: string, n: number): number {
  const ls = lines(text);
  return n >= ls.length ? text.length : ls[n]!.start;
}

/** Moves an offset that falls inside one of our blocks to just after that block. */
export function offsetOutsideBlocks(text: string, offset: number): number {
  const ls = lines(text);
  let open: number | undefined;
  for (const l of ls) {
    const t = l.text.trim();
    if (t.startsWith('# BEGIN apxs-ts')) open = l.start;
    else if (t.startsWith('# END apxs-ts') && open !== undefined) {
      if (offset > open && offset < l.end) return l.end;
      open = undefined;
    }
  }
  return offset;
}
