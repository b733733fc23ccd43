#!/usr/bin/env python3
"""Start-up of two installs of apxs-ts measured in one run, for a before/after on a busy machine.

Usage: python3 bench/startup-side-by-side.py RUNS OLD_BIN NEW_BIN WORK
  OLD_BIN, NEW_BIN: bin/apxs-ts.js of two packages (bin/, dist/apxs-ts.cjs, package.json, templates/,
  node_modules/); WORK: a directory with apxs-ts.json naming a running sandbox and mod_hello/ built
  (what bench/startup.sh sets up). For each case, `node -e 0`, OLD and NEW run alternately; printed:
  the median per-run ratio to `node -e 0` of wall time and of CPU time (user+sys, from wait4), which a
  loaded machine inflates less. OLD runs with XDG_CACHE_HOME=$WORK/cache-old, NEW with $WORK/cache-new.
"""
import os
import statistics
import sys
import time

runs, old, new, work = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
cases = [('--version', work, ['--version']), ('--help', work, ['--help']),
         ('build', os.path.join(work, 'mod_hello'), ['build']), ('ctl status', work, ['ctl', 'status'])]


def run(cmd, cwd, env):
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        os.chdir(cwd)
        fd = os.open('/dev/null', os.O_WRONLY)
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        os.execvpe(cmd[0], cmd, env)
    _, status, usage = os.wait4(pid, 0)
    wall = (time.perf_counter() - t0) * 1000
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f'failed: {" ".join(cmd)} in {cwd}')
    return wall, (usage.ru_utime + usage.ru_stime) * 1000


env_old = dict(os.environ, XDG_CACHE_HOME=os.path.join(work, 'cache-old'))
env_new = dict(os.environ, XDG_CACHE_HOME=os.path.join(work, 'cache-new'))
print(f'runs: {runs} (alternating), {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}')
for label, cwd, args in cases:
    anchor, before, after = [], [], []
    for _ in range(runs):
        anchor.append(run(['node', '-e', '0'], cwd, env_new))
        before.append(run(['node', old, *args], cwd, env_old))
        after.append(run(['node', new, *args], cwd, env_new))

    def ratio(xs, i):
        return statistics.median(x[i] / a[i] for x, a in zip(xs, anchor))

    print(f'{label:11s} node -e 0: median {statistics.median(a[0] for a in anchor):6.1f} ms;  '
          f'wall ratio before {ratio(before, 0):.3f}, after {ratio(after, 0):.3f};  '
          f'CPU ratio before {ratio(before, 1):.3f}, after {ratio(after, 1):.3f}')
