/**
 * A block of apxs-ts's that belongs to the server as a whole (the LogLevel block, the TLS vhosts'
 * Listen lines): at the end of the main config or, where the layout keeps snippets in files of
 * their own (Debian's conf-available/NAME.conf, enabled like a2enconf), in a snippet file that
 * starts with a header naming what apxs-ts wrote it for.
 */
import { promises as fs } from 'node:fs';
import type { EditTransaction } from '../core/edit-transaction.js';
import type { FileView } from '../core/file-view.js';
import { removeBlock, upsertBlock } from '../core/marked-block.js';
import type { Layout, RootPaths } from './layout.js';

export interface GlobalBlock {
  /** The marked block's id (`# BEGIN apxs-ts ID`). */
  id: string;
  /** The snippet's name where the layout keeps it in a file of its own. */
  snippet: string;
  /** The first lines of a snippet file apxs-ts makes. */
  header: string;
}

type Root = RootPaths & { layout: Layout };

/** Where the block is and that file's text, read through `view` (an edit: what it wrote so far). */
export interface GlobalBlockText {
  file: string;
  /** `file` is the snippet file (else the main config). */
  snippet: boolean;
  text: string;
}

export async function readGlobalBlock(
  sr: Root,
  view: FileView,
  b: GlobalBlock,
): Promise<GlobalBlockText> {
  const snippet = sr.layout.snippetFile(sr, b.snippet);
  if (snippet)
    return { file: snippet, snippet: true, text: (await view.readText(snippet)) ?? b.header };
  return {
    file: sr.configFile,
    snippet: false,
    text: (await view.readText(sr.configFile)) ?? (await fs.readFile(sr.configFile, 'utf8')),
  };
}

/**
 * Writes `body` as the block into the file `at` names (an empty body takes the block out). A
 * snippet file left with nothing but its header is disabled and goes.
 */
export async function writeGlobalBlock(
  tx: EditTransaction,
  sr: Root,
  b: GlobalBlock,
  at: GlobalBlockText,
  body: string[],
): Promise<void> {
  const { file, text } = at;
  if (!at.snippet)
    await tx.write(
      file,
      body.length
        ? upsertBlock(text, b.id, body, text.length, file)
        : removeBlock(text, b.id, file),
    );
  else if (body.length)
    await sr.layout.enableSnippet(
      tx,
      sr,
      b.snippet,
      upsertBlock(text, b.id, body, text.length, file),
    );
  else if (removeBlock(text, b.id, file).trim() === b.header.trim())
    await sr.layout.disableSnippet(tx, sr, b.snippet);
  // Someone added lines of their own to the file: only apxs-ts's block goes.
  else await tx.write(file, removeBlock(text, b.id, file));
}
