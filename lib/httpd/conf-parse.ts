/**
 * A reader for httpd's configuration syntax, as server/config.c and
 * server/util.c read it: one directive per logical line, `\` at the end of a
 * line continues it, `#` starts a comment only at the start of a line,
 * arguments are words or "quoted strings" (with \" and \\ escapes), and
 * <Section args> ... </Section> nest. It never changes the text: each
 * directive knows the lines it came from, so edits can be made around it.
 */
export interface Directive {
  /** The name as written (httpd compares names case-insensitively). */
  name: string;
  args: string[];
  /** The argument text after the name, continuations joined, as httpd sees it. */
  rawArgs: string;
  file: string;
  /** 1-based first and last physical line. */
  line: number;
  endLine: number;
  /** Section start (`<VirtualHost>`) or end (`</VirtualHost>`). */
  kind: 'directive' | 'open' | 'close';
  /** Enclosing sections, outermost first, e.g. ['VirtualHost']. */
  sections: string[];
  /** For 'open': index of the matching close in the list, once parsed. */
  closeIndex?: number;
}

export interface ParsedConf {
  file: string;
  directives: Directive[];
  /** Problems httpd would report as syntax errors. */
  errors: { line: number; message: string }[];
  eol: '\n' | '\r\n';
}

/** Splits an argument string into words the way ap_getword_conf does. */
export function splitArgs(text: string): string[] {
  // Most lines have no quotes: a plain split is enough and much cheaper.
  if (!text.includes('"') && !text.includes("'")) {
    const t = text.trim();
    return t === '' ? [] : t.split(/\s+/);
  }
  const out: string[] = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && /\s/.test(text[i]!)) i++;
    if (i >= n) break;
    const q = text[i];
    if (q === '"' || q === "'") {
      let word = '';
      i++;
      while (i < n && text[i] !== q) {
        if (text[i] === '\\' && i + 1 < n && (text[i + 1] === q || text[i + 1] === '\\')) {
          word += text[i + 1];
          i += 2;
        } else {
          word += text[i];
          i++;
        }
      }
      i++; // closing quote (or end)
      out.push(word);
    } else {
      let word = '';
      while (i < n && !/\s/.test(text[i]!)) {
        word += text[i];
        i++;
      }
      out.push(word);
    }
  }
  return out;
}

export function parseConf(text: string, file = '<string>'): ParsedConf {
  const eol = text.includes('\r\n') ? '\r\n' : '\n';
  const src = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const physical = src.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  const directives: Directive[] = [];
  const errors: ParsedConf['errors'] = [];
  const stack: { name: string; index: number }[] = [];
  // The enclosing section names, shared by every directive until the nesting changes
  // (a config of 30,000 lines should not allocate 30,000 arrays).
  let sections: string[] = [];
  const resync = () => {
    sections = stack.map((s) => s.name);
  };

  for (let i = 0; i < physical.length; i++) {
    const start = i;
    let logical = physical[i]!.trimEnd();
    // Continuations: a trailing backslash joins the next physical line.
    while (logical.endsWith('\\') && i + 1 < physical.length) {
      i++;
      logical = logical.slice(0, -1) + physical[i]!.trimEnd();
    }
    const trimmed = logical.trimStart();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const line = start + 1;
    const endLine = i + 1;

    if (trimmed.startsWith('</')) {
      const m = /^<\/([^\s>]+)\s*>?\s*$/.exec(trimmed);
      const name = m?.[1] ?? trimmed.slice(2);
      const top = stack[stack.length - 1];
      if (!top || top.name.toLowerCase() !== name.toLowerCase()) {
        errors.push({
          line,
          message: top
            ? `</${name}> closes <${top.name}>`
            : `</${name}> without matching <${name}> section`,
        });
      } else {
        stack.pop();
        directives[top.index]!.closeIndex = directives.length;
        resync();
      }
      if (m && !trimmed.endsWith('>'))
        errors.push({ line, message: `</${name} directive missing closing '>'` });
      directives.push({
        name,
        args: [],
        rawArgs: '',
        file,
        line,
        endLine,
        kind: 'close',
        sections,
      });
      continue;
    }
    if (trimmed.startsWith('<')) {
      const m = /^<([^\s>]+)(.*)$/.exec(trimmed)!;
      const name = m[1]!;
      let rest = m[2]!.trim();
      if (!rest.endsWith('>'))
        errors.push({ line, message: `<${name} directive missing closing '>'` });
      else rest = rest.slice(0, -1).trim();
      directives.push({
        name,
        args: splitArgs(rest),
        rawArgs: rest,
        file,
        line,
        endLine,
        kind: 'open',
        sections,
      });
      stack.push({ name, index: directives.length - 1 });
      resync();
      continue;
    }
    const m = /^(\S+)\s*(.*)$/.exec(trimmed)!;
    directives.push({
      name: m[1]!,
      args: splitArgs(m[2]!),
      rawArgs: m[2]!,
      file,
      line,
      endLine,
      kind: 'directive',
      sections,
    });
  }
  for (const open of stack) {
    errors.push({ line: directives[open.index]!.line, message: `<${open.name}> was not closed` });
  }
  return { file, directives, errors, eol };
}

const lowered = new Map<string, string>();
const lower = (s: string): string => {
  let l = lowered.get(s);
  if (l === undefined) {
    l = s.toLowerCase();
    if (lowered.size < 4096) lowered.set(s, l);
  }
  return l;
};

/**
 * Case-insensitive directive name match, as httpd does. Names repeat a lot
 * (a 5,000-vhost config asks this 300,000 times), so lowercased names are
 * remembered instead of allocated on every call.
 */
export function is(d: Directive, name: string): boolean {
  return d.name === name || lower(d.name) === lower(name);
}
