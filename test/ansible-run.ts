/**
 * Debian's ansible-core, run by the tests confined to a temp HOME: the modules of ansible/, no
 * ansible.cfg of the machine or the cwd, and apxs-ts kept off the machine's hosts file, httpd and
 * CA (as test/helpers.ts's cli).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './helpers.js';

export function ansibleEnv(home: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    HOME: home,
    ANSIBLE_CONFIG: path.join(home, 'ansible.cfg'),
    ANSIBLE_LIBRARY: path.join(ROOT, 'ansible', 'plugins', 'modules'),
    ANSIBLE_MODULE_UTILS: path.join(ROOT, 'ansible', 'plugins', 'module_utils'),
    ANSIBLE_LOCAL_TEMP: path.join(home, '.ansible', 'tmp'),
    ANSIBLE_REMOTE_TEMP: path.join(home, '.ansible', 'tmp'),
    ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
    ANSIBLE_NOCOLOR: '1',
    ANSIBLE_RETRY_FILES_ENABLED: '0',
    ANSIBLE_STDOUT_CALLBACK: 'default',
    APXS_TS_HOSTS_FILE: '/nonexistent/apxs-ts-test-hosts',
    APXS_TS_SYSTEM_ROOT: 'none',
    APXS_TS_CA_DIR: '/nonexistent/apxs-ts-test-ca',
  };
}

/** One ansible, ansible-playbook or ansible-doc run in `cwd`; `env` adds to ansibleEnv(home). */
export function runAnsible(
  cmd: 'ansible' | 'ansible-playbook' | 'ansible-doc',
  args: string[],
  o: { home: string; cwd: string; env?: Record<string, string>; timeoutMs?: number },
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      {
        cwd: o.cwd,
        timeout: o.timeoutMs ?? 300_000,
        maxBuffer: 16 * 1024 * 1024,
        env: { ...ansibleEnv(o.home), ...o.env },
      },
      (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}
