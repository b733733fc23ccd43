# -*- coding: utf-8 -*-
# Apache-2.0 (see apxs-ts's LICENSE)
"""What every apxs_ts_* module documents alike, written once: each module's
DOCUMENTATION names it with `extends_documentation_fragment: apxs_ts`, and
ansible-doc merges it in (ANSIBLE_DOC_FRAGMENT_PLUGINS names this folder).

The results every module shares are notes here, not RETURN entries: Ansible
(2.14, Debian 12's) merges fragments into DOCUMENTATION only and reads each
module's RETURN as the literal string in its own file, so a shared RETURN
would have to be copied into all four (ansible/ansible#70910).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    DOCUMENTATION = r'''
options:
  apxs_ts:
    description: The apxs-ts executable (a name on PATH, or a path used as given).
    type: str
    default: apxs-ts
notes:
  - Runs C(apxs-ts ... --json) on the managed machine; apxs-ts decides what changes, from the server's files.
    Check mode adds C(--check) (nothing written, no process signalled), diff mode C(--diff).
  - "Results, besides Ansible's common C(changed) and C(msg) (apxs-ts's msg lines joined):
    C(diff) in diff mode (each file changed, or that would change, as before_header, after_header, before, after);
    C(restart_required=true) when a changed config takes effect only once the running httpd reloads;
    apxs-ts's warnings as Ansible warnings."
  - "On failure: C(msg) is apxs-ts's error code, message and hint (CODE: message, then the hint in brackets),
    with the fields C(code), C(hint), C(details), C(cmd) and C(rc): what C(apxs-ts --json) prints."
'''
