/**
 * Where the kernel puts a crashed process's core (kernel.core_pattern), read
 * and explained, never changed: it is the system's setting. A relative
 * pattern ("core") lands in the process's directory, which the crash
 * recorder makes the crash's own; an absolute one lands there; a pipe
 * ("|/usr/lib/systemd/systemd-coredump ...", apport) hands it to that
 * program, whose tool (coredumpctl) can give it back.
 */
import { readTextIfAny } from '../core/fs.js';

export interface CorePattern {
  pattern: string;
  usesPid: boolean;
  /**
   * 'directory': the core lands in the crashed process's directory; 'path': in a fixed place;
   * 'pipe': handed to a program.
   */
  kind: 'directory' | 'path' | 'pipe' | 'unknown';
  /** The program a pipe hands cores to. */
  handler: string | undefined;
}

export function readCorePattern(procDir = '/proc/sys/kernel'): CorePattern {
  const pattern = (readTextIfAny(`${procDir}/core_pattern`) ?? '').trim();
  const usesPid = (readTextIfAny(`${procDir}/core_uses_pid`) ?? '0').trim() === '1';
  if (!pattern) return { pattern, usesPid, kind: 'unknown', handler: undefined };
  if (pattern.startsWith('|'))
    return { pattern, usesPid, kind: 'pipe', handler: pattern.slice(1).trim().split(/\s+/)[0] };
  return {
    pattern,
    usesPid,
    kind: pattern.startsWith('/') ? 'path' : 'directory',
    handler: undefined,
  };
}

/** What to do, or to know, when a crash left no core beside its frames. */
export function corePatternAdvice(p: CorePattern): string {
  const keep =
    'to keep cores beside each crash, an administrator can run `sysctl ' +
    '-w kernel.core_pattern=core` (apxs-ts never changes it)';
  switch (p.kind) {
    case 'pipe':
      if (p.handler && /systemd-coredump/.test(p.handler))
        return (
          `kernel.core_pattern hands cores to systemd-coredump: \`coredumpctl ` +
          `list httpd\`, \`coredumpctl gdb PID\`; ${keep}`
        );
      if (p.handler && /apport/.test(p.handler))
        return (
          'kernel.core_pattern hands cores to apport (/var/crash/*.crash, ' +
          `which keeps only some); ${keep}`
        );
      return `kernel.core_pattern pipes cores to ${p.handler ?? 'a program'}; ${keep}`;
    case 'path':
      return (
        `kernel.core_pattern writes cores to ${p.pattern} ` +
        `(%p is the pid), not beside the crash; ${keep}`
      );
    case 'directory':
      return (
        `kernel.core_pattern is "${p.pattern}" (into the crash's directory): no core was ` +
        'written, so the core size limit was 0 for that process or the disk was full'
      );
    default:
      return 'kernel.core_pattern could not be read';
  }
}
