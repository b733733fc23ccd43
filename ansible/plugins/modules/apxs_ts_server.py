#!/usr/bin/python
# -*- coding: utf-8 -*-
# Apache-2.0 (see apxs-ts's LICENSE)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: apxs_ts_server
short_description: The state of a server root's httpd (apxs-ts ctl start / stop / restart / graceful)
description:
  - started and stopped are idempotent (changed only when the server's state changes); restarted and reloaded
    always act, as Ansible's service module does.
  - Calls C(apxs-ts ctl start|stop|restart|graceful).
options:
  server_root: {description: "The server root (a sandbox, an httpd prefix, /etc/apache2).", type: path, required: true}
  state: {description: "What the server should be.", type: str, choices: [started, stopped, restarted, reloaded], required: true}
  url: {description: "Health URL (default the first Listen address).", type: str}
  timeout: {description: "Seconds to wait for health or stop.", type: int}
extends_documentation_fragment: [apxs_ts]
'''

EXAMPLES = r'''
- apxs_ts_server:
    server_root: /srv/httpd-dev
    state: started
'''

RETURN = r'''
# Besides the results every apxs_ts_* module returns (the apxs_ts doc fragment's notes):
server_root: {description: "The server root.", type: path, returned: success}
state: {description: "The state asked for.", type: str, returned: success}
'''

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.apxs_ts import ApxsTs, COMMON_ARGS, option_flags, missing_in_check_mode

ACTIONS = dict(started='start', stopped='stop', restarted='restart', reloaded='graceful')


def main():
    module = AnsibleModule(
        argument_spec=dict(
            server_root=dict(type='path', required=True),
            state=dict(type='str', choices=list(ACTIONS), required=True),
            url=dict(type='str'),
            timeout=dict(type='int'),
            **COMMON_ARGS
        ),
        supports_check_mode=True,
    )
    tool = ApxsTs(module)
    p = module.params
    action = ACTIONS[p['state']]
    stopping = action == 'stop'
    what = 'no httpd to stop' if stopping else 'its httpd %s' % p['state']
    if not missing_in_check_mode(tool, p['server_root'], what, would_change=not stopping):
        data = tool.run(
            ['ctl', action, '--server-root', p['server_root']]
            + option_flags(p, [('url', '--url', 'value'), ('timeout', '--timeout', 'value')]),
            # Stopping a server that is not running is the state asked for.
            ok_codes=('NOT_RUNNING',) if action == 'stop' else (),
        )
        if not data.get('ok'):
            tool.note('httpd is not running for %s' % p['server_root'])
    tool.exit(server_root=p['server_root'], state=p['state'])


if __name__ == '__main__':
    main()
