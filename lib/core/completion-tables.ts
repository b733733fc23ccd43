/**
 * What shell completion is made of: the command tree as plain data
 * (commands/completion.ts builds it from commander) and the tables of
 * subcommands, options and value kinds every shell's script holds
 * (lib/core/completion.ts writes the scripts).
 */

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** Values asked of the CLI at completion time. */
export const DYNAMIC_VALUES = ['modules', 'vhosts'] as const;
export type DynamicValues = (typeof DYNAMIC_VALUES)[number];

/** What an option's value or an argument completes to. */
export type ValueSpec = 'none' | 'files' | 'dirs' | DynamicValues | { choices: string[] };

export interface CompletionOption {
  /** `-n`, `--lines`: every spelling. */
  flags: string[];
  description: string;
  /** Undefined for a flag that takes no value. */
  value?: ValueSpec;
}

export interface CompletionArg {
  name: string;
  variadic: boolean;
  value: ValueSpec;
}

export interface CompletionNode {
  name: string;
  description: string;
  options: CompletionOption[];
  args: CompletionArg[];
  commands: CompletionNode[];
}

export interface Row {
  /** `''` for the top, `ctl`, `ctl start`. */
  path: string;
  node: CompletionNode;
  /** The node's options and every ancestor's (global options work after a subcommand). */
  options: CompletionOption[];
}

const HELP: CompletionOption = { flags: ['-h', '--help'], description: 'display help for command' };

export function rows(root: CompletionNode): Row[] {
  const out: Row[] = [];
  const walk = (node: CompletionNode, path: string, inherited: CompletionOption[]) => {
    const options = [
      ...node.options,
      ...inherited.filter(
        (o) => !o.flags.some((f) => node.options.some((n) => n.flags.includes(f))),
      ),
    ];
    out.push({
      path,
      node,
      options: options.some((o) => o.flags.includes('--help')) ? options : [...options, HELP],
    });
    for (const c of node.commands)
      walk(
        c,
        path ? `${path} ${c.name}` : c.name,
        options.filter((o) => o !== HELP && !o.flags.includes('--version')),
      );
  };
  walk(root, '', []);
  return out;
}

/**
 * A word for a shell script in single quotes (bash, zsh and fish alike: ' is closed, escaped,
 * reopened; fish needs \\ too).
 */
export const sq = (s: string, shell: Shell) =>
  shell === 'fish'
    ? `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
    : `'${s.replace(/'/g, `'\\''`)}'`;

/** One line of description: no tabs or newlines, at most 80 characters. */
export const oneLine = (s: string) => {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > 80 ? `${t.slice(0, 79)}…` : t;
};

/**
 * A value spec as one word the scripts switch on: none, files, dirs, modules, vhosts, or `=a b c`
 * for fixed choices.
 */
export function kindWord(v: ValueSpec): string {
  return typeof v === 'string' ? v : `=${v.choices.join(' ')}`;
}

/**
 * 'name() { case "$1" ' + `in 'key') ...;; esac }` in bash/zsh, `switch` in fish; body lines are
 * printed with printf/echo per line.
 */
export function caseFunction(
  shell: Shell,
  name: string,
  entries: [pattern: string, lines: string[]][],
  rawPattern = false,
): string {
  const pat = (p: string) => (rawPattern ? p : sq(p, shell));
  if (shell === 'fish') {
    const cases = entries
      .filter(([, l]) => l.length)
      .map(
        ([p, lines]) =>
          `    case ${pat(p)}\n        printf '%s\\n' ${lines.map((l) => sq(l, shell)).join(' ')}`,
      );
    return `function ${name}\n    switch "$argv[1]"\n${cases.join('\n')}\n    end\nend\n`;
  }
  const cases = entries
    .filter(([, l]) => l.length)
    .map(
      ([p, lines]) =>
        `    ${pat(p)}) printf '%s\\n' ${lines.map((l) => sq(l, shell)).join(' ')} ;;`,
    );
  return `${name}() {\n  case "$1" in\n${cases.join('\n')}\n  esac\n}\n`;
}

export function tables(shell: Shell, fn: string, root: CompletionNode): string {
  const all = rows(root);
  const described = (name: string, desc: string) =>
    shell === 'bash' ? name : `${name}\t${oneLine(desc)}`;
  const subs = caseFunction(
    shell,
    `${fn}_subs`,
    all.map((r) => [r.path, r.node.commands.map((c) => described(c.name, c.description))]),
  );
  const opts = caseFunction(
    shell,
    `${fn}_opts`,
    all.map((r) => [
      r.path,
      r.options.flatMap((o) => o.flags.map((f) => described(f, o.description))),
    ]),
  );
  // `path|flag` -> what the option's value completes to (only options that take one).
  const optKinds: [string, string[]][] = all.flatMap((r) =>
    r.options
      .filter((o) => o.value)
      .flatMap((o) =>
        o.flags.map((f): [string, string[]] => [`${r.path}|${f}`, [kindWord(o.value!)]]),
      ),
  );
  // `path|N` -> what the Nth positional argument completes to; a variadic last one repeats.
  const argKinds: [string, string[]][] = [];
  for (const r of all) {
    r.node.args.forEach((a, i) => {
      if (a.value === 'none') return;
      argKinds.push([sq(`${r.path}|${i}`, shell), [kindWord(a.value)]]);
      if (a.variadic) argKinds.push([`${sq(`${r.path}|`, shell)}*`, [kindWord(a.value)]]);
    });
  }
  if (shell === 'fish') {
    // fish's switch has no concatenated patterns; quote the variadic ones whole.
    for (const e of argKinds) e[0] = e[0].replace(/^'(.*)'\*$/, "'$1*'");
  }
  return [
    subs,
    opts,
    caseFunction(shell, `${fn}_optkind`, optKinds),
    caseFunction(shell, `${fn}_argkind`, argKinds, true),
  ].join('\n');
}

export interface ScriptOptions {
  /** The command users type: `apxs-ts`. */
  command: string;
  version: string;
}

export const header = (shell: Shell, o: ScriptOptions, install: string[]) =>
  [
    `# ${shell} completion for ${o.command} ${o.version}, generated ` +
      `from its command tree by \`${o.command} completion ${shell}\`.`,
    ...install.map((l) => `# ${l}`),
    '# Subcommands and options are listed here; installed modules and vhosts of the current',
    `# server root are asked of \`${o.command} completion ` +
      `--complete modules|vhosts\` when TAB is pressed.`,
    '',
  ].join('\n');
