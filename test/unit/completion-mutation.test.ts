/**
 * The completion tables' pure parts in-process (issue #16 mutation testing;
 * test/unit/completion.test.ts runs real shells on scripts the built CLI
 * prints, which Stryker cannot see): which options each command path has,
 * quoting per shell, one-line descriptions, value kinds, the case/switch
 * functions, the per-path option and argument kinds, the header.
 */
import { describe, expect, it } from 'vitest';
import {
  caseFunction,
  header,
  kindWord,
  oneLine,
  rows,
  sq,
  tables,
  type CompletionNode,
} from '../../lib/core/completion-tables.js';
import { completionScript } from '../../lib/core/completion.js';

const tree: CompletionNode = {
  name: 'tool',
  description: '',
  args: [],
  options: [
    { flags: ['-o', '--out'], description: 'global out', value: 'dirs' },
    { flags: ['-V', '--version'], description: 'version' },
  ],
  commands: [
    {
      name: 'add',
      description: 'add things',
      args: [
        { name: 'kind', value: 'none' },
        { name: 'names', variadic: true, value: { choices: ['a', 'b'] } },
      ],
      options: [
        { flags: ['--out'], description: 'own out', value: 'files' },
        { flags: ['-h', '--help'], description: 'own help' },
      ],
      commands: [{ name: 'deep', description: 'deeper', args: [], options: [], commands: [] }],
    },
  ],
};

describe('rows', () => {
  it("a command's own option replaces an inherited one with a shared flag; --help added once; --version and help not inherited", () => {
    const r = rows(tree);
    expect(r.map((x) => x.path)).toEqual(['', 'add', 'add deep']);
    expect(r[0]!.options.map((o) => o.description)).toEqual([
      'global out',
      'version',
      'display help for command',
    ]);
    expect(r[1]!.options.map((o) => o.description)).toEqual(['own out', 'own help']);
    expect(r[2]!.options.map((o) => o.description)).toEqual(['own out', 'own help']);
  });
});

describe('words and lines', () => {
  it('sq quotes for bash/zsh and for fish', () => {
    expect(sq("it's", 'bash')).toBe("'it'\\''s'");
    expect(sq("it's", 'zsh')).toBe("'it'\\''s'");
    expect(sq("a\\b'c", 'fish')).toBe("'a\\\\b\\'c'");
  });

  it('oneLine collapses whitespace, trims, keeps 80 characters and cuts 81 to 79 and an ellipsis', () => {
    expect(oneLine('  a\t\tb\n\nc  ')).toBe('a b c');
    expect(oneLine('x'.repeat(80))).toBe('x'.repeat(80));
    expect(oneLine('x'.repeat(81))).toBe(`${'x'.repeat(79)}…`);
  });

  it('kindWord', () => {
    expect(kindWord('files')).toBe('files');
    expect(kindWord({ choices: ['a', 'b c'] })).toBe('=a b c');
  });
});

describe('caseFunction and tables', () => {
  it('bash/zsh case and fish switch, entries without lines left out', () => {
    const entries: [string, string[]][] = [
      ['k1', ['x', "y'z"]],
      ['k2', []],
    ];
    expect(caseFunction('bash', 'f', entries)).toBe(
      "f() {\n  case \"$1\" in\n    'k1') printf '%s\\n' 'x' 'y'\\''z' ;;\n  esac\n}\n",
    );
    expect(caseFunction('fish', 'f', entries)).toBe(
      "function f\n    switch \"$argv[1]\"\n    case 'k1'\n        printf '%s\\n' 'x' 'y\\'z'\n    end\nend\n",
    );
    expect(caseFunction('bash', 'f', [['a|*', ['v']]], true)).toContain(
      "    a|*) printf '%s\\n' 'v' ;;",
    );
  });

  it('tables: subcommands with descriptions (not in bash), option kinds per path and flag, argument kinds (none left out, variadic repeats)', () => {
    const b = tables('bash', '_t', tree);
    expect(b).toContain(
      "_t_subs() {\n  case \"$1\" in\n    '') printf '%s\\n' 'add' ;;\n    'add') printf '%s\\n' 'deep' ;;\n  esac\n}\n",
    );
    expect(b).toContain(
      "    '|-o') printf '%s\\n' 'dirs' ;;\n    '|--out') printf '%s\\n' 'dirs' ;;\n    'add|--out') printf '%s\\n' 'files' ;;\n    'add deep|--out') printf '%s\\n' 'files' ;;",
    );
    expect(b).toContain(
      "_t_argkind() {\n  case \"$1\" in\n    'add|1') printf '%s\\n' '=a b' ;;\n    'add|'*) printf '%s\\n' '=a b' ;;\n  esac\n}\n",
    );
    expect(b.split('\n\n')).toHaveLength(4);
    const z = tables('zsh', '_t', tree);
    expect(z).toContain("    '') printf '%s\\n' 'add\tadd things' ;;");
    const f = tables('fish', '_t', tree);
    expect(f).toContain("    case 'add|*'\n        printf '%s\\n' '=a b'");
    expect(f).toContain("    case ''\n        printf '%s\\n' 'add\tadd things'");
  });

  it('header: what, how it was made, how to install, where dynamic values come from', () => {
    expect(header('zsh', { command: 'tool', version: '2.1' }, ['install: x', 'or: y'])).toBe(
      [
        '# zsh completion for tool 2.1, generated from its command tree by `tool completion zsh`.',
        '# install: x',
        '# or: y',
        '# Subcommands and options are listed here; installed modules and vhosts of the current',
        '# server root are asked of `tool completion --complete modules|vhosts` when TAB is pressed.',
        '',
      ].join('\n'),
    );
  });

  it('completionScript names its functions after the command, non-word characters as _', () => {
    const s = completionScript('bash', tree, { command: 'my-tool', version: '1' });
    expect(s).toContain('_my_tool() {');
    expect(s).toContain('complete -F _my_tool my-tool');
    expect(s.startsWith('# bash completion for my-tool 1,')).toBe(true);
  });
  it("each script starts with its shell's header and install lines, and names every function after the command", () => {
    const o = { command: 'my-tool', version: '1' };
    const bash = completionScript('bash', tree, o);
    expect(
      bash.startsWith(
        header('bash', o, [
          'install: my-tool completion bash > ~/.local/share/bash-completion/completions/my-tool',
          '     or: source <(my-tool completion bash)   (in ~/.bashrc)',
        ]),
      ),
    ).toBe(true);
    const zsh = completionScript('zsh', tree, o);
    expect(
      zsh.startsWith(
        `#compdef my-tool\n${header('zsh', o, ['install: my-tool completion zsh > "${fpath[1]}/_my-tool"   (then restart zsh)', '     or: source <(my-tool completion zsh)   (in ~/.zshrc, after compinit)'])}`,
      ),
    ).toBe(true);
    for (const f of [
      '_my_tool_is_sub() {',
      '_my_tool_describe() {',
      '_my_tool_values() {',
      '_my_tool() {',
      'compdef _my_tool my-tool',
    ])
      expect(zsh, f).toContain(f);
    expect(zsh).toContain(tables('zsh', '_my_tool', tree));
    const fish = completionScript('fish', tree, o);
    expect(
      fish.startsWith(
        header('fish', o, [
          'install: my-tool completion fish > ~/.config/fish/completions/my-tool.fish',
        ]),
      ),
    ).toBe(true);
    for (const f of [
      'function __my_tool_values',
      'function __my_tool_complete',
      "complete -c my-tool -f -a '(__my_tool_complete)'",
    ])
      expect(fish, f).toContain(f);
    expect(fish).toContain(tables('fish', '__my_tool', tree));
  });
});

describe('tables, the rest', () => {
  it('fish: one case per line; only a variadic argument gets a repeating pattern', () => {
    expect(
      caseFunction('fish', 'f', [
        ['a', ['1']],
        ['b', ['2']],
      ]),
    ).toBe(
      "function f\n    switch \"$argv[1]\"\n    case 'a'\n        printf '%s\\n' '1'\n    case 'b'\n        printf '%s\\n' '2'\n    end\nend\n",
    );
    const t: CompletionNode = {
      name: 't',
      description: '',
      options: [],
      commands: [],
      args: [
        { name: 'file', value: 'files' },
        { name: 'more', variadic: true, value: 'dirs' },
      ],
    };
    expect(tables('bash', '_t', t)).toContain(
      "_t_argkind() {\n  case \"$1\" in\n    '|0') printf '%s\\n' 'files' ;;\n    '|1') printf '%s\\n' 'dirs' ;;\n    '|'*) printf '%s\\n' 'dirs' ;;\n  esac\n}\n",
    );
  });
});
