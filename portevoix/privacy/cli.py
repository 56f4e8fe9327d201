"""``portevoix privacy show|export|erase|retention|purge``: data-protection requests from the
command line (a DPO's script, a ticket system's hook).

They run as the operator, audited with the actor "cli"; ``--as EMAIL`` acts as that member,
with that member's permissions (``privacy.manage``).
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, TextIO


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    privacy = sub.add_parser("privacy", help="export or erase one person's data; retention")
    commands = privacy.add_subparsers(dest="privacy_command", required=True)
    for name, text in (
        ("show", "count what a workspace holds about a person"),
        ("export", "print everything held about a person as JSON"),
        ("erase", "delete everything held about a person"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("network", help="bluesky, mastodon, sandbox...")
        command.add_argument("handle", help="as on their profile, with or without the @")
        command.add_argument("--workspace", help="the workspace's slug (needed when several)")
        command.add_argument("--as", dest="as_email", metavar="EMAIL")
        if name != "show":
            command.add_argument("--reference", default="", help="your request's reference")
        if name == "erase":
            command.add_argument("--yes", action="store_true", help="do not ask to confirm")
    retention = commands.add_parser("retention", help="show or set the retention periods")
    retention.add_argument("--workspace")
    retention.add_argument("--as", dest="as_email", metavar="EMAIL")
    retention.add_argument(
        "--conversations", metavar="DAYS", help="closed conversations; 'keep' for no limit"
    )
    retention.add_argument("--mentions", metavar="DAYS", help="mentions; 'keep' for no limit")
    purge = commands.add_parser("purge", help="apply the retention periods now")
    purge.add_argument("--workspace", help="one workspace (default: every one with a policy)")


def _days(value: str | None, current: int | None) -> int | None:
    from portevoix.channels.cli import CliError

    if value is None:
        return current
    if value.strip().lower() in {"keep", "none", ""}:
        return None
    try:
        return int(value)
    except ValueError:
        raise CliError(f"{value!r} is not a number of days (or 'keep')", code=2) from None


def _run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from portevoix.channels.cli import CliError, _member, _workspace
    from portevoix.privacy import actions
    from portevoix.privacy.models import RetentionPolicy

    command = args.privacy_command
    if command == "purge":
        policies = RetentionPolicy.objects.select_related("workspace").order_by("workspace__slug")
        if args.workspace:
            policies = policies.filter(workspace__slug=args.workspace)
        for each in policies:
            done = actions.apply_retention(each)
            out.write(f"{each.workspace.slug}: {json.dumps(done)}\n")
        return 0
    workspace = _workspace(args.workspace, email=args.as_email)
    member = _member(workspace, args.as_email)
    if command == "retention":
        policy: RetentionPolicy | None = RetentionPolicy.objects.filter(workspace=workspace).first()
        if args.conversations is not None or args.mentions is not None:
            try:
                policy = actions.set_retention(
                    workspace,
                    by=member,
                    conversations_days=_days(
                        args.conversations, policy.conversations_days if policy else None
                    ),
                    mentions_days=_days(args.mentions, policy.mentions_days if policy else None),
                )
            except ValueError as exc:
                raise CliError(str(exc), code=2) from None
        periods = {
            "conversations_days": policy.conversations_days if policy else None,
            "mentions_days": policy.mentions_days if policy else None,
        }
        out.write(json.dumps(periods) + "\n")
        return 0
    try:
        handle = actions.checked_handle(args.handle)
    except actions.PersonError:
        raise CliError(f"{args.handle!r} is not a handle", code=2) from None
    if not actions.known_network(args.network):
        from portevoix.networks.registry import all_networks

        names = ", ".join(n.name for n in all_networks())
        raise CliError(f"unknown network {args.network!r} (one of: {names})", code=2)
    if member is not None:
        from portevoix.core.permissions import require

        require(member, "privacy.manage")
    if command == "show":
        counts = actions.holdings(workspace, args.network, handle).counts()
        erasures = actions.past_erasures(workspace, args.network, handle)
        shown: dict[str, Any] = {"counts": counts}
        if erasures:
            shown["erased_before"] = [e.created_at.isoformat() for e in erasures]
        out.write(json.dumps(shown, indent=2) + "\n")
        return 0
    if command == "export":
        document = actions.export_person(
            workspace, args.network, handle, by=member, reference=args.reference
        )
        out.write(json.dumps(document, ensure_ascii=False, indent=2) + "\n")
        return 0
    counts = actions.holdings(workspace, args.network, handle).counts()
    if not args.yes:
        err.write(f"{json.dumps(counts)}\nErase all of this for good? Type the handle: ")
        err.flush()
        answer = actions.normalise_handle(sys.stdin.readline())
        if answer.casefold() != handle.casefold():
            raise CliError("not the same handle: nothing was erased")
    counts = actions.erase_person(
        workspace, args.network, handle, by=member, reference=args.reference
    )
    out.write(json.dumps({"erased": counts}) + "\n")
    return 0


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    from django.core.exceptions import PermissionDenied

    from portevoix.channels.cli import CliError
    from portevoix.core import audit

    try:
        with audit.origin(audit.Origin(label="cli")):
            return _run(args, out, err)
    except CliError as exc:
        err.write(f"portevoix privacy: {exc}\n")
        return exc.code
    except PermissionDenied as exc:
        err.write(f"portevoix privacy: {exc}\n")
        return 1
