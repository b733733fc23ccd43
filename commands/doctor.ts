import { ApxsError } from '../lib/core/errors.js';
import { doctor, type DoctorReport } from '../lib/dev/doctor.js';
import { targetServerRootPath } from './server-root.js';
import { hostsFileOf } from './options.js';
import { namedPathMustExist } from './paths.js';
import type { Outcome } from './types.js';

function lines(r: DoctorReport): string[] {
  const h = r.httpd;
  const or = (v: string | null | undefined, none = 'not found') => v ?? none;
  return [
    'server root: ' +
      (r.serverRoot
        ? `${r.serverRoot.kind} ${r.serverRoot.path} (${r.serverRoot.config})`
        : 'none'),
    'httpd:       ' +
      `${
        h
          ? `${h.binary} ${or(h.version, '?')} (series ${or(h.series, '?')}, ` +
            `MPM ${or(h.mpm, '?')})`
          : 'unknown'
      }${r.running ? `, running as pid ${r.running.pid}` : ''}`,
    `compiler:    ${r.compiler.cc}: ${or(r.compiler.ccVersion)}; ` +
      `${r.compiler.cxx}: ${or(r.compiler.cxxVersion)}`,
    `apxs:        ${or(r.apxs)}`,
    ...(r.flags
      ? [`cflags:      ${r.flags.cflags.join(' ')}`, `ldflags:     ${r.flags.ldflags.join(' ')}`]
      : []),
    `hosts file:  ${r.hostsFile.path} ` +
      `${r.hostsFile.writable ? 'writable' : `not writable (names: ${r.hostsFile.fix})`}`,
    ...r.listen.map(
      (l) => `listen:      ${l.address} ${l.status}${l.holder ? ` by ${l.holder}` : ''}`,
    ),
    ...(r.tls.ca
      ? [
          `local CA:    ${r.tls.ca.file} until ${r.tls.ca.notAfter.slice(0, 10)}, ` +
            `${r.tls.ca.systemTrusted ? 'trusted by the system store' : 'not in the system store'}`,
        ]
      : []),
    ...r.tls.certificates.map(
      (c) =>
        `tls:         ${c.vhost} until ${c.notAfter.slice(0, 10)} ` +
        `(${c.daysLeft} days)${c.present ? '' : ' MISSING'}`,
    ),
    ...r.warnings.map((w) => `warning:     ${w}`),
    ...(r.missing.length
      ? ['missing:', ...r.missing.map((m) => `  ${m.what}: ${m.why}\n    fix: ${m.fix}`)]
      : ['nothing missing']),
  ];
}

export async function report(o: { serverRoot?: string; hostsFile?: string }): Promise<Outcome> {
  // A server root the user named that is not there is bad input (exit 2), as for every command, not
  // a "missing" finding.
  if (o.serverRoot) namedPathMustExist(o.serverRoot, 'server root');
  const r = await doctor(await targetServerRootPath(o), hostsFileOf(o));
  if (r.missing.length) {
    const first = r.missing[0]!;
    throw new ApxsError(
      'TOOL_MISSING',
      `${r.missing.length} thing${r.missing.length === 1 ? ' is' : 's are'} ` +
        `missing: ${r.missing.map((m) => m.what).join(', ')}`,
      {
        details: lines(r),
        hint: `first: ${first.fix}`,
        data: { ...r },
      },
    );
  }
  return { data: { ...r }, stdout: lines(r) };
}
