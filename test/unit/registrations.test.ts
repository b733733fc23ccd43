/** What a module registers, read from its source text, and the <Location> install writes from it: tables. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { planLocation } from '../../lib/module/install-location.js';
import { parseModuleName } from '../../lib/module/names.js';
import { parseRegistrations, stripComments } from '../../lib/module/registrations.js';
import { defaultTemplate, MODULE_TEMPLATES } from '../../lib/module/scaffold.js';
import { ROOT } from '../helpers.js';

const none = { handlers: [], outputFilters: [], inputFilters: [] };

describe('parseRegistrations', () => {
  it.each([
    [
      'strcmp, declining form',
      'if (strcmp(r->handler, "example-hooks-handler")) { return DECLINED; }',
      { ...none, handlers: ['example-hooks-handler'] },
    ],
    [
      '!r->handler || strcmp() != 0',
      'if (!r->handler || strcmp(r->handler, "info") != 0) return DECLINED;',
      { ...none, handlers: ['info'] },
    ],
    [
      'r->handler && !strcmp()',
      'if (r->handler && !strcmp(r->handler, "x-h")) return go(r);',
      { ...none, handlers: ['x-h'] },
    ],
    [
      'strcasecmp, name first',
      'if (strcasecmp("Shout", req->handler) == 0) {}',
      { ...none, handlers: ['Shout'] },
    ],
    [
      'std::strcmp in C++',
      'if (!r->handler || std::strcmp(r->handler, "cc") != 0) return DECLINED;',
      { ...none, handlers: ['cc'] },
    ],
    [
      'ap_cstr_casecmp',
      'if (ap_cstr_casecmp(r->handler, "casey")) return DECLINED;',
      { ...none, handlers: ['casey'] },
    ],
    [
      '#define constant',
      '#define MY_HANDLER "defined-h"\nif (strcmp(r->handler, MY_HANDLER)) return DECLINED;',
      { ...none, handlers: ['defined-h'] },
    ],
    [
      'static const char[] constant',
      'static const char name[] = "arr";\nif (strcmp(r->handler, name)) return DECLINED;',
      { ...none, handlers: ['arr'] },
    ],
    [
      'adjacent literals',
      'if (strcmp(r->handler, "two" "-parts")) return DECLINED;',
      { ...none, handlers: ['two-parts'] },
    ],
    [
      'two handlers, order kept, no duplicates',
      'strcmp(r->handler, "b"); strcmp(r->handler, "a"); strcmp(r->handler, "b");',
      { ...none, handlers: ['b', 'a'] },
    ],
    // hello's "is this someone else's handler?" check compares a copy, not r->handler itself.
    [
      'a copy of r->handler is not read',
      'const char *h = r->handler;\nreturn h && strcmp(h, "hello") != 0 && strcmp(h, "default-handler") != 0;',
      none,
    ],
    [
      'a comparison in a comment is not code',
      '/* <Location /x> SetHandler strcmp(r->handler, "commented") */\n// strcmp(r->handler, "line")\n',
      none,
    ],
    [
      'a content type is no SetHandler name',
      'if (strcmp(r->handler, "text/html")) return DECLINED;',
      none,
    ],
    [
      'a name computed at run time is not guessed',
      'if (strcmp(r->handler, get_name(r))) return DECLINED;',
      none,
    ],
    [
      '1.3 handler_rec table',
      'static const handler_rec x_handlers[] = {\n    { "x13", x_handler },\n    { "*/*", any },\n    { NULL }\n};',
      { ...none, handlers: ['x13'] },
    ],
    [
      '1.3 handler_rec with a #define',
      '#define H "status13"\nhandler_rec h[] = { {H, f}, {NULL} };',
      { ...none, handlers: ['status13'] },
    ],
    [
      'output filter by constant',
      'static const char s_szCaseFilterName[] = "CaseFilter";\nap_register_output_filter(s_szCaseFilterName, F, NULL,\n    AP_FTYPE_RESOURCE);',
      { ...none, outputFilters: ['CaseFilter'] },
    ],
    [
      'input filter',
      'ap_register_input_filter("CaseFilterIn", F, NULL, AP_FTYPE_RESOURCE);',
      { ...none, inputFilters: ['CaseFilterIn'] },
    ],
    [
      'protocol variant',
      'ap_register_output_filter_protocol("PROTO", f, NULL, AP_FTYPE_PROTOCOL, 0);',
      { ...none, outputFilters: ['PROTO'] },
    ],
    [
      "connection filters are the module's own business",
      'ap_register_output_filter("CONNY", f, NULL, AP_FTYPE_CONNECTION + 5);\nap_register_input_filter("NET", f, NULL, AP_FTYPE_NETWORK);',
      none,
    ],
    [
      'a string containing a quote and parentheses does not derail the argument split',
      'ap_rputs("(\\"x,", r); strcmp(r->handler, "ok");',
      { ...none, handlers: ['ok'] },
    ],
  ])('%s', (_what, src, want) => {
    expect(parseRegistrations(src)).toEqual(want);
  });

  it('reads several sources, in order', () => {
    expect(
      parseRegistrations([
        'ap_register_input_filter("IN1", f, 0, AP_FTYPE_RESOURCE);',
        'strcmp(r->handler, "h2");',
      ]),
    ).toEqual({ handlers: ['h2'], outputFilters: [], inputFilters: ['IN1'] });
  });

  it('comments go, strings and line breaks stay', () => {
    expect(stripComments('a /* x\ny */ "/* no */" // z\nb')).toBe(
      'a     \n     "/* no */"     \nb',
    );
  });

  // Every template apxs-ts scaffolds: hello answers everywhere (no Location), handler and info answer their name.
  const TEMPLATE_DIRS = ['c', 'cpp', 'c13', 'cpp13'];
  it.each(TEMPLATE_DIRS.flatMap((d) => MODULE_TEMPLATES.map((t) => [d, t] as const)))(
    'template %s/%s',
    async (dir, template) => {
      const folder = path.join(ROOT, 'templates', 'module', dir, template);
      const [file] = await fs.readdir(folder);
      const src = (await fs.readFile(path.join(folder, file!), 'utf8')).replaceAll(
        '@@name@@',
        'tpl',
      );
      expect(parseRegistrations(src)).toEqual(
        template === 'hello' ? none : { ...none, handlers: ['tpl'] },
      );
    },
  );
});

describe('planLocation', () => {
  const m = parseModuleName('mod_case_filter');
  const reg = (r: Partial<typeof none>) => ({ ...none, ...r });
  it.each([
    [
      'a handler: SetHandler at /NAME',
      reg({ handlers: ['example-hooks-handler'] }),
      {},
      {},
      { path: '/case_filter', directives: [['SetHandler', 'example-hooks-handler']] },
      'sources',
    ],
    [
      'its own name first among several',
      reg({ handlers: ['other', 'case_filter'] }),
      {},
      {},
      { path: '/case_filter', directives: [['SetHandler', 'case_filter']] },
      'sources',
    ],
    [
      'a handler wins over filters',
      reg({ handlers: ['h'], outputFilters: ['O'] }),
      {},
      {},
      { path: '/case_filter', directives: [['SetHandler', 'h']] },
      'sources',
    ],
    [
      'output filter',
      reg({ outputFilters: ['CaseFilter', 'Second'] }),
      {},
      {},
      { path: '/case_filter', directives: [['SetOutputFilter', 'CaseFilter']] },
      'sources',
    ],
    [
      'input and output filters',
      reg({ outputFilters: ['O'], inputFilters: ['I'] }),
      {},
      {},
      {
        path: '/case_filter',
        directives: [
          ['SetOutputFilter', 'O'],
          ['SetInputFilter', 'I'],
        ],
      },
      'sources',
    ],
    ['nothing registered: no Location', reg({}), {}, {}, null, 'sources'],
    [
      'the manifest url moves it',
      reg({ outputFilters: ['O'] }),
      {},
      { url: '/up' },
      { path: '/up', directives: [['SetOutputFilter', 'O']] },
      'sources',
    ],
    [
      '--handler overrides the sources',
      reg({ outputFilters: ['O'] }),
      { handler: 'mine' },
      {},
      { path: '/case_filter', directives: [['SetHandler', 'mine']] },
      'flags',
    ],
    [
      'a kept handler',
      reg({ handlers: ['h'] }),
      {},
      { handler: 'kept' },
      { path: '/case_filter', directives: [['SetHandler', 'kept']] },
      'apxs-ts-module.json',
    ],
    ['--no-location', reg({ handlers: ['h'] }), { noLocation: true }, {}, null, 'flags'],
    [
      'a kept --no-location',
      reg({ handlers: ['h'] }),
      {},
      { noLocation: true },
      null,
      'apxs-ts-module.json',
    ],
    [
      '--location lifts a kept --no-location',
      reg({ handlers: ['h'] }),
      { url: '/x' },
      { noLocation: true },
      { path: '/x', directives: [['SetHandler', 'h']] },
      'sources',
    ],
  ] as const)('%s', (_what, r, flags, kept, location, from) => {
    const plan = planLocation(r, m, flags, kept);
    expect(plan.location).toEqual(location);
    expect(plan.from).toBe(from);
  });

  it('--location on a module that registers nothing is refused: the block would be empty', () => {
    expect(() => planLocation(none, m, { url: '/x' }, {})).toThrow(
      /registers no handler or filter/,
    );
  });
});

describe('defaultTemplate', () => {
  it.each([
    ['mod_info', 'info'],
    ['info', 'info'],
    ['mod_hello', 'hello'],
    ['hello', 'hello'],
    ['mod_handler', 'handler'],
    ['mod_widget', 'handler'],
    ['mod_information', 'handler'],
    ['Info', 'handler'],
  ])('%s -> %s', (name, template) => {
    expect(defaultTemplate(name)).toBe(template);
  });
});
