/**
 * lib/core/proc.ts's identity rule at its edges (issue #16, mutation
 * testing): `-d` as the very first word of a command line, a binary whose
 * real path holds " (deleted)" in its middle, and a binary that does not
 * exist (its name is compared as given). Pure: ProcInfo values, no process.
 */
import { describe, expect, it } from 'vitest';
import type { ProcInfo } from '../../lib/core/proc.js';
import { isServerProcess } from '../../lib/ctl/identity.js';

const info = (o: Partial<ProcInfo>): ProcInfo => ({
  pid: 10,
  ppid: 1,
  session: 10,
  state: 'S',
  startedAt: undefined,
  exe: '/srv/bin/httpd',
  cmdline: ['/srv/bin/httpd', '-d', '/srv'],
  ...o,
});

describe('isServerProcess at the edges', () => {
  it('-d as the first word (argv[0] set to -d) still names the root', () => {
    expect(
      isServerProcess(
        info({ cmdline: ['-d', '/srv'] }),
        { binary: '/srv/bin/httpd', serverRoot: '/srv' },
        '/srv/bin/httpd',
      ),
    ).toBe(true);
    expect(
      isServerProcess(
        info({ cmdline: ['-d', '/other'] }),
        { binary: '/srv/bin/httpd', serverRoot: '/srv', defaultRoot: '/srv' },
        '/srv/bin/httpd',
      ),
    ).toBe(false);
  });

  it('only a trailing " (deleted)" is the kernel\'s mark; one inside the path is part of the name', () => {
    const real = '/opt/a (deleted)b/httpd';
    const id = { binary: real, serverRoot: '/srv' };
    expect(isServerProcess(info({ exe: real }), id, real)).toBe(true);
    expect(isServerProcess(info({ exe: `${real} (deleted)` }), id, real)).toBe(true);
    expect(isServerProcess(info({ exe: '/opt/ab/httpd' }), id, real)).toBe(false);
  });

  it('a binary that does not exist is compared by the name given', () => {
    const id = { binary: '/nonexistent/apxs-ts-test/httpd', serverRoot: '/srv' };
    expect(isServerProcess(info({ exe: '/nonexistent/apxs-ts-test/httpd' }), id)).toBe(true);
    expect(isServerProcess(info({ exe: '/srv/bin/httpd' }), id)).toBe(false);
  });
});
