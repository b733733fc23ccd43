/*
 * apxs-ts's crash recorder, preloaded (LD_PRELOAD) into the httpd that
 * `apxs-ts ctl start` launches, and into nothing else.
 *
 * Why: with kernel.core_pattern "core" and core_uses_pid 0 (a common default,
 * and what a container inherits) every crashed child writes the same file,
 * CoreDumpDirectory/core, so ten crashes leave one core. And where the
 * pattern pipes cores away (systemd-coredump, apport) none lands in a
 * directory at all. So each child, after fork, puts a handler for the fatal
 * signals in front of httpd's: it writes the frames of the crash (backtrace
 * + dladdr: object, load base, symbol) to $APXS_TS_CRASH_DIR/<pid>/frames,
 * makes the process dumpable again (a child that switched to User is not),
 * changes into that directory so a relative core_pattern puts this crash's
 * core there, and lets the signal kill the process by its default action:
 * the parent still logs "exit signal Segmentation fault (11)".
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <execinfo.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

static char base_dir[3072];
/* apxs-ts's secret for this start: the crash directory is writable by all, so `ctl crashes` believes only frames that carry it. */
static char token[128];
static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };

static size_t put(char *b, size_t at, size_t cap, const char *s) {
  while (*s && at + 1 < cap) b[at++] = *s++;
  b[at] = 0;
  return at;
}

static size_t put_num(char *b, size_t at, size_t cap, unsigned long v, int base) {
  char tmp[32];
  int n = 0;
  do { tmp[n++] = "0123456789abcdef"[v % base]; v /= base; } while (v && n < 31);
  if (base == 16) at = put(b, at, cap, "0x");
  while (n && at + 1 < cap) b[at++] = tmp[--n];
  b[at] = 0;
  return at;
}

static void on_fatal(int sig, siginfo_t *si, void *uc) {
  (void)uc;
  char dir[3200], file[3300], line[4096];
  size_t n = put(dir, 0, sizeof dir, base_dir);
  n = put(dir, n, sizeof dir, "/");
  put_num(dir, n, sizeof dir, (unsigned long)getpid(), 10);
  mkdir(dir, 0700);
  n = put(file, 0, sizeof file, dir);
  put(file, n, sizeof file, "/frames");
  int fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW, 0600);
  if (fd >= 0) {
    n = put(line, 0, sizeof line, "token ");
    n = put(line, n, sizeof line, token);
    n = put(line, n, sizeof line, "\nsignal ");
    n = put_num(line, n, sizeof line, (unsigned long)sig, 10);
    n = put(line, n, sizeof line, "\naddr ");
    n = put_num(line, n, sizeof line, (unsigned long)si->si_addr, 16);
    n = put(line, n, sizeof line, "\n");
    if (write(fd, line, n) < 0) { /* nothing to do in a dying process */ }
    void *frames[64];
    int count = backtrace(frames, 64);
    for (int i = 0; i < count; i++) {
      Dl_info di;
      memset(&di, 0, sizeof di);
      dladdr(frames[i], &di);
      n = put(line, 0, sizeof line, "frame ");
      n = put_num(line, n, sizeof line, (unsigned long)frames[i], 16);
      n = put(line, n, sizeof line, " ");
      n = put_num(line, n, sizeof line, (unsigned long)di.dli_fbase, 16);
      n = put(line, n, sizeof line, " ");
      n = put(line, n, sizeof line, di.dli_sname ? di.dli_sname : "?");
      n = put(line, n, sizeof line, " ");
      n = put(line, n, sizeof line, di.dli_fname ? di.dli_fname : "?");
      n = put(line, n, sizeof line, "\n");
      if (write(fd, line, n) < 0) break;
    }
    close(fd);
  }
  /*
   * A core may not take the crash directory's disk below a tenth of its size
   * plus 64 KiB: a crash loop (or one huge core) must leave room for the next
   * crashes' frames and for whatever else shares that disk. The limit cuts a
   * bigger core short, or (no room) writes none; ctl crashes then uses the frames.
   */
  struct statvfs sv;
  if (statvfs(base_dir, &sv) == 0) {
    unsigned long long unit = sv.f_frsize ? sv.f_frsize : sv.f_bsize;
    unsigned long long avail = (unsigned long long)sv.f_bavail * unit;
    unsigned long long keep = (unsigned long long)sv.f_blocks * unit / 10 + 65536;
    struct rlimit rl;
    if (getrlimit(RLIMIT_CORE, &rl) == 0) {
      rlim_t room = avail > keep ? (rlim_t)(avail - keep) : 0;
      if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > room) {
        rl.rlim_cur = room;
        setrlimit(RLIMIT_CORE, &rl);
      }
    }
  }
  prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
  if (chdir(dir) != 0) { /* the core goes where the process stands */ }
  /* Default action, pending until this handler returns: the core then shows the faulting context. */
  signal(sig, SIG_DFL);
  raise(sig);
}

static void install(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_fatal;
  sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
  sigemptyset(&sa.sa_mask);
  for (unsigned i = 0; i < sizeof fatal / sizeof fatal[0]; i++) sigaction(fatal[i], &sa, 0);
}

__attribute__((constructor)) static void apxs_ts_crash_init(void) {
  const char *d = getenv("APXS_TS_CRASH_DIR");
  if (!d || strlen(d) >= sizeof base_dir) return;
  strcpy(base_dir, d);
  const char *t = getenv("APXS_TS_CRASH_TOKEN");
  if (t && strlen(t) < sizeof token) strcpy(token, t);
  void *warm[2];
  backtrace(warm, 2); /* loads libgcc_s now: never from inside a signal handler */
  /* httpd installs its own handlers in the parent; each child puts ours back in front after fork. */
  pthread_atfork(0, 0, install);
}
