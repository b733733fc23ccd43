// `prepare` and `prepack`: builds dist/ (tsc, then the bundle), first
// installing the devDependencies when they are missing.
//
// `npm install -g git+URL` (npm 7 to 11) prepares the clone with a nested
// `npm install` that inherits the global flag (npm/cli#8440, #3692): it
// installs no devDependencies (so `tsc` is not found) and links the clone
// itself into the global prefix in place of the directory the real install
// extracts into (which then writes through the link into a temp dir npm
// deletes). When run there (pacote marks it with _PACOTE_NO_PREPARE_), this
// script puts that directory back in place of the stray link, installs the
// devDependencies as a local install of the clone, and builds, so the tarball
// npm packs from the clone has dist/.
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  realpathSync,
  renameSync,
  rmSync,
} from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;
const npm = env.npm_execpath;
const run = (args, runEnv = env) => {
  const r = npm
    ? spawnSync(process.execPath, [npm, ...args], { cwd: root, stdio: 'inherit', env: runEnv })
    : spawnSync('npm', args, { cwd: root, stdio: 'inherit', env: runEnv });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

const globalGitPrep =
  !!env._PACOTE_NO_PREPARE_ && env.npm_config_global === 'true' && !!env.npm_config_prefix;
if (globalGitPrep) {
  const linkTo = (p) => {
    try {
      return lstatSync(p).isSymbolicLink() ? realpathSync(p) : undefined;
    } catch {
      return undefined;
    }
  };
  const here = realpathSync(root);
  const lib =
    process.platform === 'win32' ? env.npm_config_prefix : path.join(env.npm_config_prefix, 'lib');
  const pkgLink = path.join(lib, 'node_modules', 'apxs-ts');
  // The real install made this directory (and may have unpacked the runtime
  // dependencies into it) before the nested install retired it to
  // .apxs-ts-XXXX and put the link in its place; its trash is removed only
  // after this script. Give the directory back.
  if (linkTo(pkgLink) === here) {
    const nm = path.dirname(pkgLink);
    const retired = readdirSync(nm)
      .filter((n) => /^\.apxs-ts-[A-Za-z0-9]+$/.test(n))
      .map((n) => path.join(nm, n))
      .filter((p) => lstatSync(p).isDirectory())
      .sort((a, b) => lstatSync(b).mtimeMs - lstatSync(a).mtimeMs);
    rmSync(pkgLink);
    if (retired[0]) renameSync(retired[0], pkgLink);
    else mkdirSync(pkgLink);
  }
}

const needed = ['typescript/bin/tsc', 'esbuild/package.json', '@types/node/package.json'];
if (!needed.every((f) => existsSync(path.join(root, 'node_modules', f)))) {
  const local = Object.fromEntries(
    Object.entries(env).filter(
      ([k]) => !/^npm_config_(global|location|prefix)$/i.test(k) && k !== '_PACOTE_NO_PREPARE_',
    ),
  );
  run(
    [
      'install',
      '--include=dev',
      '--no-save',
      '--ignore-scripts',
      '--no-audit',
      '--no-fund',
      '--global=false',
    ],
    local,
  );
}
run(['run', '--silent', 'build']);
