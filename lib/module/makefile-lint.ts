/**
 * Finds recipe lines indented with spaces: what makes GNU make stop with
 * "*** missing separator.  Stop." The check follows make's own reading: a
 * line belongs to a recipe when it follows a rule line (or another recipe
 * line); directives, assignments, comments and continuation lines are not
 * recipe lines.
 */
export interface SpaceIndentedLine {
  /** 1-based line number. */
  line: number;
  text: string;
}

/** A line GNU make reads as a directive (conditional, include, define, ...), not as a recipe. */
const MAKE_DIRECTIVES = [
  'ifeq',
  'ifneq',
  'ifdef',
  'ifndef',
  'else',
  'endif',
  'include',
  '-include',
  'sinclude',
  'define',
  'endef',
  'export',
  'unexport',
  'override',
  'vpath',
  'undefine',
  'private',
];
const DIRECTIVE = new RegExp(String.raw`^\s*(${MAKE_DIRECTIVES.join('|')})\b`);
const ASSIGNMENT = /^\s*[^\s:#=]+\s*(=|:=|::=|:::=|\?=|\+=|!=)/;
// A rule line: targets, a colon that is not part of an assignment operator, prerequisites.
const RULE = /^[^\s#=][^#=]*?::?(?!=)/;
// An indented rule with one target word ("  clean:"), as opposed to a command with a colon in it.
const SINGLE_TARGET_RULE = /^ +[^\s:#=]+\s*::?(?!=)/;

function splitKeepingEol(text: string): { body: string; eol: string }[] {
  const parts = text.split('\n');
  return parts.map((p, i) => {
    const last = i === parts.length - 1;
    if (p.endsWith('\r')) return { body: p.slice(0, -1), eol: last ? '\r' : '\r\n' };
    return { body: p, eol: last ? '' : '\n' };
  });
}

export function findSpaceIndentedRecipes(text: string): SpaceIndentedLine[] {
  if (/^\s*\.RECIPEPREFIX\s*[:?+]?=/m.test(text)) return []; // a custom prefix: spaces may be legal
  const lines = splitKeepingEol(text);
  const found: SpaceIndentedLine[] = [];
  let inRule = false;
  let continued = false;
  let inDefine = false;
  lines.forEach(({ body }, i) => {
    const wasContinued = continued;
    continued = /(^|[^\\])(\\\\)*\\$/.test(body);
    if (wasContinued) return;
    if (inDefine) {
      if (/^\s*endef\b/.test(body)) inDefine = false;
      return;
    }
    if (/^\s*define\b/.test(body)) {
      inDefine = true;
      return;
    }
    if (body.startsWith('\t')) return; // a real recipe line (or tab-indented text make accepts)
    if (body.trim() === '' || /^\s*#/.test(body)) return;
    if (/^ +/.test(body)) {
      // make strips leading spaces from non-recipe lines, so "  target:" is
      // still a rule; a command such as "  cp a b" is what it chokes on.
      if (SINGLE_TARGET_RULE.test(body) && !ASSIGNMENT.test(body)) {
        inRule = true;
        return;
      }
      if (inRule && !DIRECTIVE.test(body) && !ASSIGNMENT.test(body)) {
        found.push({ line: i + 1, text: body });
        return;
      }
      if (!DIRECTIVE.test(body)) inRule = false;
      return;
    }
    if (DIRECTIVE.test(body)) return; // conditionals do not end a rule
    inRule = !ASSIGNMENT.test(body) && RULE.test(body);
  });
  return found;
}

/**
 * Replaces the leading whitespace of each space-indented recipe line with one tab; nothing else
 * changes.
 */
export function fixSpaceIndentedRecipes(text: string): {
  text: string;
  fixed: SpaceIndentedLine[];
} {
  const fixed = findSpaceIndentedRecipes(text);
  if (fixed.length === 0) return { text, fixed };
  const bad = new Set(fixed.map((f) => f.line));
  const out = splitKeepingEol(text)
    .map(({ body, eol }, i) => (bad.has(i + 1) ? body.replace(/^[ \t]+/, '\t') : body) + eol)
    .join('');
  return { text: out, fixed };
}
