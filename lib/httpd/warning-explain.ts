/**
 * httpd's warnings, each explained: every line of the output is matched on
 * its own, so two vhosts' "DocumentRoot does not exist" get two
 * explanations (one per path), not one for the first. An explanation keeps
 * httpd's message id (AH00112) only when the line had it: 2.2 and older
 * print the same words without ids, and a 2.2 user must not be shown ids
 * their httpd never prints.
 */
export interface Explainer {
  pattern: RegExp;
  explain: (m: RegExpExecArray) => string;
}

/**
 * One explanation per distinct (explainer, text), in the order of the lines that called for them.
 */
export function explainEachLine(output: string, explainers: readonly Explainer[]): string[] {
  const out: string[] = [];
  for (const line of output.split('\n')) {
    for (const e of explainers) {
      const m = e.pattern.exec(line);
      if (!m) continue;
      let text = e.explain(m);
      const id = /^(AH\d{5}): /.exec(text)?.[1];
      if (id && !line.includes(id)) text = text.slice(id.length + 2);
      if (!out.includes(text)) out.push(text);
    }
  }
  return out;
}
