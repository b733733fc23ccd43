# -*- coding: utf-8 -*-
# Apache-2.0 (see apxs-ts's LICENSE)
"""The one call every apxs_ts_* module makes: run `apxs-ts ... --json`
(with --check in Ansible's check mode and --diff in its diff mode), read the
one JSON object it prints, and turn it into Ansible's result (changed, diff,
msg, warnings) or into a failure carrying apxs-ts's error code and hint.

apxs-ts decides what changes (issue #23's contract, lib/core/change-report.ts):
these modules never guess state; they pass options through and report what
apxs-ts says.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

# Options every module takes.
COMMON_ARGS = dict(
    apxs_ts=dict(type='str', default='apxs-ts'),
)


def option_flags(params, spec):
    """Command-line words for the options in `spec`: (param, flag, kind),
    kind 'value' (--flag VALUE), 'bool' (--flag when true) or 'list'
    (--flag VALUE per item). Options left unset give nothing."""
    words = []
    for name, flag, kind in spec:
        value = params.get(name)
        if value is None:
            continue
        if kind == 'bool':
            if value:
                words.append(flag)
        elif kind == 'list':
            for item in value:
                words.extend([flag, str(item)])
        else:
            words.extend([flag, str(value)])
    return words


class ApxsTs(object):
    """Runs apxs-ts for one Ansible module invocation and gathers its result."""

    def __init__(self, module):
        self.module = module
        exe = module.params['apxs_ts']
        if os.path.sep in exe:
            self.exe = exe
        else:
            # get_bin_path fails the task with a clear message when it is not on PATH.
            self.exe = module.get_bin_path(exe, required=True)
        self.changed = False
        self.diff = []
        self.msgs = []
        self.warnings = []
        self.restart_required = False
        self.results = []

    def run(self, args, mutating=True, ok_codes=(), check=None, diff=True):
        """Runs `apxs-ts ARGS --json` (+ --check/--diff for a mutating command)
        and returns its JSON object. A failure of apxs-ts fails the task with
        its code and hint, unless the code is in ok_codes (the object is then
        returned with ok false; '*' accepts every code). diff=False for a
        command without --diff (build: its output is a .so). check=False runs a command for real even in
        check mode (only for commands that change nothing)."""
        cmd = [self.exe] + list(args) + ['--json']
        in_check = self.module.check_mode if check is None else check
        if mutating and in_check:
            cmd.append('--check')
        if mutating and diff and self.module._diff:
            cmd.append('--diff')
        rc, out, err = self.module.run_command(cmd, environ_update={'NO_COLOR': '1'})
        data = parse_one_object(out)
        if data is None:
            self.module.fail_json(
                msg='apxs-ts printed no JSON object (exit %d)' % rc,
                cmd=cmd, rc=rc, stdout=out, stderr=err,
            )
        if not data.get('ok'):
            error = data.get('error') or {}
            if error.get('code') in ok_codes or '*' in ok_codes:
                return data
            self.fail(cmd, rc, data, err)
        self.results.append(dict(cmd=cmd, rc=rc))
        if mutating:
            self.absorb(data)
        return data

    def absorb(self, data):
        """Adds a mutating command's report to this task's result."""
        if data.get('changed') is True:
            self.changed = True
        if data.get('restart_required'):
            self.restart_required = True
        if data.get('msg'):
            self.msgs.append(data['msg'])
        warnings = data.get('warnings')
        # `build` keeps warnings as a count (its lines are warningLines).
        if isinstance(warnings, list):
            self.warnings.extend(str(w) for w in warnings)
        for d in data.get('diff') or []:
            self.diff.append(d)

    def fail(self, cmd, rc, data, stderr):
        error = data.get('error') or {}
        code = error.get('code') or 'UNKNOWN'
        message = error.get('message') or 'apxs-ts failed'
        hint = error.get('hint')
        self.module.fail_json(
            msg='%s: %s%s' % (code, message, ' (hint: %s)' % hint if hint else ''),
            code=code,
            hint=hint,
            details=error.get('details') or [],
            cmd=cmd,
            rc=rc,
            stderr=stderr,
        )

    def note(self, msg, changed=None, warning=None):
        """A decision the module made itself (e.g. a check-mode assumption)."""
        self.msgs.append(msg)
        if changed:
            self.changed = True
        if warning:
            self.warnings.append(warning)

    def exit(self, **extra):
        for w in self.warnings:
            self.module.warn(w)
        result = dict(
            changed=self.changed,
            msg='; '.join(self.msgs) if self.msgs else 'nothing to do',
            **extra
        )
        if self.restart_required:
            result['restart_required'] = True
        if self.module._diff:
            result['diff'] = self.diff
        self.module.exit_json(**result)


def parse_one_object(out):
    """apxs-ts prints exactly one JSON object on stdout under --json."""
    text = (out or '').strip()
    if not text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        # Anything before the object (should not happen) is not fatal: take the last line.
        try:
            data = json.loads(text.splitlines()[-1])
        except ValueError:
            return None
    return data if isinstance(data, dict) else None


def missing_in_check_mode(tool, path, what, would_change=True):
    """A server root that does not exist, where that is no error: in check
    mode one an earlier task would create (nothing can be asked of it yet; the
    task would change it: would_change), and in any mode one whose absence is
    the state asked for (absent, stopped: would_change False, nothing to do).
    True when the module answers so without running apxs-ts."""
    if os.path.exists(path):
        return False
    if would_change:
        if not tool.module.check_mode:
            return False  # apxs-ts says why (BAD_PATH) and the task fails
        tool.note(
            'check mode: server root %s does not exist yet (an earlier task would create it); %s would be made'
            % (path, what),
            changed=True,
        )
    else:
        tool.note('server root %s does not exist: %s' % (path, what))
    return True
