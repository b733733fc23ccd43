/**
 * What `sandbox create` made, recorded in the sandbox's marker file so that
 * `sandbox remove` deletes that and nothing else: every file create wrote
 * (relative path -> sha256 of its bytes) and every directory it made.
 *
 * The record lives in the marker (apxs-ts-sandbox.json) rather than a file of
 * its own because remove deletes the marker last: as long as the marker is
 * there, so is the record, and a remove killed half way can be run again.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { readJson } from '../core/fs.js';
import { removeBlock, scanBlocks } from '../core/marked-block.js';
import { SANDBOX_MARKER, type SandboxMarker } from './server-root.js';
import { sha256 } from '../core/sha256.js';

export interface SandboxManifest {
  /** Relative path (with /) -> sha256 (hex) of the bytes create wrote. */
  files: Record<string, string>;
  /** Relative paths of the directories create made ('.' for the sandbox directory itself). */
  dirs: string[];
}

/** The marker as create writes it now: with what it made. Older markers have no `made`. */
export type SandboxMarkerWithManifest = SandboxMarker & { made?: SandboxManifest };

/** Sandbox-relative, with '/' and no '..': the only form a manifest path may take. */
export function isPlainRelative(rel: string): boolean {
  return (
    rel !== '' &&
    !path.isAbsolute(rel) &&
    rel.split('/').every((p) => p !== '' && p !== '.' && p !== '..')
  );
}

/**
 * The manifest of one create: the files it is about to write (hashed from
 * the bytes it will write) and the directories it makes, merged with an
 * earlier create's record when it writes over one of ours (--force): what
 * the first create made is still ours. Made before anything is written, so a
 * create killed half way leaves a sandbox `sandbox remove` can delete.
 */
export function manifestOf(
  files: { rel: string; content: Buffer }[],
  dirsMade: string[],
  before?: SandboxManifest,
): SandboxManifest {
  const out: SandboxManifest = {
    files: { ...(before?.files ?? {}) },
    dirs: [...new Set([...(before?.dirs ?? []), ...dirsMade])].sort(),
  };
  for (const f of files) out.files[f.rel.split(path.sep).join('/')] = sha256(f.content);
  return out;
}

export async function readSandboxMarker(
  root: string,
): Promise<SandboxMarkerWithManifest | undefined> {
  const st = await fs.lstat(path.join(root, SANDBOX_MARKER)).catch(() => undefined);
  if (!st?.isFile()) return undefined;
  const m = await readJson<SandboxMarkerWithManifest>(path.join(root, SANDBOX_MARKER)).catch(
    () => undefined,
  );
  return m?.kind === 'sandbox' ? m : undefined;
}

/**
 * `text` without apxs-ts's marked blocks: what the file would hold had no
 * apxs-ts command (install, vhost add, ctl loglevel) edited it since. Those
 * commands change a sandbox's files only inside such blocks, so a file whose
 * text outside the blocks is what create wrote is still apxs-ts's. Undefined
 * when the markers are malformed (then it is not provably ours).
 */
export function withoutApxsBlocks(text: string): string | undefined {
  try {
    // removeBlock undoes exactly what upsertBlock did (also the newline it adds to a file without a
    // final one).
    let out = text;
    for (const b of scanBlocks(text)) out = removeBlock(out, b.id);
    return out;
  } catch {
    return undefined;
  }
}
