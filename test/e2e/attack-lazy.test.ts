/**
 * Attacks on the declared-up-front command tree with lazy bodies (#19): every
 * command and subcommand answers --help with its own usage and loads no
 * command body; usage errors exit 2 with the error first, and under --json
 * print exactly one JSON object (USAGE) and nothing on stderr; a command
 * group named without a subcommand shows its help, under --json inside the
 * one object (it was "help": "" there, the help gone to nowhere).
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { program } from '../../commands/program.js';
import { cli, ROOT } from '../helpers.js';

/** Every command path of the declared tree. */
function commandPaths(): string[][] {
  const out: string[][] = [];
  const walk = (c: ReturnType<typeof program>, pre: string[]) => {
    for (const s of c.commands) {
      out.push([...pre, s.name()]);
      walk(s, [...pre, s.name()]);
    }
  };
  walk(
    program(() => async () => undefined),
    [],
  );
  return out;
}

/** The shared modules a --help may load; the command bodies are the rest of dist/commands. */
const SHARED = new Set([
  'index.js',
  'program.js',
  'options.js',
  'output.js',
  'paths.js',
  'progress.js',
  'types.js',
]);

function runTsc(args: string[]): Promise<{ stdout: string; code: number; loaded: string[] }> {
  const probe = `const m = require(${JSON.stringify(path.join(ROOT, 'dist/commands/index.js'))});
    m.main(['node', 'apxs-ts', ...process.argv.slice(1)]).then((code) => {
      const loaded = Object.keys(require.cache).filter((k) => k.includes('/dist/commands/')).map((k) => k.split('/').pop());
      process.stderr.write('\\n@@' + JSON.stringify({ code, loaded }));
    });`;
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['-e', probe, '--', ...args],
      { cwd: ROOT, env: { ...process.env, COLUMNS: '100' } },
      (err, stdout, stderr) => {
        const at = stderr.lastIndexOf('@@');
        if (at < 0) return reject(err ?? new Error(stderr));
        const r = JSON.parse(stderr.slice(at + 2)) as { code: number; loaded: string[] };
        resolve({ stdout, ...r });
      },
    );
  });
}

describe('lazy command bodies', () => {
  it('every command and subcommand answers --help with its usage and loads no command body', async () => {
    const paths = commandPaths();
    expect(paths.length).toBeGreaterThan(40);
    for (const p of paths) expect(paths.map((q) => q.join(' '))).toContain(p.join(' '));
    for (const want of ['test', 'tls', 'tls ca', 'debug', 'ctl crashes'])
      expect(paths.map((q) => q.join(' '))).toContain(want);
    const bodies: string[] = [];
    for (const p of paths) {
      const r = await runTsc([...p, '--help']);
      expect(r.code, p.join(' ')).toBe(0);
      expect(r.stdout, p.join(' ')).toMatch(new RegExp(`^Usage: apxs-ts ${p.join(' ')}\\b`));
      bodies.push(...r.loaded.filter((f) => !SHARED.has(f)).map((f) => `${p.join(' ')}: ${f}`));
    }
    expect(bodies).toEqual([]);
  }, 120_000);

  const USAGE_ERRORS: string[][] = [
    ['bogus'],
    ['--bogus'],
    ['ctl', 'bogus'],
    ['ctl', 'status', '--bogus'],
    ['build', '--bogus=1'],
    ['tls', 'bogus'],
    ['new'],
    ['new', 'a', 'b'],
    ['ctl', 'crashes', '--bogus'],
    ['debug', '--bogus'],
    ['test', '--bogus'],
    ['ctl', 'status', '--timeout', 'abc'],
    ['ctl', 'status', '--timeout'],
    ['--wait', '-1', 'build'],
    ['sandbox', 'create'],
    ['completion', 'nosh'],
    ['completion'],
  ];

  it.each(USAGE_ERRORS.map((a) => [a.join(' '), a] as const))(
    'usage error `%s`: exit 2, the error first; under --json one JSON object, USAGE, stderr empty',
    async (_name, args) => {
      const plain = await cli(args);
      expect(plain.code).toBe(2);
      expect(plain.stdout).toBe('');
      expect(plain.stderr.split('\n')[0]).toMatch(/^(apxs-ts: )?error: /);
      const json = await cli(['--json', ...args]);
      expect(json.code).toBe(2);
      expect(json.stderr).toBe('');
      const lines = json.stdout.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(JSON.parse(lines[0]!)).toMatchObject({ ok: false, error: { code: 'USAGE' } });
    },
  );

  it.each([['ctl'], ['vhost'], ['tls'], ['sandbox'], ['source'], ['hosts']])(
    '%s without a subcommand: its help; under --json inside the one object',
    async (group) => {
      const plain = await cli([group]);
      expect(`${plain.stdout}${plain.stderr}`).toMatch(new RegExp(`^Usage: apxs-ts ${group} `));
      const json = await cli(['--json', group]);
      expect(json.stderr).toBe('');
      const lines = json.stdout.trim().split('\n');
      expect(lines).toHaveLength(1);
      const o = JSON.parse(lines[0]!) as { help?: string };
      expect(o.help).toMatch(new RegExp(`^Usage: apxs-ts ${group} `));
      expect(json.code).toBe(plain.code);
    },
  );
});
