import { runningHttpdPid } from '../lib/ctl/running-httpd.js';
import {
  acquire,
  findRelease,
  listReleases,
  mirrorsFrom,
  sourceCacheDir,
} from '../lib/source/acquire.js';
import { buildFromSource } from '../lib/source/build.js';
import { checkCacheDir } from '../lib/source/cache.js';
import type { DownloadProgress, FetchNotice } from '../lib/source/fetch.js';
import { parseSize, type DownloadLimits } from '../lib/source/limits.js';
import type { PhaseEvent } from '../lib/source/phase.js';
import { installedVersions, recordBuild, uninstallVersion } from '../lib/source/receipts.js';
import { releasesBySeries } from '../lib/source/release-list.js';
import { verifyRelease } from '../lib/source/verify-release.js';
import { warningLines, writeErr } from './output.js';
import { isJson, outputMode, progress } from './progress.js';
import type { Outcome } from './types.js';
import type { ChangeOptions } from '../lib/core/change-report.js';
import { changeOutcome } from './change-output.js';

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

/**
 * --max-size, --stall-timeout, --deadline; what is not given keeps its default
 * (lib/source/limits.ts).
 */
function limitsOf(o: Common): Partial<DownloadLimits> {
  return {
    ...(o.maxSize !== undefined ? { maxSize: parseSize(o.maxSize) } : {}),
    ...(o.stallTimeout !== undefined ? { stallMs: Math.round(o.stallTimeout * 1000) } : {}),
    ...(o.deadline !== undefined ? { deadlineMs: Math.round(o.deadline * 1000) } : {}),
  };
}

const mb = (n: number) => (n / 1e6).toFixed(1);

/**
 * A retry or a restart of a download: always a line of its own on stderr (--json too: stdout keeps
 * the one object).
 */
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
      const text =
        `download ${mb(p.bytes)}${p.total ? `/${mb(p.total)}` : ''} ` +
        `MB at ${mb(p.bytesPerSec)} MB/s`;
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

export async function list(o: { mirror?: string }): Promise<Outcome> {
  const listings = await listReleases(mirrorsFrom(o.mirror));
  const { releases, series } = releasesBySeries(listings);
  return {
    data: { mirrors: listings.map((l) => l.mirror), series, releases },
    stdout: series.map((s) => `${s.series}: ${s.versions.join(' ')}`),
  };
}

export async function download(version: string, o: Common): Promise<Outcome> {
  // Before the first request: an unusable cache would otherwise surface as a failed download after
  // the retries.
  const limits = limitsOf(o);
  const cacheDir = await checkCacheDir(o.cacheDir ?? sourceCacheDir(), { create: true });
  const rep = await reporter(isJson());
  try {
    const { mirror, release } = findRelease(
      await listReleases(mirrorsFrom(o.mirror), { limits, onNotice: (n) => rep.notice(n) }),
      version,
    );
    const v = await acquire(mirror, release, {
      cacheDir,
      keysFile: o.keys,
      insecure: o.insecure,
      limits,
      onProgress: (p) => rep.download(p),
      onNotice: (n) => rep.notice(n),
    });
    return {
      data: { version: release.version, ...v },
      human: [
        `${v.file}${v.fromCache ? ' (from the cache, verified again)' : ''}`,
        v.checksum ? `${v.checksum.algorithm} ok` : 'no checksum (--insecure)',
        v.signer
          ? `signed by ${v.signer.userId ?? '?'} (${v.signer.fingerprint})`
          : 'no signature (--insecure)',
        ...warningLines(v.warnings),
      ],
    };
  } finally {
    rep.stop();
  }
}

export async function verify(what: string, o: Common): Promise<Outcome> {
  const {
    file,
    version,
    verified: v,
  } = await verifyRelease(what, {
    cacheDir: o.cacheDir ?? sourceCacheDir(),
    mirrors: mirrorsFrom(o.mirror),
    keysFile: o.keys,
    insecure: o.insecure,
    limits: limitsOf(o),
    onNotice: printNotice,
  });
  return {
    data: { version, ...v },
    human: [
      `${file}: ${v.checksum ? `${v.checksum.algorithm} ok` : 'no checksum (--insecure)'}; ` +
        (v.signer
          ? `signed by ${v.signer.userId ?? '?'} (${v.signer.fingerprint})`
          : 'no signature (--insecure)'),
      `checked against ${v.checkedAgainst}`,
      ...warningLines(v.warnings),
    ],
  };
}

export async function build(
  version: string,
  extra: string[],
  o: Common & { prefix?: string; port: number; jobs?: number; withSsl?: boolean } & ChangeOptions,
): Promise<Outcome> {
  const port = o.port;
  const limits = limitsOf(o);
  const rep = await reporter(isJson());
  try {
    const res = await buildFromSource({
      limits,
      version,
      mirrors: mirrorsFrom(o.mirror),
      cacheDir: o.cacheDir ?? sourceCacheDir(),
      prefix: o.prefix,
      port,
      jobs: o.jobs,
      keysFile: o.keys,
      insecure: o.insecure,
      // --check (and its older name --dry-run): every step and URL, run none.
      dryRun: o.check,
      configureArgs: extra,
      withSsl: o.withSsl,
      onEvent: (e) =>
        'progress' in e
          ? rep.download(e.progress)
          : 'notice' in e
            ? rep.notice(e.notice)
            : rep.phase(e),
    });
    // A whole installed tree: no file diff (steps says what a build does).
    if (!res.changed)
      return changeOutcome(
        o,
        {
          changed: false,
          msg: `httpd ${res.version} is already built in ${res.prefix} with these options and port`,
          warnings: res.warnings,
          diff: [],
        },
        { ...res },
      );
    if (res.dryRun) {
      const out = changeOutcome(
        o,
        {
          changed: true,
          msg: `would build httpd ${res.version} into ${res.prefix}`,
          warnings: res.warnings,
          diff: [],
        },
        { ...res },
        warningLines(res.warnings),
      );
      return { ...out, stdout: res.steps.map((s, i) => `${i + 1}. ${s}`) };
    }
    const r = res.receipt!;
    // A prefix outside the per-user directory is recorded, so that `source versions` finds it;
    // a cache dir that cannot be written must not turn a finished build into a failure.
    const unrecorded = await recordBuild(res.prefix, r).then(
      () => undefined,
      (e: unknown) =>
        `${res.prefix} is not recorded for \`source versions\`: ${(e as Error).message}`,
    );
    const warnings = [...res.warnings, ...(unrecorded ? [unrecorded] : [])];
    return changeOutcome(
      o,
      { changed: true, msg: `built httpd ${r.version} into ${res.prefix}`, warnings, diff: [] },
      { ...res },
      [
        `httpd ${r.version} installed in ${res.prefix} (${Object.entries(r.phasesMs)
          .map(([k, v]) => `${k} ${(v / 1000).toFixed(0)}s`)
          .join(', ')})`,
        `verified: ${r.checksum?.algorithm ?? 'no checksum'}, ` +
          `signed by ${r.signer?.userId ?? '(none)'}`,
        ...r.fixes.map((f) => `legacy fix: ${f.description}`),
        ...warningLines(warnings),
        `next: apxs-ts ctl start --server-root ${res.prefix}`,
      ],
    );
  } finally {
    rep.stop();
  }
}

export async function versions(): Promise<Outcome> {
  const v = await installedVersions();
  return {
    data: { ...v },
    stdout: v.installs.map((i) => `${i.version}\t${i.prefix}`),
    human: [
      ...(v.installs.length
        ? []
        : [
            'nothing built yet (apxs-ts source build VERSION ' +
              `installs into ${v.installsDir}/VERSION)`,
          ]),
      ...v.dropped.map((d) => `dropped from the record: ${d} (no receipt there any more)`),
    ],
  };
}

export async function uninstall(
  version: string,
  o: { prefix?: string } & ChangeOptions,
): Promise<Outcome> {
  const { diff, ...removed } = await uninstallVersion(version, {
    prefix: o.prefix,
    runningPid: runningHttpdPid,
    check: o.check,
  });
  const msg = !removed.changed
    ? `httpd ${version} is not installed${o.prefix ? ` in ${removed.prefix}` : ''}: ` +
      'nothing to remove'
    : `${o.check ? 'would remove' : 'removed'} httpd ${removed.version}: ${removed.prefix}`;
  return changeOutcome(o, { changed: removed.changed, msg, warnings: [], diff }, { ...removed });
}
