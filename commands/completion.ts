import type { Argument, Command, Option } from 'commander';
import { ApxsError } from '../lib/core/errors.js';
import {
  completionPaths,
  completionScript,
  DYNAMIC_VALUES,
  SHELLS,
  type CompletionNode,
  type DynamicValues,
  type Shell,
  type ValueSpec,
} from '../lib/core/completion.js';
import { readLedger } from '../lib/httpd/ledger.js';
import { targetServerRootIfAny } from './server-root.js';
import { MODULE_TEMPLATES } from '../lib/module/scaffold.js';
import { inspectVhosts } from '../lib/sites/inspect.js';
import type { Outcome } from './types.js';

/** Values the command tree cannot say by itself, as `path --option` or `path <argument>`. */
const VALUES: Record<string, ValueSpec> = {
  'new --template': { choices: [...MODULE_TEMPLATES] },
  'uninstall <name>': 'modules',
  'vhost remove <name>': 'vhosts',
  'completion <shell>': { choices: [...SHELLS] },
};

/** Otherwise the value's name in the help says it: `--server-root <dir>`, `[file]`. */
function byName(name: string): ValueSpec {
  if (/^(dir|parent|prefix|root)$|-dir$/.test(name)) return 'dirs';
  if (/(^|-)(file|path|config|keys)$/.test(name)) return 'files';
  return 'none';
}

const pathOf = (c: Command): string[] => (c.parent ? [...pathOf(c.parent), c.name()] : []);

/** The command tree as plain data for lib/core/completion.ts. */
export function completionTree(c: Command): CompletionNode {
  const path = pathOf(c).join(' ');
  const key = (s: string) => (path ? `${path} ${s}` : s);
  const options = (c.options as Option[])
    .filter((o) => !o.hidden)
    .map((o) => {
      const valueName = /[<[]([^>\]]+)[>\]]/.exec(o.flags)?.[1];
      const flags = [o.short, o.long].filter((f): f is string => !!f);
      const value = valueName ? (VALUES[key(o.long ?? '')] ?? byName(valueName)) : undefined;
      return { flags, description: o.description, ...(value ? { value } : {}) };
    });
  const args = (c.registeredArguments as readonly Argument[]).map((a) => ({
    name: a.name(),
    variadic: a.variadic,
    value: VALUES[key(`<${a.name()}>`)] ?? byName(a.name()),
  }));
  return {
    name: c.name(),
    description: c.description(),
    options,
    args,
    commands: (c.commands as Command[]).filter((s) => s.name() !== 'help').map(completionTree),
  };
}

/**
 * The names TAB offers for `kind` in the server root the command line names (or the current one);
 * none when there is none.
 */
async function candidates(kind: DynamicValues, serverRoot: string | undefined): Promise<string[]> {
  const sr = await targetServerRootIfAny({ serverRoot });
  if (!sr) return [];
  if (kind === 'modules')
    return [...new Set(Object.values((await readLedger(sr)).modules).map((m) => m.module))].sort();
  const r = await inspectVhosts({ sr, hostsFile: '/dev/null' });
  return [...new Set(r.vhosts.map((v) => v.serverName).filter((n): n is string => !!n))].sort();
}

export async function completion(
  shell: string | undefined,
  o: { complete?: string; serverRoot?: string },
  program: Command,
): Promise<Outcome> {
  if (o.complete !== undefined) {
    if (!(DYNAMIC_VALUES as readonly string[]).includes(o.complete)) {
      throw new ApxsError(
        'USAGE',
        `--complete ${JSON.stringify(o.complete)}: expected one of ${DYNAMIC_VALUES.join(', ')}`,
      );
    }
    // Completion never fails loudly: no server root, or one that cannot be read, offers nothing.
    const names = await candidates(o.complete as DynamicValues, o.serverRoot).catch(
      (): string[] => [],
    );
    return { data: { complete: o.complete, candidates: names }, stdout: names };
  }
  if (!shell || !(SHELLS as readonly string[]).includes(shell)) {
    throw new ApxsError(
      'USAGE',
      shell
        ? `unknown shell ${JSON.stringify(shell)}: expected ${SHELLS.join(', ')}`
        : `which shell? ${SHELLS.join(', ')}`,
      { hint: 'apxs-ts completion bash' },
    );
  }
  const root = completionTree(program);
  const script = completionScript(shell as Shell, root, {
    command: 'apxs-ts',
    version: program.version() ?? '',
  });
  return {
    data: { shell, script, commands: completionPaths(root) },
    stdout: [script.replace(/\n$/, '')],
  };
}
