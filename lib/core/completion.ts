/**
 * Shell completion scripts (bash, zsh, fish) generated from a command tree:
 * the subcommands and options are written into the script as tables; the
 * values that depend on the server root (installed modules, vhosts) are asked
 * of the CLI itself when TAB is pressed (`apxs-ts completion --complete
 * modules [--server-root DIR]`). The tree is plain data: commands/completion.ts
 * builds it from commander.
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

interface Row {
  /** `''` for the top, `ctl`, `ctl start`. */
  path: string;
  node: CompletionNode;
  /** The node's options and every ancestor's (global options work after a subcommand). */
  options: CompletionOption[];
}

const HELP: CompletionOption = { flags: ['-h', '--help'], description: 'display help for command' };

function rows(root: CompletionNode): Row[] {
  const out: Row[] = [];
  const walk = (node: CompletionNode, path: string, inherited: CompletionOption[]) => {
    const options = [...node.options, ...inherited.filter((o) => !o.flags.some((f) => node.options.some((n) => n.flags.includes(f))))];
    out.push({ path, node, options: options.some((o) => o.flags.includes('--help')) ? options : [...options, HELP] });
    for (const c of node.commands) walk(c, path ? `${path} ${c.name}` : c.name, options.filter((o) => o !== HELP && !o.flags.includes('--version')));
  };
  walk(root, '', []);
  return out;
}

/** A word for a shell script in single quotes (bash, zsh and fish alike: ' is closed, escaped, reopened; fish needs \\ too). */
const sq = (s: string, shell: Shell) => shell === 'fish'
  ? `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`
  : `'${s.replace(/'/g, `'\\''`)}'`;

/** One line of description: no tabs or newlines, at most 80 characters. */
const oneLine = (s: string) => {
  const t = s.replace(/\s+/g, ' ').trim();
  return t.length > 80 ? `${t.slice(0, 79)}…` : t;
};

/** A value spec as one word the scripts switch on: none, files, dirs, modules, vhosts, or `=a b c` for fixed choices. */
function kindWord(v: ValueSpec): string {
  return typeof v === 'string' ? v : `=${v.choices.join(' ')}`;
}

/** `name() { case "$1" in 'key') ...;; esac }` in bash/zsh, `switch` in fish; body lines are printed with printf/echo per line. */
function caseFunction(shell: Shell, name: string, entries: [pattern: string, lines: string[]][], rawPattern = false): string {
  const pat = (p: string) => rawPattern ? p : sq(p, shell);
  if (shell === 'fish') {
    const cases = entries.filter(([, l]) => l.length).map(([p, lines]) => `    case ${pat(p)}\n        printf '%s\\n' ${lines.map((l) => sq(l, shell)).join(' ')}`);
    return `function ${name}\n    switch "$argv[1]"\n${cases.join('\n')}\n    end\nend\n`;
  }
  const cases = entries.filter(([, l]) => l.length).map(([p, lines]) => `    ${pat(p)}) printf '%s\\n' ${lines.map((l) => sq(l, shell)).join(' ')} ;;`);
  return `${name}() {\n  case "$1" in\n${cases.join('\n')}\n  esac\n}\n`;
}

function tables(shell: Shell, fn: string, root: CompletionNode): string {
  const all = rows(root);
  const described = (name: string, desc: string) => shell === 'bash' ? name : `${name}\t${oneLine(desc)}`;
  const subs = caseFunction(shell, `${fn}_subs`, all.map((r) => [r.path, r.node.commands.map((c) => described(c.name, c.description))]));
  const opts = caseFunction(shell, `${fn}_opts`, all.map((r) => [r.path, r.options.flatMap((o) => o.flags.map((f) => described(f, o.description)))]));
  // `path|flag` -> what the option's value completes to (only options that take one).
  const optKinds: [string, string[]][] = all.flatMap((r) => r.options.filter((o) => o.value).flatMap((o) => o.flags.map((f): [string, string[]] => [`${r.path}|${f}`, [kindWord(o.value!)]])));
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
  return [subs, opts, caseFunction(shell, `${fn}_optkind`, optKinds), caseFunction(shell, `${fn}_argkind`, argKinds, true)].join('\n');
}

export interface ScriptOptions {
  /** The command users type: `apxs-ts`. */
  command: string;
  version: string;
}

const header = (shell: Shell, o: ScriptOptions, install: string[]) => [
  `# ${shell} completion for ${o.command} ${o.version}, generated from its command tree by \`${o.command} completion ${shell}\`.`,
  ...install.map((l) => `# ${l}`),
  '# Subcommands and options are listed here; installed modules and vhosts of the current',
  `# server root are asked of \`${o.command} completion --complete modules|vhosts\` when TAB is pressed.`,
  '',
].join('\n');

function bash(root: CompletionNode, o: ScriptOptions): string {
  const fn = `_${o.command.replace(/\W/g, '_')}`;
  return `${header('bash', o, [`install: ${o.command} completion bash > ~/.local/share/bash-completion/completions/${o.command}`, `     or: source <(${o.command} completion bash)   (in ~/.bashrc)`])}
${tables('bash', fn, root)}
# $1 kind (none files dirs modules vhosts =choices), $2 the word, $3 --server-root, $4 the command as typed
${fn}_values() {
  local IFS=$'\\n'
  case "$1" in
    files) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$2")) ;;
    dirs) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- "$2")) ;;
    modules|vhosts)
      local -a root=()
      [[ -n $3 ]] && root=(--server-root "$3")
      COMPREPLY=($(compgen -W "$("$4" completion --complete "$1" "\${root[@]}" 2>/dev/null)" -- "$2")) ;;
    '='*) IFS=$' \\t\\n'; COMPREPLY=($(compgen -W "\${1#=}" -- "$2")) ;;
  esac
}

${fn}() {
  local cur=\${COMP_WORDS[COMP_CWORD]} cmdpath='' word kind='' valuekind='' sr='' n=0 i=1 subs
  while (( i < COMP_CWORD )); do
    word=\${COMP_WORDS[i]}
    if [[ $word == --server-root=* ]]; then sr=\${word#*=}
    elif [[ $word == -* ]]; then
      kind=$(${fn}_optkind "$cmdpath|$word")
      if [[ -n $kind ]]; then
        if (( i + 1 == COMP_CWORD )); then valuekind=$kind; break; fi
        (( i++ ))
        [[ $word == --server-root ]] && sr=\${COMP_WORDS[i]}
      fi
    elif (( n == 0 )) && subs=$(${fn}_subs "$cmdpath") && [[ $'\\n'$subs$'\\n' == *$'\\n'$word$'\\n'* ]]; then
      cmdpath=\${cmdpath:+$cmdpath }$word
    else
      (( n++ ))
    fi
    (( i++ ))
  done
  COMPREPLY=()
  if [[ -n $valuekind ]]; then ${fn}_values "$valuekind" "$cur" "$sr" "\${COMP_WORDS[0]}"; return 0; fi
  if [[ $cur == -* ]]; then COMPREPLY=($(compgen -W "$(${fn}_opts "$cmdpath")" -- "$cur")); return 0; fi
  subs=$(${fn}_subs "$cmdpath")
  if [[ -n $subs ]] && (( n == 0 )); then COMPREPLY=($(compgen -W "$subs" -- "$cur")); return 0; fi
  ${fn}_values "$(${fn}_argkind "$cmdpath|$n")" "$cur" "$sr" "\${COMP_WORDS[0]}"
  return 0
}

complete -F ${fn} ${o.command}
`;
}

function zsh(root: CompletionNode, o: ScriptOptions): string {
  const fn = `_${o.command.replace(/\W/g, '_')}`;
  return `#compdef ${o.command}
${header('zsh', o, [`install: ${o.command} completion zsh > "\${fpath[1]}/_${o.command}"   (then restart zsh)`, `     or: source <(${o.command} completion zsh)   (in ~/.zshrc, after compinit)`])}
${tables('zsh', fn, root)}
# is $2 a subcommand of the command path $1?
${fn}_is_sub() {
  local tab=$'\\t' subs
  local -a names
  subs=$(${fn}_subs "$1")
  names=("\${(@f)subs}")
  names=("\${(@)names%%\${tab}*}")
  (( \${names[(Ie)$2]} ))
}

# lines "name<TAB>description" -> _describe's "name:description"
${fn}_describe() {
  local tab=$'\\t' line name
  local -a items
  for line in "\${(@f)2}"; do
    [[ -n $line ]] || continue
    name=\${line%%\${tab}*}
    items+=("\${name//:/\\\\:}:\${line#*\${tab}}")
  done
  (( \${#items} )) && _describe -t "$1" "$1" items
}

# $1 kind (none files dirs modules vhosts =choices), $2 --server-root, $3 the command as typed
${fn}_values() {
  local -a vals
  case "$1" in
    files) _files ;;
    dirs) _files -/ ;;
    modules|vhosts)
      local -a root=()
      [[ -n $2 ]] && root=(--server-root "$2")
      vals=("\${(@f)$("$3" completion --complete "$1" "\${root[@]}" 2>/dev/null)}")
      compadd -- \${vals:#} ;;
    '='*) vals=(\${=1#=}); compadd -- $vals ;;
  esac
}

${fn}() {
  local cur=\${words[CURRENT]} cmdpath='' word kind='' valuekind='' sr='' subs
  integer n=0 i=2
  while (( i < CURRENT )); do
    word=\${words[i]}
    if [[ $word == --server-root=* ]]; then sr=\${word#*=}
    elif [[ $word == -* ]]; then
      kind=$(${fn}_optkind "$cmdpath|$word")
      if [[ -n $kind ]]; then
        if (( i + 1 == CURRENT )); then valuekind=$kind; break; fi
        (( i++ ))
        [[ $word == --server-root ]] && sr=\${words[i]}
      fi
    elif (( n == 0 )) && ${fn}_is_sub "$cmdpath" "$word"; then
      cmdpath=\${cmdpath:+$cmdpath }$word
    else
      (( n++ ))
    fi
    (( i++ ))
  done
  if [[ -n $valuekind ]]; then ${fn}_values "$valuekind" "$sr" "\${words[1]}"; return; fi
  if [[ $cur == -* ]]; then ${fn}_describe option "$(${fn}_opts "$cmdpath")"; return; fi
  subs=$(${fn}_subs "$cmdpath")
  if [[ -n $subs ]] && (( n == 0 )); then ${fn}_describe command "$subs"; return; fi
  ${fn}_values "$(${fn}_argkind "$cmdpath|$n")" "$sr" "\${words[1]}"
}

if (( $+functions[compdef] )); then
  compdef ${fn} ${o.command}
fi
`;
}

function fish(root: CompletionNode, o: ScriptOptions): string {
  const fn = `__${o.command.replace(/\W/g, '_')}`;
  return `${header('fish', o, [`install: ${o.command} completion fish > ~/.config/fish/completions/${o.command}.fish`])}
${tables('fish', fn, root)}
# $argv: kind (none files dirs modules vhosts =choices), the word, --server-root, the command as typed
function ${fn}_values
    switch "$argv[1]"
        case files
            __fish_complete_path "$argv[2]"
        case dirs
            __fish_complete_directories "$argv[2]"
        case modules vhosts
            if test -n "$argv[3]"
                $argv[4] completion --complete $argv[1] --server-root $argv[3] 2>/dev/null
            else
                $argv[4] completion --complete $argv[1] 2>/dev/null
            end
        case '=*'
            string split ' ' -- (string sub -s 2 -- "$argv[1]")
    end
end

function ${fn}_complete
    set -l words (commandline -opc)
    set -l cur (commandline -ct)
    set -l cmdpath ''
    set -l valuekind ''
    set -l sr ''
    set -l n 0
    set -l i 2
    while test $i -le (count $words)
        set -l word $words[$i]
        if string match -q -- '--server-root=*' $word
            set sr (string replace -- '--server-root=' '' $word)
        else if string match -q -- '-*' $word
            set -l kind (${fn}_optkind "$cmdpath|$word")
            if test -n "$kind"
                if test $i -eq (count $words)
                    set valuekind $kind
                    break
                end
                set i (math $i + 1)
                test "$word" = --server-root; and set sr $words[$i]
            end
        else if test $n -eq 0; and contains -- $word (${fn}_subs "$cmdpath" | string replace -r '\\t.*' '')
            if test -n "$cmdpath"
                set cmdpath "$cmdpath $word"
            else
                set cmdpath $word
            end
        else
            set n (math $n + 1)
        end
        set i (math $i + 1)
    end
    set -l subs (${fn}_subs "$cmdpath")
    if test -n "$valuekind"
        ${fn}_values $valuekind "$cur" "$sr" $words[1]
    else if string match -q -- '-*' "$cur"
        ${fn}_opts "$cmdpath"
    else if test $n -eq 0; and test (count $subs) -gt 0
        printf '%s\\n' $subs
    else
        ${fn}_values (${fn}_argkind "$cmdpath|$n") "$cur" "$sr" $words[1]
    end
end

complete -c ${o.command} -f -a '(${fn}_complete)'
`;
}

export function completionScript(shell: Shell, root: CompletionNode, o: ScriptOptions): string {
  switch (shell) {
    case 'bash': return bash(root, o);
    case 'zsh': return zsh(root, o);
    case 'fish': return fish(root, o);
  }
}

/** Every command path and the options it accepts: what the scripts list, for tests and `--json`. */
export function completionPaths(root: CompletionNode): { path: string; commands: string[]; options: string[] }[] {
  return rows(root).map((r) => ({ path: r.path, commands: r.node.commands.map((c) => c.name), options: r.options.flatMap((o) => o.flags) }));
}
