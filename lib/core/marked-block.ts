/**
 * The only part of a user's file apxs-ts writes is a block it marks as its
 * own:
 *     # BEGIN apxs-ts <id>
 *     ...
 *     # END apxs-ts <id>
 * These helpers find, replace, insert and remove such blocks as string
 * operations on offsets, so every byte outside the block stays as it was
 * (line endings, a missing final newline, a BOM, tabs).
 *
 * Markers are parsed strictly (scanBlocks): a BEGIN without its END, a BEGIN
 * inside a block, an END without a BEGIN, an END naming another block, or
 * the same block twice is a BLOCK_BROKEN error naming the line. A lenient
 * reading would take the user's own lines below a stray BEGIN for ours, and
 * then rewrite or delete them. Every exported function scans first, so every
 * caller (hosts file, httpd.conf, vhost files) gets the check; pass `file`
 * so the error names the file too.
 */
import { ApxsError } from './errors.js';

export interface BlockSpan {
  /** Offset of the BEGIN line's first byte (after a BOM on the first line). */
  start: number;
  /** Offset just after the END line's line ending (or end of text). */
  end: number;
  /** Lines between the markers, without line endings. */
  body: string[];
}

/** A well-formed block as scanBlocks found it. */
export interface ScannedBlock {
  id: string;
  start: number;
  end: number;
  /** Offset of the first body byte (just after the BEGIN line's ending). */
  bodyStart: number;
  /** Offset of the END line's first byte. */
  bodyEnd: number;
}

const BOM = '\ufeff';
const marker = (kind: 'BEGIN' | 'END', id: string) => `# ${kind} apxs-ts${id ? ` ${id}` : ''}`;
/** A marker line (without its line ending); the id is whatever follows "apxs-ts", trimmed. */
const MARKER_LINE = /^[ \t]*# (BEGIN|END) apxs-ts(?:[ \t]+(.*?))?[ \t]*$/;

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
    out.push({
      start: pos,
      end,
      text: text.slice(pos, nl === -1 ? text.length : nl).replace(/\r$/, ''),
    });
    pos = end;
  }
  return out;
}

function lineNumber(text: string, offset: number): number {
  let n = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

/**
 * Every marker line, in order. Only lines containing "apxs-ts" are looked at,
 * not every line: hosts files can have 200,000 lines.
 */
function markers(
  text: string,
): { kind: 'BEGIN' | 'END'; id: string; start: number; end: number }[] {
  const out: { kind: 'BEGIN' | 'END'; id: string; start: number; end: number }[] = [];
  for (let i = text.indexOf('apxs-ts'); i !== -1; ) {
    let start = text.lastIndexOf('\n', i) + 1;
    // A BOM belongs to the file, not to its first line: the block starts after it.
    if (start === 0 && text.startsWith(BOM)) start = 1;
    const nl = text.indexOf('\n', i);
    const lineEnd = nl === -1 ? text.length : nl;
    const m = MARKER_LINE.exec(text.slice(start, lineEnd).replace(/\r$/, ''));
    if (m)
      out.push({
        kind: m[1] as 'BEGIN' | 'END',
        id: m[2] ?? '',
        start,
        end: nl === -1 ? text.length : nl + 1,
      });
    i = nl === -1 ? -1 : text.indexOf('apxs-ts', nl);
  }
  return out;
}

/**
 * All blocks in `text`, checked: any malformed marker structure is a
 * BLOCK_BROKEN error naming `file` (when given) and the line, and nothing
 * should be written then.
 */
export function scanBlocks(text: string, file?: string): ScannedBlock[] {
  const where = (offset: number) => `${file ? `${file}:` : 'line '}${lineNumber(text, offset)}`;
  const broken = (offset: number, what: string) =>
    new ApxsError('BLOCK_BROKEN', `${where(offset)}: ${what}`, {
      hint:
        'fix or remove the stray marker line: apxs-ts edits only well-formed "# ' +
        'BEGIN apxs-ts" … "# END apxs-ts" blocks and will not guess where one ends',
      data: { file: file ?? null, line: lineNumber(text, offset) },
    });
  const out: ScannedBlock[] = [];
  const seen = new Map<string, number>();
  let open: { id: string; start: number; end: number } | undefined;
  for (const m of markers(text)) {
    if (m.kind === 'BEGIN') {
      if (open)
        throw broken(
          m.start,
          `"${marker('BEGIN', m.id)}" inside the block "${marker('BEGIN', open.id)}" ` +
            `opened on line ${lineNumber(text, open.start)}, which has no END before it`,
        );
      const first = seen.get(m.id);
      if (first !== undefined)
        throw broken(
          m.start,
          `a second "${marker('BEGIN', m.id)}" block (the ` +
            `first begins on line ${lineNumber(text, first)})`,
        );
      open = m;
    } else {
      if (!open)
        throw broken(
          m.start,
          `"${marker('END', m.id)}" without a "${marker('BEGIN', m.id)}" before it`,
        );
      if (open.id !== m.id)
        throw broken(
          m.start,
          `"${marker('END', m.id)}" closes "${marker('BEGIN', open.id)}" ` +
            `opened on line ${lineNumber(text, open.start)}`,
        );
      seen.set(open.id, open.start);
      out.push({
        id: open.id,
        start: open.start,
        end: m.end,
        bodyStart: open.end,
        bodyEnd: m.start,
      });
      open = undefined;
    }
  }
  if (open)
    throw broken(
      open.start,
      `"${marker('BEGIN', open.id)}" has no "${marker('END', open.id)}" after it`,
    );
  return out;
}

export function findBlock(text: string, id: string, file?: string): BlockSpan | undefined {
  const b = scanBlocks(text, file).find((s) => s.id === id);
  if (!b) return undefined;
  const bodyText = text.slice(b.bodyStart, b.bodyEnd);
  const body =
    bodyText === ''
      ? []
      : bodyText
          .replace(/\r?\n$/, '')
          .split('\n')
          .map((l) => l.replace(/\r$/, ''));
  return { start: b.start, end: b.end, body };
}

/** Ids of the blocks whose id is `prefix` followed by one word, without the prefix. */
export function listBlockIds(text: string, prefix: string, file?: string): string[] {
  return scanBlocks(text, file).flatMap((b) => {
    const rest = b.id.startsWith(prefix) ? b.id.slice(prefix.length) : '';
    return /^\S+$/.test(rest) ? [rest] : [];
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
export function upsertBlock(
  text: string,
  id: string,
  body: string[],
  insertAt: number,
  file?: string,
): string {
  const eol = detectEol(text);
  const existing = findBlock(text, id, file);
  if (existing) {
    // Keep the block's own final line ending when it was the file's last line without one.
    let block = render(id, body, eol);
    if (existing.end === text.length && !/\n$/.test(text)) block = block.slice(0, -eol.length);
    return text.slice(0, existing.start) + block + text.slice(existing.end);
  }
  // The first line starts after a BOM: a block put there keeps the BOM first.
  if (insertAt === 0 && text.startsWith(BOM)) insertAt = 1;
  const before = text.slice(0, insertAt);
  if (before.length > 0 && before !== BOM && !before.endsWith('\n')) {
    // The file had no final newline: the block goes on a line of its own and
    // also ends without one, so removing it gives back the exact original.
    return before + eol + render(id, body, eol).slice(0, -eol.length) + text.slice(insertAt);
  }
  return before + render(id, body, eol) + text.slice(insertAt);
}

export function removeBlock(text: string, id: string, file?: string): string {
  const b = findBlock(text, id, file);
  if (!b) return text;
  if (b.end === text.length && !text.endsWith('\n') && text[b.start - 1] === '\n') {
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
export function offsetOutsideBlocks(text: string, offset: number, file?: string): number {
  for (const b of scanBlocks(text, file)) {
    if (offset > b.start && offset < b.end) return b.end;
  }
  return offset;
}
