import type { Command } from 'commander';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ApxsError } from '../lib/core/errors.js';
import { jobsArg, portArg, timeoutArg } from './options.js';
import { acquire, findRelease, listReleases, mirrorsFrom, sourceCacheDir, verifyAgainst } from '../lib/source/acquire.js';
import { publishedBeside, publishedFor } from '../lib/source/published.js';
import { buildFromSource } from '../lib/source/build.js';
import { checkCacheDir } from '../lib/source/cache.js';
import { installedVersions, recordBuild, uninstallVersion } from '../lib/source/receipts.js';
import { detectServerRoot } from '../lib/httpd/server-root.js';
import { stopFiles } from '../lib/ctl/server-files.js';
import { serverState } from '../lib/ctl/server-state.js';
import type { DownloadProgress, FetchNotice } from '../lib/source/fetch.js';
import { parseSize, type DownloadLimits } from '../lib/source/limits.js';
import type { PhaseEvent } from '../lib/source/phase.js';
import { writeErr } from './output.js';
import { isJson, outputMode, progress } from './progress.js';
import type { Outcome } from './types.js';

interface Common {
  mirror?: string;
  cacheDir?: string;
  keys?: string;
  insecure?: boolean;
  maxSize?: string;
  /** Seconds, checked by the one number parser (commands/options.ts). */
  stallTimeout?: number;
  deadline?: number;
}

/** --max-size, --stall-timeout, --deadline; what is not given keeps its default (lib/source/limits.ts). */
function limitsOf(o: Common): Partial<DownloadLimits> {
  return {
    ...(o.maxSize !== undefined ? { maxSize: parseSize(o.maxSize) } : {}),
    ...(o.stallTimeout !== undefined ? { stallMs: Math.round(o.stallTimeout * 1000) } : {}),
    ...(o.deadline !== undefined ? { deadlineMs: Math.round(o.deadline * 1000) } : {}),
  };
}

const mb = (n: number) => (n / 1e6).toFixed(1);

/** A retry or a restart of a download: always a line of its own on stderr (--json too: stdout keeps the one object). */
function printNotice(n: FetchNotice): void {
  if (!outputMode().quiet) writeErr(`download: ${n.message}\n`);
}

/** Progress on a TTY as a spinner line; elsewhere a plain line now and then. */
async function reporter(json: boolean) {
  const spinner = await progress(json);
  const tty = spinner.live;
  let lastPlain = 0;
  let lastPhase = '';
  const plain = (text: string, force = false) => {
    if (json) return;
    if (force || Date.now() - lastPlain > 10_000) {
      writeErr(`${text}\n`);
      lastPlain = Date.now();
    }
  };
  spinner.start('');
  return {
    download(p: DownloadProgress) {
      const text = `download ${mb(p.bytes)}${p.total ? `/${mb(p.total)}` : ''} MB at ${mb(p.bytesPerSec)} MB/s`;
      if (tty) spinner.update(text);
      else plain(text, p.total !== undefined && p.bytes === p.total);
    },
    phase(e: PhaseEvent) {
      const text = `${e.phase} ${Math.round(e.elapsedMs / 1000)}s: ${e.line}`;
      if (tty) spinner.update(text);
      else plain(text, e.phase !== lastPhase);
      lastPhase = e.phase;
    },
    notice: printNotice,
    stop: () => spinner.stop(),
  };
}

function common(c: Command): Command {
  return c
    .option('--mirror <url>', 'mirror directory (http, https, file URL or path; env APXS_TS_MIRROR)')
    .option('--cache-dir <dir>', 'where tarballs are kept (default: $XDG_CACHE_HOME/apxs-ts/sources)')
    .option('--keys <file>', 'a local copy of Apache\'s KEYS (default: fetched from the ASF)')
    .option('--insecure', 'use a release that has no checksum or signature')
    .option('--max-size <size>', 'largest file a mirror may send, e.g. 64M (default 64M)')
    .option('--stall-timeout <s>', 'give up a request when no byte came for this long (default 30; retried)', timeoutArg)
    .option('--deadline <s>', 'give up a download that takes longer than this, retries included (default 900)', timeoutArg);
}

export async function list(o: { mirror?: string }): Promise<Outcome> {
  const listings = await listReleases(mirrorsFrom(o.mirror));
  const all = new Map<string, { version: string; file: string; mirror: string }>();
  for (const l of listings) for (const r of l.releases) if (!all.has(r.version)) all.set(r.version, { version: r.version, file: r.file, mirror: l.mirror });
  const releases = [...all.values()];
  const bySeries = ['2.4', '2.2', '2.0', '1.3'].map((s) => ({ series: s, versions: releases.filter((r) => r.version.startsWith(`${s}.`)).map((r) => r.version) })).filter((s) => s.versions.length);
  return { data: { mirrors: listings.map((l) => l.mirror), series: bySeries, releases }, stdout: bySeries.map((s) => `${s.series}: ${s.versions.join(' ')}`) };
}

export async function download(version: string, o: Common): Promise<Outcome> {
  // Before the first request: an unusable cache would otherwise surface as a failed download after the retries.
  const limits = limitsOf(o);
  const cacheDir = await checkCacheDir(o.cacheDir ?? sourceCacheDir(), { create: true });
  const rep = await reporter(isJson());
  try {
    const { mirror, release } = findRelease(await listReleases(mirrorsFrom(o.mirror), { limits, onNotice: (n) => rep.notice(n) }), version);
    const v = await acquire(mirror, release, { cacheDir, keysFile: o.keys, insecure: o.insecure, limits, onProgress: (p) => rep.download(p), onNotice: (n) => rep.notice(n) });
    return {
      data: { version: release.version, ...v },
      human: [`${v.file}${v.fromCache ? ' (from the cache, verified again)' : ''}`,
        v.checksum ? `${v.checksum.algorithm} ok` : 'no checksum (--insecure)',
        v.signer ? `signed by ${v.signer.userId ?? '?'} (${v.signer.fingerprint})` : 'no signature (--insecure)', ...v.warnings.map((w) => `warning: ${w}`)],
    };
  } finally {
    rep.stop();
  }
}

export async function verify(what: string, o: Common): Promise<Outcome> {
  const cacheDir = o.cacheDir ?? sourceCacheDir();
  const isFile = what.includes('/') || what.endsWith('.tar.gz') || what.endsWith('.tar.bz2');
  let file: string | undefined;
  let published;
  let url: string | undefined;
  const nameVersion = (f: string) => /^(?:httpd-|apache_)(\d+\.\d+\.\d+)\.tar\.(?:gz|bz2)$/.exec(path.basename(f))?.[1];
  if (isFile) {
    file = path.resolve(what);
    if (!(await fs.stat(file).then((st) => st.isFile(), () => false))) {
      throw new ApxsError('BAD_INPUT', `${file} is not a file`, { hint: 'give the path of a tarball, or a version in the cache (apxs-ts source verify 2.4.68)' });
    }
    // What lies beside the file is what it came with; the mirror is asked only when nothing does.
    published = await publishedBeside(file);
    if (published) url = pathToFileURL(file).href;
  }
  if (!published) {
    const name = file ? path.basename(file) : undefined;
    const version = file ? nameVersion(file) : what;
    if (!version) {
      throw new ApxsError('BAD_INPUT', `${file} has no .sha512, .sha256, .sha1, .md5 or .asc beside it, and is not named like a release (httpd-2.4.68.tar.gz)`, {
        hint: 'put the release\'s checksum and signature files beside it, or verify a version: apxs-ts source verify 2.4.68',
      });
    }
    const { mirror, release } = findRelease(await listReleases(mirrorsFrom(o.mirror), { limits: limitsOf(o), onNotice: printNotice }), version);
    // A file given by path is checked as itself (a .bz2 against the .bz2's checksum), not as the release's preferred tarball.
    url = `${mirror}${name ?? release.file}`;
    file ??= path.join(cacheDir, release.file);
    if (!(await fs.stat(file).then((st) => st.isFile(), () => false))) {
      throw new ApxsError('NOT_FOUND', `${file} is not in the cache`, { hint: `apxs-ts source download ${what}` });
    }
    published = await publishedFor(url, { limits: limitsOf(o), onNotice: printNotice });
  }
  const v = await verifyAgainst(file!, url!, published, {}, { cacheDir, keysFile: o.keys, insecure: o.insecure });
  return {
    data: { version: nameVersion(file!), ...v },
    human: [`${file}: ${v.checksum ? `${v.checksum.algorithm} ok` : 'no checksum (--insecure)'}; ${v.signer ? `signed by ${v.signer.userId ?? '?'} (${v.signer.fingerprint})` : 'no signature (--insecure)'}`,
      `checked against ${v.checkedAgainst}`, ...v.warnings.map((w) => `warning: ${w}`)],
  };
}

export async function build(version: string, extra: string[], o: Common & { prefix?: string; port: number; jobs?: number; dryRun?: boolean }): Promise<Outcome> {
  const port = o.port;
  const limits = limitsOf(o);
  const rep = await reporter(isJson());
  try {
    const res = await buildFromSource({
      limits,
      version, mirrors: mirrorsFrom(o.mirror), cacheDir: o.cacheDir ?? sourceCacheDir(), prefix: o.prefix, port,
      jobs: o.jobs, keysFile: o.keys, insecure: o.insecure, dryRun: o.dryRun, configureArgs: extra,
      onEvent: (e) => ('progress' in e ? rep.download(e.progress) : 'notice' in e ? rep.notice(e.notice) : rep.phase(e)),
    });
    if (res.dryRun) return { data: { ...res }, stdout: res.steps.map((s, i) => `${i + 1}. ${s}`), human: res.warnings.map((w) => `warning: ${w}`) };
    const r = res.receipt!;
    // A prefix outside the per-user directory is recorded, so that `source versions` finds it;
    // a cache dir that cannot be written must not turn a finished build into a failure.
    const unrecorded = await recordBuild(res.prefix, r).then(() => undefined, (e: unknown) => `${res.prefix} is not recorded for \`source versions\`: ${(e as Error).message}`);
    return {
      data: { ...res },
      human: [`httpd ${r.version} installed in ${res.prefix} (${Object.entries(r.phasesMs).map(([k, v]) => `${k} ${(v / 1000).toFixed(0)}s`).join(', ')})`,
        `verified: ${r.checksum?.algorithm ?? 'no checksum'}, signed by ${r.signer?.userId ?? '(none)'}`,
        ...r.fixes.map((f) => `legacy fix: ${f.description}`), ...[...res.warnings, ...(unrecorded ? [unrecorded] : [])].map((w) => `warning: ${w}`),
        `next: apxs-ts ctl start --server-root ${res.prefix}`],
    };
  } finally {
    rep.stop();
  }
}

export async function versions(): Promise<Outcome> {
  const v = await installedVersions();
  return {
    data: { ...v },
    stdout: v.installs.map((i) => `${i.version}\t${i.prefix}`),
    human: [...(v.installs.length ? [] : [`nothing built yet (apxs-ts source build VERSION installs into ${v.installsDir}/VERSION)`]),
      ...v.dropped.map((d) => `dropped from the record: ${d} (no receipt there any more)`)],
  };
}

export async function uninstall(version: string, o: { prefix?: string }): Promise<Outcome> {
  const removed = await uninstallVersion(version, { prefix: o.prefix, runningPid });
  return { data: { ...removed }, human: [`removed httpd ${removed.version}: ${removed.prefix}`] };
}

/** The httpd running from `prefix` (parent, or orphaned workers), as ctl stop finds it: no config parse. */
async function runningPid(prefix: string): Promise<number | undefined> {
  const sr = await detectServerRoot(prefix).catch(() => undefined);
  if (!sr) return undefined; // no longer a server root (bin/httpd or conf/httpd.conf gone): ctl could not find it either
  const { running, parents, orphans } = await serverState(sr, (await stopFiles(sr)).pidFile);
  return running?.pid ?? parents[0] ?? orphans[0];
}
