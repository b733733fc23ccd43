#!/usr/bin/python
# -*- coding: utf-8 -*-
# Apache-2.0 (see apxs-ts's LICENSE)
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
module: apxs_ts_vhost
short_description: A name-based virtual host and its hosts-file entry (apxs-ts vhost add / remove)
description:
  - present writes the <VirtualHost> in its own file, its DocumentRoot and the hosts-file names; absent takes them out.
  - apxs-ts runs httpd's configtest and rolls every change back when httpd rejects it.
  - Calls C(apxs-ts vhost add|remove NAME).
options:
  name: {description: "The ServerName.", type: str, required: true}
  server_root: {description: "The server root.", type: path, required: true}
  hosts_file: {description: "The hosts file (default /etc/hosts).", type: path}
  state: {description: "present or absent.", type: str, choices: [present, absent], default: present}
  aliases: {description: "ServerAlias names.", type: list, elements: str, default: []}
  docroot: {description: "DocumentRoot (default SERVER_ROOT/sites/NAME; on Debian /var/www/NAME).", type: path}
  port: {description: "Port (default the server's first Listen).", type: int}
  ip: {description: "VirtualHost address (default *).", type: str}
  remap: {description: "Map a name the hosts file maps to another address.", type: bool, default: false}
  tls: {description: "Also serve it over HTTPS with a certificate from the local CA.", type: bool, default: false}
  tls_port: {description: "The HTTPS port.", type: int}
  https_only: {description: "With tls, the plain vhost redirects to https.", type: bool, default: false}
  ca_dir: {description: "The local CA's directory.", type: path}
  httpd_version: {description: "Treat the server as this series (2.2 or 2.4).", type: str}
  purge: {description: "With absent, also delete its DocumentRoot.", type: bool, default: false}
extends_documentation_fragment: [apxs_ts]
'''

EXAMPLES = r'''
- apxs_ts_vhost:
    name: one.test
    aliases: [www.one.test]
    server_root: /srv/httpd-dev
    hosts_file: /etc/hosts
'''

RETURN = r'''
# Besides the results every apxs_ts_* module returns (the apxs_ts doc fragment's notes):
name: {description: "The ServerName.", type: str, returned: success}
state: {description: "The state asked for.", type: str, returned: success}
'''

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.apxs_ts import ApxsTs, COMMON_ARGS, option_flags, missing_in_check_mode

COMMON = [
    ('server_root', '--server-root', 'value'),
    ('hosts_file', '--hosts-file', 'value'),
    ('httpd_version', '--httpd-version', 'value'),
]
ADD = [
    ('aliases', '--alias', 'list'),
    ('docroot', '--docroot', 'value'),
    ('port', '--port', 'value'),
    ('ip', '--ip', 'value'),
    ('remap', '--remap', 'bool'),
    ('tls', '--tls', 'bool'),
    ('tls_port', '--tls-port', 'value'),
    ('https_only', '--https-only', 'bool'),
    ('ca_dir', '--ca-dir', 'value'),
]


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type='str', required=True),
            server_root=dict(type='path', required=True),
            hosts_file=dict(type='path'),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            aliases=dict(type='list', elements='str', default=[]),
            docroot=dict(type='path'),
            port=dict(type='int'),
            ip=dict(type='str'),
            remap=dict(type='bool', default=False),
            tls=dict(type='bool', default=False),
            tls_port=dict(type='int'),
            https_only=dict(type='bool', default=False),
            ca_dir=dict(type='path'),
            httpd_version=dict(type='str'),
            purge=dict(type='bool', default=False),
            **COMMON_ARGS
        ),
        supports_check_mode=True,
    )
    tool = ApxsTs(module)
    p = module.params
    present = p['state'] == 'present'
    what = 'the vhost %s' % p['name'] if present else 'no vhost %s to remove' % p['name']
    if not missing_in_check_mode(tool, p['server_root'], what, would_change=present):
        if p['state'] == 'present':
            tool.run(['vhost', 'add'] + option_flags(p, COMMON + ADD), positional=[p['name']])
        else:
            tool.run(
                ['vhost', 'remove'] + option_flags(p, COMMON + [('purge', '--purge', 'bool')]),
                positional=[p['name']],
            )
    tool.exit(name=p['name'], state=p['state'])


if __name__ == '__main__':
    main()
