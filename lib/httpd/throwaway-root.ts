/**
 * A throwaway server root for `apxs-ts test`: a private root on a free port
 * that one case file's run owns, deleted after it. Two kinds:
 *
 *  - no target, or a sandbox or Debian root: a sandbox of the system's httpd
 *    (createSandbox, not added to the user's list of sandboxes);
 *  - an httpd prefix (any series, e.g. `source build`'s): a clone whose
 *    conf/ is a copy with the prefix's path replaced by the clone's and the
 *    listening lines replaced by the dialect's for the new port; its module
 *    directory holds links to the prefix's .so files (so an install writes
 *    the clone's own copy); logs/ and htdocs/ are its own; everything else
 *    (bin/, lib/, build/, include/) is a link to the prefix, which is never
 *    written to.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { escapeRegExp } from '../core/fs.js';
import { dialectOf } from './dialect.js';
import { serverProfile } from './profile.js';
import { createSandbox } from './sandbox.js';
import { detectServerRoot, type ServerRoot } from './server-root.js';

export interface ThrowawayRoot {
  sr: ServerRoot;
  port: number;
  /** What it was made from: the system's httpd (a sandbox) or the prefix cloned. */
  from: string;
}

/** Entries of a prefix that the clone gets its own of (the rest are links). */
const OWN_DIRS = new Set(['logs', 'htdocs']);
const MODULE_DIRS = new Set(['modules', 'libexec']);
/** apxs-ts's records of the prefix (its ledger, its build receipt): not the clone's. */
const SKIPPED = new Set(['.apxs-ts', 'apxs-ts-receipt.json', 'apxs-ts-sandbox.json']);

async function copyConf(from: string, to: string, replace: (t: string) => string): Promise<void> {
  await fs.mkdir(to, { recursive: true, mode: 0o755 });
  for (const e of await fs.readdir(from, { withFileTypes: true })) {
    const src = path.join(from, e.name);
    const dest = path.join(to, e.name);
    if (e.isDirectory()) await copyConf(src, dest, replace);
    else if (e.isFile()) {
      const buf = await fs.readFile(src);
      // Config text is rewritten; anything binary (none is shipped) is copied as it is.
      await fs.writeFile(dest, buf.includes(0) ? buf : replace(buf.toString('utf8')), {
        mode: 0o644,
      });
    }
  }
}

/**
 * Clones the prefix `target` into `dir` (which must not exist yet or be empty), listening on
 * 127.0.0.1:`port`.
 */
async function clonePrefix(target: ServerRoot, dir: string, port: number): Promise<ServerRoot> {
  const { series } = await serverProfile(target);
  const listen = dialectOf(series).listen;
  const prefixRe = new RegExp(escapeRegExp(target.root), 'g');
  await fs.mkdir(dir, { recursive: true, mode: 0o755 });
  await fs.chmod(dir, 0o755);
  for (const e of await fs.readdir(target.root, { withFileTypes: true })) {
    if (SKIPPED.has(e.name)) continue;
    const src = path.join(target.root, e.name);
    const dest = path.join(dir, e.name);
    if (e.name === 'conf' && e.isDirectory()) {
      await copyConf(src, dest, (t) => t.replace(prefixRe, dir));
    } else if (e.name === 'sites' && e.isDirectory()) {
      // vhosts apxs-ts added to the prefix are the prefix's, not the clone's
      await fs.mkdir(dest, { mode: 0o755 });
    } else if (OWN_DIRS.has(e.name) && e.isDirectory()) {
      await fs.mkdir(dest, { mode: 0o755 });
      // A page at / (the prefix's many index.html.LANG are not needed): a request there is no 403
      // or 404 line in the log.
      if (e.name === 'htdocs')
        await fs.writeFile(
          path.join(dest, 'index.html'),
          '<html><body><h1>It works!</h1></body></html>\n',
          { mode: 0o644 },
        );
    } else if (MODULE_DIRS.has(e.name) && e.isDirectory()) {
      await fs.mkdir(dest, { mode: 0o755 });
      for (const m of await fs.readdir(src))
        await fs.symlink(path.join(src, m), path.join(dest, m));
    } else {
      await fs.symlink(src, dest);
    }
  }
  // The listening lines: the shipped ones out, the dialect's for this port in (once, where the
  // first was).
  const main = path.join(dir, path.relative(target.root, target.configFile));
  let text = await fs.readFile(main, 'utf8');
  let first = true;
  text = text.replace(listen.shipped, (_m, indent: string) => {
    if (!first) return `${indent}# (apxs-ts test: replaced by the lines above)`;
    first = false;
    return listen
      .lines(port)
      .map((l) => `${indent}${l}`)
      .join('\n');
  });
  // A ServerName of the prefix's port (2.x writes localhost:PORT) would name the wrong port in
  // self-made URLs.
  text = text.replace(/^([ \t]*)ServerName[ \t]+\S+[ \t]*$/gm, (m) =>
    listen.lines(port).includes(m.trim()) ? m : `# ${m.trim()} (apxs-ts test: see above)`,
  );
  if (first) text += `\n${listen.lines(port).join('\n')}\n`;
  await fs.writeFile(main, text);
  return detectServerRoot(dir);
}

/**
 * A new server root in `dir` on `port`: a sandbox of the system httpd, or a
 * clone of `target` when that is an httpd prefix (the way to test on 1.3,
 * 2.0, 2.2 or a 2.4 built from source).
 */
export async function createThrowawayRoot(
  dir: string,
  port: number,
  target?: ServerRoot,
): Promise<ThrowawayRoot> {
  if (target && target.layout.buildRoot(target) !== undefined) {
    return { sr: await clonePrefix(target, dir, port), port, from: target.root };
  }
  const res = await createSandbox({ dir, port, register: false });
  return { sr: await detectServerRoot(res.root), port, from: res.httpd };
}
