/**
 * The command tree: every command and subcommand with its arguments, options
 * and help, declared up front, so commander's own help, suggestions and
 * completion see all of it. An action loads its command's body
 * (commands/NAME.ts) only when it runs: a `--help` or a no-op `build` does
 * not load the HTTP, OpenPGP or tar code.
 */
import { Command } from 'commander';
import { DYNAMIC_VALUES, SHELLS } from '../lib/core/completion-tables.js';
import { NUMBER_RULES } from '../lib/core/numbers.js';
import { MODULE_APIS, MODULE_TEMPLATES } from '../lib/module/template-names.js';
import { DEFAULT_SYSTEM_STORE } from '../lib/tls/system-store-defaults.js';
import {
  jobsArg,
  numberArg,
  portArg,
  timeoutArg,
  trustDir,
  withChangeOptions,
  withHostsFile,
  withServerRoot,
} from './options.js';
import type { Runner } from './types.js';

export const VERSION = '0.1.0';

/** Each command's body, loaded when one of its actions runs. */
const sandbox = () => require('./sandbox.js') as typeof import('./sandbox.js');
const scaffold = () => require('./new.js') as typeof import('./new.js');
const build = () => require('./build.js') as typeof import('./build.js');
const install = () => require('./install.js') as typeof import('./install.js');
const makefile = () => require('./makefile.js') as typeof import('./makefile.js');
const ctl = () => require('./ctl.js') as typeof import('./ctl.js');
const ctlLog = () => require('./ctl-log.js') as typeof import('./ctl-log.js');
const hosts = () => require('./hosts.js') as typeof import('./hosts.js');
const vhost = () => require('./vhost.js') as typeof import('./vhost.js');
const source = () => require('./source.js') as typeof import('./source.js');
const query = () => require('./query.js') as typeof import('./query.js');
const doctor = () => require('./doctor.js') as typeof import('./doctor.js');
const dev = () => require('./dev.js') as typeof import('./dev.js');
const completion = () => require('./completion.js') as typeof import('./completion.js');
const debugBody = () => require('./debug.js') as typeof import('./debug.js');
const testing = () => require('./test.js') as typeof import('./test.js');
const tlsBody = () => require('./tls.js') as typeof import('./tls.js');

const collect = (v: string, prev: string[] = []) => [...prev, v];

/**
 * The program: global options, then every command. `run` turns an action's Outcome into output
 * (commands/index.ts).
 */
export function program(run: Runner): Command {
  const program = new Command('apxs-ts')
    .description(
      'Build Apache httpd and its C/C++ modules, install them, run ' +
        'the server: apxs, apachectl, a2enmod in one safer tool',
    )
    .version(VERSION)
    .option('--json', 'print one JSON object on stdout')
    .option('-q, --quiet', 'print nothing but errors (the exit code tells the rest)')
    .option('--no-color', 'no colour codes (also when NO_COLOR is set)')
    .option('--verbose', 'show causes and stacks of errors')
    .option(
      '--wait <seconds>',
      'how long to wait for a lock another apxs-ts holds (default: ' +
        "each command's own; env APXS_TS_LOCK_WAIT; 0: do not wait)",
      numberArg(NUMBER_RULES.lockWaitSeconds),
    )
    .option(
      '--trust <dir>',
      'trust DIR although another user owns or can write ' +
        'it (repeatable; adds to $APXS_TS_SAFE_DIRECTORIES)',
      trustDir,
    )
    .showHelpAfterError('(run with --help for usage)')
    .addHelpText(
      'after',
      `
Examples:
  apxs-ts sandbox create ./srv --port 8080
  apxs-ts new mod_info --cpp --template info
  cd mod_info && apxs-ts build && apxs-ts install --server-root ../srv
  apxs-ts ctl start --server-root ../srv`,
    );

  // sandbox
  const sb = program
    .command('sandbox')
    .description('private httpd server roots run by the system httpd binary');
  withChangeOptions(sb.command('create'))
    .argument('<dir>', 'directory for the new server root')
    .option('--port <n>', 'port to Listen on (127.0.0.1)', portArg, 8080)
    .option(
      '--tls-port <n>',
      'the port `vhost add --tls` listens on for HTTPS (127.0.0.1)',
      portArg,
    )
    .option(
      '--force',
      'write a fresh config into an existing directory (without it, a ' +
        'sandbox already there as asked is left as it is: changed false)',
    )
    .option('--no-project', 'do not record the server root in ./apxs-ts.json')
    .option('--use', 'switch ./apxs-ts.json to this sandbox when it names another server root')
    .description('create a sandbox ServerRoot: no root needed, nothing in /etc touched')
    .addHelpText(
      'after',
      '\nExamples:\n  apxs-ts sandbox create ./srv --port 8080\n' +
        '  apxs-ts sandbox create ./srv2 --port 8081 --use   (later commands here use srv2)',
    )
    .action(run((dir, o) => sandbox().create(dir, o)));
  sb.command('list')
    .description('the sandboxes you created: running or not, port, path')
    .addHelpText('after', '\nExample:\n  apxs-ts sandbox list --json')
    .action(run(() => sandbox().list()));
  withChangeOptions(sb.command('remove'))
    .argument('<dir>', 'a sandbox made by sandbox create')
    .description(
      "stop a sandbox's server if it runs, then delete what apxs-ts made " +
        'in it; your files (and files you edited) are kept and listed',
    )
    .addHelpText('after', '\nExample:\n  apxs-ts sandbox remove ./srv')
    .action(run((dir, o) => sandbox().remove(dir, o)));

  // new
  withServerRoot(program.command('new'))
    .argument('<name>', 'module name, with or without mod_ (letters, digits, _)')
    .option('--cpp', 'a C++ module (compiled and linked with the C++ compiler)')
    .option(
      '--template <t>',
      `one of ${MODULE_TEMPLATES.join(', ')} (default: the one ` +
        'the name names, as mod_info or hello; else handler)',
    )
    .option(
      '--api <api>',
      `module API, ${MODULE_APIS.join(' or ')} (default: the ` +
        "server root's httpd series; 2 without a server root)",
    )
    .option('--dir <parent>', 'create the module directory here', '.')
    .option('--force', 'write the template files into an existing directory')
    .description(
      'scaffold a C or C++ httpd module with a Makefile, for the module API of the target server',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  apxs-ts new mod_info --cpp    (the info template: the name says it)\n' +
        '  apxs-ts new mod_counter --template hello\n' +
        '  apxs-ts new hello --server-root /opt/apache13\n' +
        '  apxs-ts new hello --api 1.3',
    )
    .action(run((name, o) => scaffold().newModule(name, o)));

  // build
  withServerRoot(program.command('build'))
    .argument('[dir]', 'module directory', '.')
    .option('--force', 'rebuild even if up to date')
    .option(
      '--check',
      'say whether a build is needed (changed) and what it would compile; write nothing',
    )
    .option('--jobs <n>', 'parallel compiles for multi-file modules', jobsArg)
    .option(
      '-I, --include <dir>',
      'add an include directory (repeatable; saved in apxs-ts-module.json)',
      collect,
    )
    .option(
      '-D, --define <name[=value]>',
      'define a macro (repeatable; saved; a new value replaces the saved one)',
      collect,
    )
    .option('-L, --lib-dir <dir>', 'add a library directory (repeatable; saved)', collect)
    .option('-l, --lib <lib>', 'link a library, as -lz (repeatable; saved)', collect)
    .option(
      '-W <c,flag|l,flag>',
      '-Wc,FLAG for the compiler, -Wl,FLAG for the link (repeatable; saved)',
      collect,
    )
    .option('--reset-flags', 'forget the saved flags (before adding the ones given)')
    .option(
      '--sanitize <kind>',
      'address or undefined: build with that sanitizer and frame pointers (saved; ' +
        'none takes it out); ctl start preloads its runtime into httpd',
    )
    .description(
      'compile the module (only what changed) into mod_NAME.so ' +
        'and check its symbols against the target httpd',
    )
    .addHelpText(
      'after',
      [
        '',
        'Flags are kept in apxs-ts-module.json (and apxs-ts.mk ' +
          'for the Makefile), so the next build uses them;',
        '$CFLAGS, $CPPFLAGS ($CXXFLAGS for C++, else $CFLAGS), ' +
          '$LDFLAGS and $LIBS are added to every build.',
        '',
        'Examples:',
        '  cd mod_info && apxs-ts build',
        '  apxs-ts build -lz -D GREETING=\'"hi"\' -Wc,-O0 -Wl,-z,defs',
      ].join('\n'),
    )
    .action(run((dir, o) => build().build(dir, o)));

  // install, uninstall
  withChangeOptions(withServerRoot(program.command('install')))
    .argument('[dir]', 'module directory', '.')
    .option('--force', 'install even over a module of the same name that apxs-ts did not install')
    .option(
      '--handler <name>',
      'SetHandler NAME in the <Location>, instead of what ' +
        'the sources register (kept in apxs-ts-module.json)',
    )
    .option('--location <path>', 'the <Location> path (default /NAME; kept in apxs-ts-module.json)')
    .option('--no-location', 'no <Location> block (kept in apxs-ts-module.json)')
    .option(
      '--public',
      'let every client in to the <Location> (default: only this ' +
        'machine: Require local; kept in apxs-ts-module.json)',
    )
    .option('--local', 'only this machine again, after --public')
    .description(
      'copy the .so (building it only when there is none ' +
        'or the sources are newer), add LoadModule ' +
        'and the <Location> the module registers, configtest, roll back if broken',
    )
    .addHelpText(
      'after',
      [
        '',
        'The <Location> comes from the sources: SetHandler for the names compared with r->handler',
        '(1.3: the handler_rec table), else SetOutputFilter/SetInputFilter ' +
          'for the filters registered',
        'with ap_register_output_filter/ap_register_input_filter, else none.',
        '',
        'Examples:',
        '  apxs-ts install --server-root ../srv',
        '  apxs-ts install --handler example-hooks-handler --location /example',
      ].join('\n'),
    )
    .action(run((dir, o) => install().install(dir, o)));
  withChangeOptions(withServerRoot(program.command('uninstall')))
    .argument('<name>', 'module name (info or mod_info)')
    .description(
      'reverse install: remove the .so, LoadModule and <Location>; configtest, roll back if broken',
    )
    .addHelpText('after', '\nExample:\n  apxs-ts uninstall info --server-root ./srv')
    .action(run((name, o) => install().uninstall(name, o)));

  // makefile
  const mk = program
    .command('makefile')
    .description(
      'find and fix recipe lines indented with spaces ("missing ' +
        'separator") and include directories the target needs',
    );
  withServerRoot(mk.command('check'))
    .argument('[file]', 'Makefile', 'Makefile')
    .description(
      'name every recipe line indented with spaces, and -I directories ' +
        'missing for the target httpd; exit 1 if any',
    )
    .addHelpText(
      'after',
      '\nExample:\n  apxs-ts makefile check mod_info/Makefile --server-root ./srv',
    )
    .action(run((file, o) => makefile().check(file, o)));
  withServerRoot(mk.command('fix'))
    .argument('[file]', 'Makefile', 'Makefile')
    .option(
      '--includes',
      'also write the -I directories the target httpd needs (from its ' +
        'INCLUDEDIR and EXTRA_INCLUDES) and drop ones that do not exist',
    )
    .description(
      'turn the leading spaces of recipe lines into a tab; ' +
        "with --includes, the target's include directories",
    )
    .addHelpText(
      'after',
      '\nExample:\n  apxs-ts makefile fix\n  apxs-ts makefile fix --includes --server-root ./srv',
    )
    .action(run((file, o) => makefile().fix(file, o)));

  // ctl
  const c = program
    .command('ctl')
    .description('start, stop and check the server with real health checks')
    .addHelpText('after', CTL_EXIT_HELP);
  const ctlCommon = (sub: Command) =>
    withServerRoot(sub)
      .option('--url <url>', 'health URL (default: the first Listen address)')
      .option('--timeout <seconds>', 'how long to wait', timeoutArg, 30)
      .addHelpText('after', CTL_EXIT_HELP);
  const lifecycle = [
    ['start', 'configtest, check the port, start, and wait until the health URL answers'],
    [
      'stop',
      'stop and wait until the process and its pid file are gone (not running: changed false)',
    ],
    [
      'graceful-stop',
      'let requests finish, then stop (httpd 2.2 and later; not running: changed false)',
    ],
    ['restart', 'configtest, then restart and wait for the new generation to answer'],
    ['graceful', 'configtest, then graceful restart and wait for the new generation to answer'],
  ] as const;
  for (const [name, description] of lifecycle) {
    withChangeOptions(ctlCommon(c.command(name).description(description))).action(
      run((o) => ctl().lifecycle(name, o)),
    );
  }
  ctlCommon(
    c
      .command('status')
      .description(
        'running or not, pid, since when, listening addresses, ' +
          'health (exit 0 healthy, 1 unhealthy, 3 not running)',
      ),
  ).action(run((o) => ctl().status(o)));
  ctlCommon(
    c
      .command('crashes')
      .description(
        'children that died by a signal since the server started, ' +
          'each with its backtrace (gdb on its core, else addr2line)',
      ),
  )
    .addHelpText(
      'after',
      '\nMore examples:\n  apxs-ts ctl crashes --json\n  apxs-ts ctl crashes -n 1',
    )
    .option(
      '-n, --last <n>',
      'the last N crashes (default 20; all are counted)',
      numberArg(NUMBER_RULES.lines),
    )
    .action(run((o) => ctl().crashes(o)));
  ctlCommon(
    c
      .command('configtest')
      .description("httpd's verdict on the config, warnings explained (exit 0 ok, 1 broken)"),
  ).action(run((o) => ctl().configtest(o)));
  ctlCommon(
    c
      .command('logs')
      .description('the last lines of the error log (or the access log); --follow keeps printing'),
  )
    .option('-n, --lines <n>', 'how many lines (1 or more)', numberArg(NUMBER_RULES.lines), 20)
    .option('-f, --follow', 'keep printing new lines until interrupted')
    .option(
      '--module <name>',
      'only the lines of this module (2.4 tags them [NAME:level]; debug lines name mod_NAME.c)',
    )
    .option(
      '--access',
      "the access log instead of the error log (the default vhost's own, when it has one)",
    )
    .option('--vhost <name>', 'with --access: the access log of this vhost')
    .option(
      '--source <dir>',
      "with --module: the module's source directory, whose file names " +
        'httpd prints on debug lines (default: the current directory)',
    )
    .addHelpText(
      'after',
      '\nMore examples:\n  apxs-ts ctl logs --module info -n 5\n' +
        '  apxs-ts ctl logs --access --follow',
    )
    .action(run((o) => ctlLog().logs(o)));
  withChangeOptions(
    ctlCommon(
      c
        .command('loglevel')
        .description(
          'set LogLevel (per module on 2.4, global before) ' +
            'in a marked block; a running server is reloaded',
        ),
    ),
  )
    .argument('[level]', 'emerg alert crit error warn notice info debug (2.4 also trace1-8)')
    .option(
      '--module <name>',
      "only this module's level (2.4: LogLevel NAME:LEVEL; before 2.4 the global level)",
    )
    .option('--reset', "take apxs-ts's level out again (of --module, or all)")
    .option('--no-reload', 'only edit the config; do not graceful-restart a running server')
    .option(
      '--source <dir>',
      "with --module: the module's source directory, read to tell whether " +
        'it logs under its own level (default: the current directory)',
    )
    .addHelpText(
      'after',
      '\nMore examples:\n  apxs-ts ctl loglevel debug --module info\n' +
        '  apxs-ts ctl loglevel --reset',
    )
    .action(run((level, o) => ctlLog().loglevel(level, o)));

  // hosts
  const h = program
    .command('hosts')
    .description('names in /etc/hosts, inside a block apxs-ts marks as its own');
  const hostsCommon = (sub: Command) =>
    // --check (and its older name --dry-run): print the change, write nothing.
    withChangeOptions(withHostsFile(sub)).option(
      '--backup-dir <dir>',
      'where the timestamped backup goes (default: beside the hosts file)',
    );
  hostsCommon(h.command('add').argument('<names...>').option('--ip <ip>', 'address', '127.0.0.1'))
    .description('map names to an address (several names share one line per address)')
    .addHelpText(
      'after',
      '\nExample:\n  sudo apxs-ts hosts add one.dd two.dd\n' +
        '  apxs-ts hosts add one.dd --ip ::1 --hosts-file ./hosts',
    )
    .action(run((names, o) => hosts().add(names, o)));
  hostsCommon(h.command('remove').argument('<names...>'))
    .description('remove names from the apxs-ts block')
    .addHelpText('after', '\nExample:\n  sudo apxs-ts hosts remove one.dd')
    .action(run((names, o) => hosts().remove(names, o)));
  withHostsFile(h.command('list'))
    .description('every mapping in the file; * marks the ones apxs-ts manages')
    .addHelpText('after', '\nExample:\n  apxs-ts hosts list --json')
    .action(run((o) => hosts().list(o)));

  // vhost
  const v = program
    .command('vhost')
    .description('name-based virtual hosts, with their /etc/hosts entries, for httpd 2.2 and 2.4');
  const vhostCommon = (sub: Command) =>
    withHostsFile(withServerRoot(sub)).option(
      '--httpd-version <v>',
      'treat the server as this series (2.2 or 2.4) instead of asking httpd -v',
    );
  withChangeOptions(vhostCommon(v.command('add').argument('<name>')))
    .option('--alias <name>', 'ServerAlias (repeatable)', collect, [])
    .option(
      '--docroot <dir>',
      'DocumentRoot (default: SERVER_ROOT/sites/NAME, on ' +
        'Debian /var/www/NAME; created with an index.html)',
    )
    .option('--port <n>', "port (default: the server's first Listen)", portArg)
    .option('--ip <ip>', 'VirtualHost address (default *)')
    .option('--remap', 'map a name the hosts file maps to another address (default: refuse)')
    .option(
      '--tls',
      'also serve it over HTTPS with a certificate from ' +
        'the local CA (made on first use; apxs-ts tls ca)',
    )
    .option(
      '--tls-port <n>',
      'the port HTTPS listens on (default: the one the ' +
        'TLS vhosts use, or sandbox create --tls-port)',
      portArg,
    )
    .option('--https-only', 'with --tls: the plain vhost redirects to https')
    .option(
      '--ca-dir <dir>',
      "the local CA's directory (default: $APXS_TS_CA_DIR, else ~/.local/share/apxs-ts/ca)",
    )
    .description(
      'hosts entry, DocumentRoot, <VirtualHost> in its own ' +
        'file, Include; configtest, roll back if broken',
    )
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  apxs-ts vhost add one.dd --alias www.one.dd --server-root ./srv --hosts-file ./hosts\n' +
        '  apxs-ts vhost add one.test --tls --tls-port 8443 --https-only',
    )
    .action(run((name, o) => vhost().add(name, o)));
  withChangeOptions(vhostCommon(v.command('remove').argument('<name>')))
    .option('--purge', 'also delete its DocumentRoot')
    .description('remove the vhost block, its hosts entry, and the Include when no vhost is left')
    .addHelpText('after', '\nExample:\n  apxs-ts vhost remove one.dd --purge')
    .action(run((name, o) => vhost().remove(name, o)));
  vhostCommon(v.command('list'))
    .description(
      'the vhosts httpd will use, in order; * marks the default of each ' +
        "address:port; a disabled site's vhosts last, marked disabled",
    )
    .addHelpText('after', '\nExample:\n  apxs-ts vhost list --json')
    .action(run((o) => vhost().list(o)));
  vhostCommon(v.command('check'))
    .option('--config <file>', "check this config file instead of a server root's")
    .option('--no-httpd', 'do not also run httpd -S')
    .description(
      'find vhost mistakes (file:line, plain words, the fix) and show httpd -S; exit 1 if any',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  apxs-ts vhost check --server-root ./srv\n' +
        '  apxs-ts vhost check --config old/httpd.conf --httpd-version 2.2 --hosts-file ' +
        './hosts',
    )
    .action(run((o) => vhost().check(o)));

  // source
  const s = program
    .command('source')
    .description('httpd releases from 1.3 to 2.4: list, download, verify, build');
  const sourceCommon = (sub: Command) =>
    sub
      .option(
        '--mirror <url>',
        'mirror directory (http, https, file URL or path; env APXS_TS_MIRROR)',
      )
      .option(
        '--cache-dir <dir>',
        'where tarballs are kept (default: $XDG_CACHE_HOME/apxs-ts/sources)',
      )
      .option('--keys <file>', "a local copy of Apache's KEYS (default: fetched from the ASF)")
      .option('--insecure', 'use a release that has no checksum or signature')
      .option('--max-size <size>', 'largest file a mirror may send, e.g. 64M (default 64M)')
      .option(
        '--stall-timeout <s>',
        'give up a request when no byte came for this long (default 30; retried)',
        timeoutArg,
      )
      .option(
        '--deadline <s>',
        'give up a download that takes longer than this, retries included (default 900)',
        timeoutArg,
      );
  s.command('list')
    .option('--mirror <url>', 'mirror directory (env APXS_TS_MIRROR)')
    .description('releases on the mirror by series, newest first')
    .addHelpText(
      'after',
      '\nExample:\n  apxs-ts source list --mirror https://archive.apache.org/dist/httpd/',
    )
    .action(run((o) => source().list(o)));
  sourceCommon(s.command('download').argument('<version>', '2.4.68, a series (2.4) or latest'))
    .description('download (resuming, retrying) and verify a release into the cache')
    .addHelpText('after', '\nExample:\n  apxs-ts source download 2.4 --keys ./KEYS')
    .action(run((version, o) => source().download(version, o)));
  sourceCommon(
    s.command('verify').argument('<version-or-file>', 'a version in the cache, or a tarball path'),
  )
    .description("check a tarball against the release's checksum and signature")
    .addHelpText('after', '\nExample:\n  apxs-ts source verify 2.4.68')
    .action(run((what, o) => source().verify(what, o)));
  sourceCommon(
    withChangeOptions(s.command('build'))
      .argument('<version>', '2.4.68, a series (2.4) or latest')
      .argument('[configure-args...]', 'extra configure arguments, after --'),
  )
    .option(
      '--prefix <dir>',
      'install here (it becomes a server root; default: ~/.local/share/apxs-ts/httpd/VERSION, ' +
        '$XDG_DATA_HOME honoured)',
    )
    .option('--port <n>', 'Listen localhost:PORT in the installed httpd.conf', portArg, 8080)
    .option('--jobs <n>', 'make -jN (default: the number of CPUs)', jobsArg)
    .option(
      '--with-ssl',
      'also build mod_ssl and mod_socache_shmcb (2.4; needs libssl-dev) for vhost add --tls',
    )
    .description('check prerequisites, download, verify, configure, make, make install, set Listen')
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  apxs-ts source build 2.4.68 --port 8080   (into ~/.local/share/apxs-ts/httpd/2.4.68)\n' +
        '  apxs-ts source build 2.4.68 --prefix ~/httpd-2.4 --port 8080\n' +
        '  apxs-ts source build 2.2 --prefix /opt/httpd22 -- --enable-rewrite\n' +
        '  apxs-ts source build 1.3 --prefix /opt/apache13 --check' +
        '   (every step and URL, run none)\n\n' +
        'Built there before with the same version, options and port ' +
        '(its receipt says so): changed false, nothing rebuilt.',
    )
    .action(run((version, extra, o) => source().build(version, extra, o)));
  s.command('versions')
    .description('the httpd versions source build installed (from their receipts), newest first')
    .addHelpText('after', '\nExample:\n  apxs-ts source versions --json')
    .action(run(() => source().versions()));
  withChangeOptions(s.command('uninstall'))
    .argument('<version>', 'a version source versions lists')
    .option('--prefix <dir>', 'which one, when the version is installed in more than one prefix')
    .description(
      'delete the prefix a version was built into (only one with ' +
        'an apxs-ts receipt; refused while its httpd runs)',
    )
    .addHelpText('after', '\nExample:\n  apxs-ts source uninstall 2.4.68')
    .action(run((version, o) => source().uninstall(version, o)));

  // query
  withServerRoot(program.command('query'))
    .argument(
      '[vars...]',
      'variable names (INCLUDEDIR, CC, CFLAGS, LIBEXECDIR, ...); none: all of them',
    )
    .description("the target's build variables, as `apxs -q` gives them (all of them with --json)")
    .addHelpText(
      'after',
      `
Prints one value per line for the names given; with none, every variable as NAME = value.
--json prints {"ok":true,"source","vars":{NAME:value,...}}.

Examples:
  apxs-ts query INCLUDEDIR
  apxs-ts query CC CFLAGS --server-root ./srv
  apxs-ts query --json`,
    )
    .action(run((vars, o) => query().query(vars, o)));

  // doctor
  withHostsFile(withServerRoot(program.command('doctor')))
    .description(
      'what apxs-ts detected (server root, httpd version and MPM, compiler, ' +
        'apxs, flags, hosts file, ports) and what is missing',
    )
    .addHelpText(
      'after',
      `
Exit codes: 0 nothing missing, 1 something is missing (each with the command that fixes it).
--json prints one object: {"ok","serverRoot","httpd","compiler","apxs","flags","hostsFile",\
"listen","missing":[{"what","why","fix"}],...}.

Examples:
  apxs-ts doctor
  apxs-ts doctor --server-root /opt/httpd-2.2 --json`,
    )
    .action(run((o) => doctor().report(o)));

  // dev
  withServerRoot(program.command('dev'))
    .argument('[dir]', 'module directory', '.')
    .option(
      '--graceful',
      'graceful restarts (the new code can take a second more to be served) instead of plain ones',
    )
    .option('--stop', 'stop the server too when watching ends')
    .option(
      '--release',
      "build with the target's own flags (-O2 ...) instead of dev's debug build (-O0 -g3)",
    )
    .option(
      '--debounce <ms>',
      'wait this long after a save for more saves',
      numberArg(NUMBER_RULES.debounceMs),
      20,
    )
    .option('--timeout <seconds>', 'how long a restart may take', timeoutArg, 30)
    .description(
      'watch the module: on every save rebuild, install, restart, ' +
        'and request its URL (Ctrl-C stops watching)',
    )
    .addHelpText(
      'after',
      `
Each save of a source, header or apxs-ts-module.json runs one cycle: build (only what
changed), install (configtest; rolled back when httpd rejects it), restart the server
(started if it is not running) and wait for the new generation, then GET the module's
URL. A compiler error, undefined symbol or rejected config is printed and leaves the
running server as it was. One line per cycle on a pipe, a live status on a terminal;
--json prints one JSON object per cycle ({"ok","event":"cycle",...}) and one at the end
({"ok":true,"event":"stopped",...}).

Examples:
  cd mod_hello && apxs-ts dev
  apxs-ts dev ./mod_info --server-root ./srv --json`,
    )
    .action(run((dir, o) => dev().dev(dir, o)));

  // completion
  withServerRoot(program.command('completion'))
    .argument('[shell]', SHELLS.join(', '))
    .option(
      '--complete <what>',
      `print the names TAB offers, one a line: ${DYNAMIC_VALUES.join(', ')} (used by the scripts)`,
    )
    .description('print a shell completion script for bash, zsh or fish')
    .addHelpText(
      'after',
      `
Install (one of):
  apxs-ts completion bash > ~/.local/share/bash-completion/completions/apxs-ts
  apxs-ts completion zsh > "\${fpath[1]}/_apxs-ts"
  apxs-ts completion fish > ~/.config/fish/completions/apxs-ts.fish

It completes subcommands, options, template names, and the installed modules
and vhosts of the current server root (--server-root, $APXS_TS_SERVER_ROOT or apxs-ts.json).`,
    )
    .action(run((shell, o) => completion().completion(shell, o, program)));

  // debug
  withServerRoot(program.command('debug'))
    .argument('[dir]', 'module directory (its handler is the default breakpoint)', '.')
    .option('--break <function>', "break in this function (default: the module's handler)")
    .option(
      '--valgrind',
      'run httpd under valgrind (memcheck) instead of gdb, with httpd/APR noise suppressed',
    )
    .option(
      '--request <path>',
      'batch: send one request to PATH once httpd listens, print the ' +
        "backtrace at the breakpoint (or valgrind's errors), end httpd",
    )
    .option('--timeout <seconds>', 'how long the batch form may take', timeoutArg, 120)
    .description(
      "run the server root's httpd in one process (-X) in the foreground " +
        'under gdb with a breakpoint, or under valgrind',
    )
    .addHelpText(
      'after',
      `
The server must not be running (httpd -X listens on its port). Without --request, gdb (or
valgrind) gets the terminal; Ctrl-C stops httpd in gdb. Exit 1 in the batch form when the
breakpoint was not reached, or when valgrind reported errors.

Examples:
  apxs-ts debug --request /hello
  apxs-ts debug --break hello_handler
  apxs-ts debug --valgrind --request / --json`,
    )
    .action(run((dir, o) => debugBody().debug(dir, o)));

  // test
  program
    .command('test')
    .argument('[dir]', 'module directory (its case files: tests/*.yaml)', '.')
    .option(
      '--file <case-file>',
      'a case file to run instead of tests/*.yaml (repeatable)',
      collect,
    )
    .option(
      '--server-root <dir>',
      'test on this httpd: a prefix (any series) is cloned per ' +
        'case file (repeatable; default: the system httpd)',
      collect,
    )
    .option(
      '--series <list>',
      'test on the newest installed release of each series (1.3,2.0,2.2,2.4; see source versions)',
    )
    .option('--repeat <n>', 'run each case N times', numberArg(NUMBER_RULES.repeat))
    .option(
      '--graceful-between',
      'graceful restart between cases (finds state kept across generations)',
    )
    .option(
      '--order <order>',
      'file (default) or random[:SEED]: the order of the cases of each file',
    )
    .option('--grep <pattern>', 'only the cases whose name matches this regular expression')
    .option('--reporter <name>', 'human (stderr) or junit (JUnit XML on stdout)', 'human')
    .option('--keep', 'keep the throwaway server roots (their paths are printed)')
    .option('--jobs <n>', 'case files run at once (default: the CPU count)', jobsArg)
    .description(
      "run the module's request/response cases against a throwaway " +
        'server per case file (and per httpd series)',
    )
    .addHelpText(
      'after',
      [
        '',
        'A case file (tests/NAME.yaml; every mistake in it is reported as file:line, exit 2):',
        '  config: |                    # added to the server config (optional)',
        '    <Location /hello> SetHandler hello </Location>',
        '  vhosts: [{ name: one.test, config: "..." }]',
        '  cases:',
        '    - name: says hello',
        '      request: { method: GET, path: /hello, host: one.test, ' +
          'headers: { X-A: b }, body: "", timeoutMs: 30000 }',
        '      expect:',
        '        status: 200',
        '        headers: { Content-Type: { contains: text/plain } }',
        '        body: "Hello from mod_hello\\n"   # or { equals | contains | matches: ... }',
        '        errorLog: [handling declined]    # lines ' +
          'that must appear (waited for, waitMs: 2000)',
        '        noErrorLog: [AH01630]           # patterns that must not',
        'Any [error]/[crit]/[alert]/[emerg] line a case does not ' +
          'expect, and a child that died by a signal, fail it.',
        'Exit 0: all passed; 1: a case failed; 2: a bad case file or option.',
        '',
        'Examples:',
        '  cd mod_hello && apxs-ts test',
        '  apxs-ts test --server-root /opt/httpd-2.2.34 --server-root /opt/apache-1.3.42',
        '  apxs-ts test --series 2.2,2.4 --repeat 20 --order random --reporter junit > junit.xml',
      ].join('\n'),
    )
    .action(run((dir, o) => testing().test(dir, o)));

  // tls
  const tl = program
    .command('tls')
    .description('local HTTPS: a name-constrained local CA, certificates for vhosts, trust');
  const withCaDir = (c: Command) =>
    c.option(
      '--ca-dir <dir>',
      "the local CA's directory (default: $APXS_TS_CA_DIR, else $XDG_DATA_HOME/apxs-ts/ca, " +
        'else ~/.local/share/apxs-ts/ca)',
    );
  withChangeOptions(withCaDir(tl.command('ca')))
    .option(
      '--permit <suffix>',
      'also permit names under SUFFIX (repeatable; e.g. .dd); fixed once the CA is made',
      collect,
      [],
    )
    .option('--show', 'show the CA (fingerprint, constraints, expiry); make nothing')
    .option(
      '--new',
      'replace the CA with a new one (the old files kept beside it as *.replaced-DATE)',
    )
    .description(
      'make the local CA once (ECDSA P-256, 10 years, name-constrained ' +
        'to localhost, .localhost, .test and --permit), or show it',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  apxs-ts tls ca\n  apxs-ts tls ca --show --json\n' +
        '  apxs-ts tls ca --new --permit .dd',
    )
    .action(run((o) => tlsBody().ca(o)));
  withCaDir(withServerRoot(tl.command('list')))
    .description('the TLS vhosts apxs-ts made: names, port, expiry, certificate file')
    .addHelpText('after', '\nExample:\n  apxs-ts tls list --json')
    .action(run((o) => tlsBody().list(o)));
  withChangeOptions(withCaDir(withServerRoot(tl.command('renew').argument('[name]'))))
    .option(
      '--expiring <days>',
      'renew those with fewer days left (and any signed by another CA, or missing)',
      numberArg(NUMBER_RULES.days),
    )
    .option('--all', 'renew every TLS vhost')
    .option('--no-reload', 'do not graceful-restart a running server')
    .description(
      'reissue certificates (a new key each), switch the ' +
        'vhosts to them, graceful-restart a running server',
    )
    .addHelpText(
      'after',
      '\nExamples:\n  apxs-ts tls renew one.test\n  apxs-ts tls renew --expiring 30',
    )
    .action(run((name, o) => tlsBody().renew(name, o)));
  const trustCommand = (name: 'trust' | 'untrust', description: string, example: string) =>
    withChangeOptions(withCaDir(tl.command(name)))
      .option(
        '--local-certs-dir <dir>',
        'where the CA file goes (update-ca-certificates --localcertsdir; ' +
          `default ${DEFAULT_SYSTEM_STORE.localCertsDir})`,
      )
      .option(
        '--etc-certs-dir <dir>',
        `the bundle and hash links (--etccertsdir; default ${DEFAULT_SYSTEM_STORE.etcCertsDir})`,
      )
      .option(
        '--certs-conf <file>',
        'update-ca-certificates --certsconf (default its own, /etc/ca-certificates.conf)',
      )
      .option(
        '--certs-dir <dir>',
        'update-ca-certificates --certsdir (default its own, /usr/share/ca-certificates)',
      )
      .option(
        '--hooks-dir <dir>',
        'update-ca-certificates --hooksdir (default its own, /etc/ca-certificates/update.d)',
      )
      .option('--update-ca-certificates <path>', 'the update-ca-certificates program')
      .option('--no-system', 'leave the system store alone')
      .option(
        '--nss-db <dir>',
        'an NSS database (repeatable; default: ~/.pki/nssdb ' +
          'and Firefox profiles found under --home)',
        collect,
        undefined,
      )
      .option('--no-nss', 'leave NSS databases alone')
      .option('--home <dir>', 'where to look for NSS databases (default: $HOME)')
      .description(description)
      .addHelpText('after', `\nExample:\n  ${example}`)
      .action(run((o) => tlsBody().trust(name, o)));
  trustCommand(
    'trust',
    'install the local CA in the system store (update-ca-certificates) ' +
      'and NSS databases (certutil); idempotent',
    'sudo apxs-ts tls trust',
  );
  trustCommand(
    'untrust',
    'take out exactly what tls trust put in; idempotent',
    'sudo apxs-ts tls untrust --json',
  );

  return program;
}

const CTL_EXIT_HELP = `
Exit codes:
  0  done (start/restart/graceful: the server answers its health URL; status: running and healthy)
  1  failed (config broken, port in use, did not become healthy; status: running but unhealthy,
     or orphaned workers whose parent is gone)
  2  usage error, or a verb this httpd lacks (graceful-stop on httpd 1.3 and 2.0; \
nothing is signalled)
  3  not running (status; stop and graceful-stop exit 0 with changed false)

--json prints one object: {"ok":true,"action","pid","healthUrl","health":{"status","latencyMs"},...}
or {"ok":false,"error":{"code","message","hint"},...}.

Examples:
  apxs-ts ctl start --server-root ./srv
  apxs-ts ctl status --json
  apxs-ts ctl graceful
  apxs-ts ctl logs -n 50 --follow`;
