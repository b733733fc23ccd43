/**
 * Shell completion scripts (bash, zsh, fish) from a command tree: the
 * subcommands and options are written into the script as tables
 * (lib/core/completion-tables.ts); the values that depend on the server root
 * (installed modules, vhosts) are asked of the CLI itself when TAB is pressed
 * (`apxs-ts completion --complete modules [--server-root DIR]`).
 */
import {
  rows,
  tables,
  header,
  type CompletionNode,
  type ScriptOptions,
  type Shell,
} from './completion-tables.js';

export {
  DYNAMIC_VALUES,
  SHELLS,
  type CompletionArg,
  type CompletionNode,
  type CompletionOption,
  type DynamicValues,
  type ScriptOptions,
  type Shell,
  type ValueSpec,
} from './completion-tables.js';

/** Where bash-completion looks for a command's completion, per user. */
const BASH_COMPLETIONS = '~/.local/share/bash-completion/completions';

function bash(root: CompletionNode, o: ScriptOptions): string {
  const fn = `_${o.command.replace(/\W/g, '_')}`;
  const install = [
    `install: ${o.command} completion bash > ${BASH_COMPLETIONS}/${o.command}`,
    `     or: source <(${o.command} completion bash)   (in ~/.bashrc)`,
  ];
  return `${header('bash', o, install)}
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
  const install = [
    `install: ${o.command} completion zsh > "\${fpath[1]}/_${o.command}"   (then restart zsh)`,
    `     or: source <(${o.command} completion zsh)   (in ~/.zshrc, after compinit)`,
  ];
  return `#compdef ${o.command}
${header('zsh', o, install)}
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
  const install = [
    `install: ${o.command} completion fish > ~/.config/fish/completions/${o.command}.fish`,
  ];
  return `${header('fish', o, install)}
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
    case 'bash':
      return bash(root, o);
    case 'zsh':
      return zsh(root, o);
    case 'fish':
      return fish(root, o);
  }
}

/** Every command path and the options it accepts: what the scripts list, for tests and `--json`. */
export function completionPaths(
  root: CompletionNode,
): { path: string; commands: string[]; options: string[] }[] {
  return rows(root).map((r) => ({
    path: r.path,
    commands: r.node.commands.map((c) => c.name),
    options: r.options.flatMap((o) => o.flags),
  }));
}
