/**
 * The readers behind `ctl crashes` and `debug` (issue #21), on the texts the
 * tools print: gdb's `bt` (the frame it prints on loading a core comes
 * again in `bt` and is not counted twice), the crash recorder's frames file
 * (its own frames and the signal trampoline dropped), valgrind's log (an
 * error's frames, not its origin's), an ASan report, the handler a source
 * hooks, and what a core_pattern means.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { corePatternAdvice, readCorePattern } from '../../lib/ctl/core-pattern.js';
import { parseFrames, parseGdbBacktrace, parseSanitizerReport } from '../../lib/ctl/crashes.js';
import { handlerFunction, parseValgrindLog } from '../../lib/dev/debug.js';

describe('crash and debug parsers', () => {
  it('gdb bt: read from the last #0, functions, files, lines and objects', () => {
    const out = [
      '#0  0x00007f in crashy_handler (r=0x1) at /src/mod_crashy.c:28',
      '28\t        *p = 42;',
      '[Current thread is 1 (Thread 0x7f (LWP 19975))]',
      '#0  0x00007f in crashy_handler (r=0x1) at /src/mod_crashy.c:28',
      '#1  0x000055 in ap_run_handler ()',
      '#2  0x00007f in ?? () from /usr/lib/apache2/modules/mod_mpm_event.so',
      '#3  start_thread (arg=<optimized out>) at ./nptl/pthread_create.c:442',
    ].join('\n');
    const f = parseGdbBacktrace(out);
    expect(f).toHaveLength(4);
    expect(f[0]).toMatchObject({ fn: 'crashy_handler', file: '/src/mod_crashy.c', line: 28 });
    expect(f[1]).toMatchObject({ fn: 'ap_run_handler', file: undefined });
    expect(f[2]).toMatchObject({
      fn: undefined,
      object: '/usr/lib/apache2/modules/mod_mpm_event.so',
    });
    expect(f[3]).toMatchObject({ fn: 'start_thread', line: 442 });
  });

  it('recorder frames: the handler frames and the trampoline dropped, the faulting frame first', () => {
    const text = [
      'signal 11',
      'addr 0x0',
      'frame 0x7fd066ad8555 0x7fd066ad7000 ? /cache/apxs-ts-crash-1.so',
      'frame 0x7fd066822050 0x7fd0667e6000 ? /lib/x86_64-linux-gnu/libc.so.6',
      'frame 0x7fd0666ec1f5 0x7fd0666eb000 ? /srv/modules/mod_crashy.so',
      'frame 0x55f0b38d6360 0x55f0b3873000 ap_run_handler /usr/sbin/apache2',
    ].join('\n');
    const r = parseFrames(text, (o) => path.basename(o).startsWith('apxs-ts-crash-'));
    expect(r.signo).toBe(11);
    expect(r.frames.map((f) => f.object)).toEqual([
      '/srv/modules/mod_crashy.so',
      '/usr/sbin/apache2',
    ]);
    expect(r.frames[0]!.pc - r.frames[0]!.base).toBe(0x11f5n);
  });

  it('valgrind log: kind and frames of each error, not of its origin; the summary', () => {
    const log = [
      '==1== Conditional jump or move depends on uninitialised value(s)',
      '==1==    at 0x501A270: dbg_handler (mod_dbg.c:30)',
      '==1==    by 0x16B35F: ap_run_handler (in /usr/sbin/apache2)',
      '==1==  Uninitialised value was created by a heap allocation',
      '==1==    at 0x48417B4: malloc (in /usr/libexec/valgrind/vgpreload_memcheck-amd64-linux.so)',
      '==1==    by 0x501A269: dbg_handler (mod_dbg.c:29)',
      '==1== ',
      '==1== ERROR SUMMARY: 1 errors from 1 contexts (suppressed: 0 from 0)',
    ].join('\n');
    const v = parseValgrindLog(log);
    expect(v.errorCount).toBe(1);
    expect(v.errors).toHaveLength(1);
    expect(v.errors[0]!.frames).toHaveLength(2);
    expect(v.errors[0]!.top).toMatchObject({ fn: 'dbg_handler', file: 'mod_dbg.c', line: 30 });
    expect(parseValgrindLog('==2== ERROR SUMMARY: 0 errors from 0 contexts').errorCount).toBe(0);
  });

  it('ASan report: the headline and the first stack only', () => {
    const text = [
      '=================================================================',
      '==1505==ERROR: AddressSanitizer: heap-buffer-overflow on address 0x602000002178 at pc 0x7f35 bp 0x7f sp 0x7f',
      'WRITE of size 1 at 0x602000002178 thread T2',
      '    #0 0x7f350eb704fe in asan_handler /src/mod_asan.c:33',
      '    #1 0x55d1 in ap_run_handler (/usr/sbin/apache2+0x6b35f)',
      '',
      '0x602000002178 is located 0 bytes to the right of 8-byte region',
      '    #0 0x7f35 in __interceptor_malloc ../../../../src/libsanitizer/asan/asan_malloc_linux.cpp:69',
    ].join('\n');
    const r = parseSanitizerReport(text)!;
    expect(r.report).toBe(
      'ERROR: AddressSanitizer: heap-buffer-overflow on address 0x602000002178 at pc 0x7f35 bp 0x7f sp 0x7f',
    );
    expect(r.frames).toHaveLength(2);
    expect(r.frames[0]).toMatchObject({ fn: 'asan_handler', file: '/src/mod_asan.c', line: 33 });
    expect(r.frames[1]).toMatchObject({ fn: 'ap_run_handler', object: '/usr/sbin/apache2' });
    expect(parseSanitizerReport('nothing here')).toBeUndefined();
  });

  it('the handler a source hooks: 2.x ap_hook_handler, 1.3 handler_rec, else NAME_handler', () => {
    expect(handlerFunction(['ap_hook_handler(my_fn, NULL, NULL, APR_HOOK_MIDDLE);'], 'mod_x')).toBe(
      'my_fn',
    );
    expect(
      handlerFunction(
        ['static const handler_rec h[] = {\n  { "x-handler", old_fn },\n  { NULL }\n};'],
        'mod_x',
      ),
    ).toBe('old_fn');
    expect(handlerFunction(['int main(void) { return 0; }'], 'mod_hello')).toBe('hello_handler');
  });

  it('core_pattern: directory, path, pipe to systemd-coredump; the advice never says apxs-ts changed it', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'apxs-ts-corepat-'));
    const at = (pattern: string, pid: string) => {
      writeFileSync(path.join(dir, 'core_pattern'), `${pattern}\n`);
      writeFileSync(path.join(dir, 'core_uses_pid'), `${pid}\n`);
      return readCorePattern(dir);
    };
    expect(at('core', '0')).toMatchObject({ kind: 'directory', usesPid: false });
    expect(at('/var/crash/core.%p', '1')).toMatchObject({ kind: 'path', usesPid: true });
    const sd = at('|/usr/lib/systemd/systemd-coredump %P %u %g %s %t %c %h', '0');
    expect(sd).toMatchObject({ kind: 'pipe', handler: '/usr/lib/systemd/systemd-coredump' });
    expect(corePatternAdvice(sd)).toMatch(/coredumpctl gdb PID.*apxs-ts never changes it/);
    expect(corePatternAdvice(at('|/usr/share/apport/apport %p', '0'))).toMatch(/apport/);
  });
});
