/**
 * apxs-ts's LogLevel block (`# BEGIN apxs-ts loglevel`), read and written
 * for `ctl loglevel` and for `uninstall`: a `LogLevel NAME:debug` left
 * behind for a module that is gone is a syntax error to httpd ("Cannot find
 * module NAME"), so uninstalling NAME takes its level out in the same edit.
 * The block is at the end of the main config, or where the layout keeps
 * snippets in files of their own (Debian's conf-available/apxs-ts-loglevel.conf).
 */
import { promises as fs } from 'node:fs';
import type { EditTransaction } from '../core/edit-transaction.js';
import type { FileView } from '../core/file-view.js';
import { findBlock, removeBlock, upsertBlock } from '../core/marked-block.js';
import type { RootPaths, Layout } from './layout.js';

const BLOCK = 'loglevel';
/** The snippet's name where the layout keeps it in a file of its own. */
const SNIPPET = 'apxs-ts-loglevel';
const SNIPPET_HEADER =
  '# The LogLevel set by `apxs-ts ctl loglevel` (`apxs-ts ctl loglevel --reset` removes this ' +
  'file).\n';

type Root = RootPaths & { layout: Layout };

export interface Levels {
  global: string | undefined;
  modules: Map<string, string>;
}

/**
 * Reads apxs-ts's own block back (only lines it wrote: `LogLevel LEVEL` and `LogLevel NAME:LEVEL`).
 */
function parseBlock(body: string[]): Levels {
  const levels: Levels = { global: undefined, modules: new Map() };
  for (const line of body) {
    const m = /^\s*LogLevel\s+(?:([A-Za-z0-9_]+):)?(\w+)\s*$/.exec(line);
    if (!m) continue;
    if (m[1]) levels.modules.set(m[1], m[2]!);
    else levels.global = m[2];
  }
  return levels;
}

function renderBlock(l: Levels): string[] {
  // The global line first: on 2.4 a later global level would reset the modules'.
  return [
    ...(l.global ? [`LogLevel ${l.global}`] : []),
    ...[...l.modules].map(([m, v]) => `LogLevel ${m}:${v}`),
  ];
}

/** The block's file and text, read through the edit's transaction (what it wrote so far). */
async function readText(
  sr: Root,
  view: FileView,
): Promise<{ file: string; snippet: boolean; text: string }> {
  const snippet = sr.layout.snippetFile(sr, SNIPPET);
  if (snippet)
    return {
      file: snippet,
      snippet: true,
      text: (await view.readText(snippet)) ?? SNIPPET_HEADER,
    };
  return {
    file: sr.configFile,
    snippet: false,
    text: (await view.readText(sr.configFile)) ?? (await fs.readFile(sr.configFile, 'utf8')),
  };
}

/** Changes the levels as `change` says, inside `tx`; returns the block's lines after. */
export async function editLogLevels(
  tx: EditTransaction,
  sr: Root,
  change: (l: Levels) => void,
): Promise<string[]> {
  const { file, snippet, text } = await readText(sr, tx);
  const l = parseBlock(findBlock(text, BLOCK, file)?.body ?? []);
  change(l);
  const body = renderBlock(l);
  if (!snippet)
    await tx.write(
      file,
      body.length
        ? upsertBlock(text, BLOCK, body, text.length, file)
        : removeBlock(text, BLOCK, file),
    );
  else if (body.length)
    await sr.layout.enableSnippet(
      tx,
      sr,
      SNIPPET,
      upsertBlock(text, BLOCK, body, text.length, file),
    );
  else if (removeBlock(text, BLOCK, file).trim() === SNIPPET_HEADER.trim())
    await sr.layout.disableSnippet(tx, sr, SNIPPET);
  // Someone added lines of their own to the file: only apxs-ts's block goes.
  else await tx.write(file, removeBlock(text, BLOCK, file));
  return body;
}

/**
 * Takes module `name`'s level out of apxs-ts's block, when it has one there (nothing is written
 * otherwise).
 */
export async function dropModuleLogLevel(
  tx: EditTransaction,
  sr: Root,
  name: string,
): Promise<void> {
  const { file, text } = await readText(sr, tx);
  if (!parseBlock(findBlock(text, BLOCK, file)?.body ?? []).modules.has(name)) return;
  await editLogLevels(tx, sr, (l) => {
    l.modules.delete(name);
  });
}
