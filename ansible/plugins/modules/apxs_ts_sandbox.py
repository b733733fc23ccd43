#!/usr/bin/python
# -*- coding: utf-8 -*-
# Apache-2.0 (see apxs-ts's LICENSE)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: apxs_ts_sandbox
short_description: A private httpd server root (apxs-ts sandbox create / remove)
description:
  - Creates a sandbox server root run by the system httpd binary, or removes what apxs-ts made in one.
  - Calls C(apxs-ts sandbox create|remove).
  - Never writes C(apxs-ts.json) in the task's working directory (C(--no-project)).
options:
  path: {description: "The sandbox directory.", type: path, required: true}
  port: {description: "Port it listens on (127.0.0.1).", type: int, default: 8080}
  tls_port: {description: "Port C(vhost add --tls) listens on for HTTPS.", type: int}
  state: {description: "present creates it, absent removes it.", type: str, choices: [present, absent], default: present}
extends_documentation_fragment: [apxs_ts]
'''

EXAMPLES = r'''
- apxs_ts_sandbox:
    path: /srv/httpd-dev
    port: 8080
'''

RETURN = r'''
# Besides the results every apxs_ts_* module returns (the apxs_ts doc fragment's notes):
path: {description: "The sandbox directory.", type: path, returned: success}
'''

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.apxs_ts import ApxsTs, COMMON_ARGS, option_flags


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            port=dict(type='int', default=8080),
            tls_port=dict(type='int'),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            **COMMON_ARGS
        ),
        supports_check_mode=True,
    )
    tool = ApxsTs(module)
    p = module.params
    if p['state'] == 'present':
        tool.run(
            ['sandbox', 'create', '--no-project']
            + option_flags(p, [('port', '--port', 'value'), ('tls_port', '--tls-port', 'value')]),
            positional=[p['path']],
        )
    else:
        tool.run(['sandbox', 'remove'], positional=[p['path']])
    tool.exit(path=p['path'])


if __name__ == '__main__':
    main()
