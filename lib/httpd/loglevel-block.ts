/**
 * apxs-ts's LogLevel block (`# BEGIN apxs-ts loglevel`), read and written
 * for `ctl loglevel` and for `uninstall`: a `LogLevel NAME:debug` left
 * behind for a module that is gone is a syntax error to httpd ("Cannot find
 * module NAME"), so uninstalling NAME takes its level out in the same edit.
 * The block is at the end of the main config, or where the layout keeps
 * snippets in files of their own (Debian's conf-available/apxs-ts-loglevel.conf).
 */
import type { EditTransaction } from '../core/edit-transaction.js';
import { findBlock } from '../core/marked-block.js';
import { type GlobalBlock, readGlobalBlock, writeGlobalBlock } from './global-block.js';
import type { RootPaths, Layout } from './layout.js';

const BLOCK: GlobalBlock = {
  id: 'loglevel',
  snippet: 'apxs-ts-loglevel',
  header:
    '# The LogLevel set by `apxs-ts ctl loglevel` (`apxs-ts ctl loglevel --reset` removes this ' +
    'file).\n',
};

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

/** Changes the levels as `change` says, inside `tx`; returns the block's lines after. */
export async function editLogLevels(
  tx: EditTransaction,
  sr: Root,
  change: (l: Levels) => void,
): Promise<string[]> {
  const at = await readGlobalBlock(sr, tx, BLOCK);
  const l = parseBlock(findBlock(at.text, BLOCK.id, at.file)?.body ?? []);
  change(l);
  const body = renderBlock(l);
  await writeGlobalBlock(tx, sr, BLOCK, at, body);
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
  const { file, text } = await readGlobalBlock(sr, tx, BLOCK);
  if (!parseBlock(findBlock(text, BLOCK.id, file)?.body ?? []).modules.has(name)) return;
  await editLogLevels(tx, sr, (l) => {
    l.modules.delete(name);
  });
}
