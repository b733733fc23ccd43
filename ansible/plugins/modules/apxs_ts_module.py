#!/usr/bin/python
# -*- coding: utf-8 -*-
# Apache-2.0 (see apxs-ts's LICENSE)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: apxs_ts_module
short_description: Build and install an httpd module from its sources, or uninstall it (apxs-ts build / install / uninstall)
description:
  - present builds the module directory (only what changed; a no-op build reports nothing changed), then installs
    the .so, its LoadModule line and the <Location> its sources register; httpd's configtest decides, a rejected
    change is rolled back.
  - absent uninstalls it (the .so, LoadModule and <Location> apxs-ts wrote; files it replaced are put back).
  - Whether the module is installed is read by apxs-ts from the server's files and the .so's module record, never
    guessed from a name.
  - In check mode C(build --check) says whether a build is needed.
options:
  src: {description: "The module directory (with apxs-ts-module.json). Required for present.", type: path}
  name: {description: "The module name (info or mod_info). For absent; default the name in src's apxs-ts-module.json.", type: str}
  server_root: {description: "The server root.", type: path, required: true}
  state: {description: "present or absent.", type: str, choices: [present, absent], default: present}
  build: {description: "With present, run C(apxs-ts build) first.", type: bool, default: true}
  force: {description: "Install over a module of the same name apxs-ts did not install.", type: bool, default: false}
  handler: {description: "SetHandler in the <Location> instead of what the sources register.", type: str}
  location: {description: "The <Location> path (default /NAME).", type: str}
  public: {description: "Let every client into the <Location> (default only this machine).", type: bool}
extends_documentation_fragment: [apxs_ts]
'''

EXAMPLES = r'''
- apxs_ts_module:
    src: /home/dev/mod_greet
    server_root: /srv/httpd-dev
'''

import json
import os

RETURN = r'''
# Besides the results every apxs_ts_* module returns (the apxs_ts doc fragment's notes):
server_root: {description: "The server root.", type: path, returned: success}
state: {description: "The state asked for.", type: str, returned: success}
'''

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.apxs_ts import ApxsTs, COMMON_ARGS, option_flags, missing_in_check_mode

INSTALL = [
    ('server_root', '--server-root', 'value'),
    ('force', '--force', 'bool'),
    ('handler', '--handler', 'value'),
    ('location', '--location', 'value'),
]


def name_in(src):
    try:
        with open(os.path.join(src, 'apxs-ts-module.json')) as f:
            return json.load(f).get('name')
    except (IOError, OSError, ValueError):
        return None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            src=dict(type='path'),
            name=dict(type='str'),
            server_root=dict(type='path', required=True),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            build=dict(type='bool', default=True),
            force=dict(type='bool', default=False),
            handler=dict(type='str'),
            location=dict(type='str'),
            public=dict(type='bool'),
            **COMMON_ARGS
        ),
        required_if=[('state', 'present', ['src'])],
        required_one_of=[('src', 'name')],
        supports_check_mode=True,
    )
    tool = ApxsTs(module)
    p = module.params
    sr = p['server_root']
    if p['state'] == 'present':
        build_needed = False
        if p['build']:
            # Built against the target's toolchain; build has no file diff (its output is a .so).
            built = tool.run(
                ['build'] + (['--server-root', sr] if os.path.exists(sr) else []),
                diff=False,
                positional=[p['src']],
            )
            build_needed = built.get('changed') is True
        if not missing_in_check_mode(tool, sr, 'the module installed'):
            public = [] if p['public'] is None else ['--public' if p['public'] else '--local']
            args = ['install'] + option_flags(p, INSTALL) + public
            if module.check_mode and build_needed:
                # No .so yet (or an old one): install --check may not be able to read the record
                # a build would make. The build would change the .so, so the install would too.
                data = tool.run(args, ok_codes=('*',), positional=[p['src']])
                if not data.get('ok'):
                    err = data.get('error') or {}
                    tool.note(
                        'check mode: install would follow the build',
                        changed=True,
                        warning='install --check before the build: %s: %s'
                        % (err.get('code'), err.get('message')),
                    )
            else:
                tool.run(args, positional=[p['src']])
    else:
        name = p['name'] or name_in(p['src'])
        if not name:
            module.fail_json(msg='no name given and none in %s/apxs-ts-module.json' % p['src'])
        if not missing_in_check_mode(tool, sr, 'no module to uninstall', would_change=False):
            tool.run(['uninstall', '--server-root', sr], positional=[name])
    tool.exit(server_root=sr, state=p['state'])


if __name__ == '__main__':
    main()
