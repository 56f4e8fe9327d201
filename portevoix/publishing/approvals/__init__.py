"""Approvals without committees, compliance and pause: the editorial controls of issue 9.

See ``docs/approvals.md``. The public entry points are in :mod:`.actions` (``submit``,
``approve``, ``request_changes``, ``reject``, ``send_time_check``...), :mod:`.policy` (who
needs what), :mod:`portevoix.publishing.compliance` and :mod:`portevoix.publishing.pause`.
"""
