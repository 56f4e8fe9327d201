"""``portevoix channels list|add|check``, ``portevoix post`` and ``portevoix rotate-keys``.

These run as the operator (they have the database), so they need no member; every change
they make is in the audit log with the actor "cli". ``--as EMAIL`` acts as that member instead,
with that member's permissions.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO


class CliError(Exception):
    """A message for the operator; exit code 1 (2 for usage errors)."""

    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def _channel_filter(name: str):  # type: ignore[no-untyped-def]
    from django.db.models import Q

    return Q(name__iexact=name) | Q(handle__iexact=name)


def _workspace(  # type: ignore[no-untyped-def]
    slug: str | None, *, email: str | None = None, channels: Sequence[str] = ()
):
    """The workspace a command is about.

    ``--workspace SLUG`` decides. Without it, the workspace is inferred: the only one there
    is, else the only one that has every channel the command names (``--channel``), among the
    workspaces of ``--as EMAIL`` when given. Anything still ambiguous is an error that lists
    the choices.
    """
    from portevoix.core.models import Workspace

    if slug:
        workspace = Workspace.objects.filter(slug=slug).first()
        if workspace is None:
            known = ", ".join(Workspace.objects.order_by("slug").values_list("slug", flat=True))
            raise CliError(f"no workspace is called {slug!r} (workspaces: {known or 'none'})")
        return workspace
    candidates = Workspace.objects.order_by("slug")
    if email:
        candidates = candidates.filter(
            members__user__email__iexact=email, members__is_active=True
        ).distinct()
        if not candidates.exists():
            raise CliError(f"{email} is not an active member of any workspace")
    for name in channels:
        from portevoix.channels.models import Channel

        having = Channel.objects.filter(_channel_filter(name)).values("workspace")
        narrowed = candidates.filter(pk__in=having)
        if not narrowed.exists():
            known = ", ".join(
                Channel.objects.filter(workspace__in=candidates)
                .order_by("name")
                .values_list("name", flat=True)
            )
            raise CliError(f"no channel {name!r} in any workspace (channels: {known or 'none'})")
        candidates = narrowed
    found = list(candidates[:2])
    if len(found) == 1:
        return found[0]
    if not found:
        raise CliError("there is no workspace yet: create one in the browser first", 2)
    slugs = ", ".join(candidates.values_list("slug", flat=True))
    why = " with these channels" if channels else ""
    raise CliError(f"several workspaces{why} ({slugs}): say which with --workspace SLUG", 2)


def _member(workspace, email: str | None):  # type: ignore[no-untyped-def]
    from portevoix.core.models import Member

    if not email:
        return None
    member = Member.objects.filter(
        workspace=workspace, user__email__iexact=email, is_active=True
    ).first()
    if member is None:
        raise CliError(f"{email} is not an active member of {workspace.slug}")
    return member


def _channel(workspace, name: str):  # type: ignore[no-untyped-def]
    from portevoix.channels.models import Channel

    channel = (
        Channel.objects.filter(workspace=workspace, name__iexact=name).first()
        or Channel.objects.filter(workspace=workspace, handle__iexact=name).first()
    )
    if channel is None:
        known = ", ".join(
            Channel.objects.filter(workspace=workspace).values_list("name", flat=True)
        )
        raise CliError(f"no channel {name!r} in {workspace.slug} (channels: {known or 'none'})")
    return channel


def _row(channel) -> dict[str, object]:  # type: ignore[no-untyped-def]
    from portevoix.core.sentences import render as render_problem

    return {
        "workspace": channel.workspace.slug,
        "name": channel.name,
        "network": channel.network,
        "sandbox": channel.is_sandbox,
        "account": channel.handle,
        "health": channel.health,
        "state": channel.state,
        "owner_department": channel.owner_department.name if channel.owner_department else None,
        "strategy_level": channel.strategy_level,
        "last_checked_at": channel.last_checked_at.isoformat() if channel.last_checked_at else None,
        "problem": render_problem(channel.problem) or None,
    }


def _workspaces_shown(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    """``list`` and ``check`` without ``--workspace``: every workspace (of ``--as``)."""
    from portevoix.core.models import Workspace

    email = getattr(args, "as_email", None)
    if args.workspace or getattr(args, "name", None):
        names = [args.name] if getattr(args, "name", None) else []
        return [_workspace(args.workspace, email=email, channels=names)]
    workspaces = Workspace.objects.order_by("slug")
    if email:
        workspaces = workspaces.filter(
            members__user__email__iexact=email, members__is_active=True
        ).distinct()
        if not workspaces.exists():
            raise CliError(f"{email} is not an active member of any workspace")
    return list(workspaces)


def _credentials(args: argparse.Namespace, network: str, err: TextIO) -> dict[str, str]:
    """Credentials from ``--credentials-json`` (standard input) and ``--credential``.

    Secrets are refused as arguments: they would stay in the shell history and the process
    list. On a terminal, missing secrets are asked for without echo.
    """
    from portevoix.channels.credentials import is_secret
    from portevoix.networks import registry
    from portevoix.networks.errors import NetworkError

    try:
        fields = registry.get(network).credential_fields
    except (KeyError, NetworkError):
        fields = ()
    values: dict[str, str] = {}
    asked: list[str] = []
    for pair in args.credential or []:
        key, has_value, value = pair.partition("=")
        key = key.strip()
        if not key:
            raise CliError(f"--credential takes KEY=VALUE, not {pair!r}", 2)
        if is_secret(key):
            if has_value:
                raise CliError(
                    f"{key} is a secret: it is refused on the command line, where it would "
                    "stay in the shell history and the process list. Give --credential "
                    f"{key} without a value to be asked for it, or pass the credentials as "
                    "JSON on standard input with --credentials-json",
                    2,
                )
            asked.append(key)
            continue
        if not has_value:
            raise CliError(f"--credential takes KEY=VALUE, not {pair!r}", 2)
        values[key] = value
    if args.credentials_json:
        try:
            data = json.loads(sys.stdin.read())
        except json.JSONDecodeError as exc:
            raise CliError(f"standard input is not JSON: {exc}", 2) from exc
        if not isinstance(data, dict):
            raise CliError(
                "--credentials-json reads a JSON object such as "
                f'{{"handle": "...", "token": "..."}}, not {_json_kind(data)}',
                2,
            )
        wrong = sorted(k for k, v in data.items() if not isinstance(v, str))
        if wrong:
            raise CliError(
                f"every credential is a JSON string; not so for: {', '.join(wrong)}",
                2,
            )
        values.update(data)
    missing = [f for f in fields if is_secret(f) and not values.get(f)]
    for key in dict.fromkeys([*asked, *missing]):
        if values.get(key):
            continue
        if not sys.stdin.isatty():
            if key in asked:
                raise CliError(
                    f"cannot ask for {key}: standard input is not a terminal "
                    "(pass the credentials as JSON with --credentials-json)",
                    2,
                )
            continue  # the action says what is missing
        import getpass

        values[key] = getpass.getpass(f"{key}: ", stream=err)
    return values


def _json_kind(value: object) -> str:
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    return "a number"


def cmd_channels(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from portevoix.channels import actions
    from portevoix.channels.models import Channel
    from portevoix.core.models import Department
    from portevoix.core.sentences import render as render_problem

    if args.channels_command == "list":
        workspaces = _workspaces_shown(args)
        listed = (
            Channel.objects.filter(workspace__in=workspaces)
            .select_related("workspace", "owner_department")
            .order_by("workspace__slug", "name")
        )
        rows = [_row(c) for c in listed]
        if args.json:
            out.write(json.dumps(rows, ensure_ascii=False, indent=2) + "\n")
            return 0
        several = len(workspaces) > 1
        for workspace in workspaces:
            mine = [r for r in rows if r["workspace"] == workspace.slug]
            if several:
                out.write(f"{workspace.slug} ({workspace.name})\n")
            if several and not mine:
                out.write("  no channel\n")
            for r in mine:
                sandbox = " [sandbox]" if r["sandbox"] else ""
                line = f"{r['name']:<28} {r['network']}{sandbox:<10} {r['account']:<32}"
                out.write(f"{'  ' if several else ''}{line} {r['health']}\n")
        return 0
    if args.channels_command == "add":
        workspace = _workspace(args.workspace, email=args.as_email)
        member = _member(workspace, args.as_email)
        values = _credentials(args, args.network, err)
        department = None
        if args.department:
            department = (
                Department.objects.filter(workspace=workspace, name__iexact=args.department).first()
                or Department.objects.filter(workspace=workspace, code=args.department).first()
            )
            if department is None:
                raise CliError(f"no department {args.department!r} in {workspace.slug}")
        channel = actions.connect_channel(
            workspace,
            by=member,
            network=args.network,
            credentials=values,
            name=args.name or "",
            owner_department=department,
            strategy_level=args.strategy,
        )
        out.write(
            f"connected {channel.name} ({channel.network_label}, {channel.handle}) "
            f"in {workspace.slug}\n"
        )
        return 0
    if args.channels_command == "check":
        worst = 0
        for workspace in _workspaces_shown(args):
            member = _member(workspace, args.as_email)
            channels = (
                [_channel(workspace, args.name)]
                if args.name
                else list(
                    Channel.objects.filter(workspace=workspace)
                    .exclude(state="disconnected")
                    .order_by("name")
                )
            )
            for channel in channels:
                channel = actions.check_channel(channel, by=member)
                text = render_problem(channel.problem)
                problem = f" — {text}" if text else ""
                out.write(f"{channel.name}: {channel.health}{problem}\n")
                if channel.health not in {"ok", "expiring"} or channel.problem:
                    worst = 1
        return worst
    raise CliError("usage: portevoix channels list|add|check", 2)


def _parse_at(value: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise CliError(
            f"--at must be ISO 8601, e.g. 2026-12-01T09:30+01:00, not {value!r}", 2
        ) from exc
    if moment.tzinfo is None:
        raise CliError("--at needs a time zone offset, e.g. 2026-12-01T09:30+01:00", 2)
    return moment


def _tiktok_choices(args: argparse.Namespace, channels: list[Any]) -> dict[int, dict[str, str]]:
    """TikTok's required choices from the ``--tiktok-*`` flags, for every TikTok channel named
    (``publishing.choices``); a TikTok channel without them is refused with TikTok's reasons."""
    from portevoix.publishing import choices

    given = bool(
        args.tiktok_privacy_level
        or args.tiktok_allow
        or args.tiktok_disclose
        or args.tiktok_consent
    )
    takers = [c for c in channels if choices.takes_choices(c)]
    if given and not takers:
        raise CliError("--tiktok-* options need a TikTok channel among --channel", 2)
    options = choices.from_words(
        privacy_level=args.tiktok_privacy_level or "",
        allow=args.tiktok_allow or (),
        disclose=args.tiktok_disclose or (),
        consent=bool(args.tiktok_consent),
    )
    return {c.pk: options for c in takers}


def cmd_post(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from portevoix.core.sentences import render as render_problem
    from portevoix.publishing import actions
    from portevoix.publishing.actions import Upload
    from portevoix.publishing.models import Publication, PublicationStates
    from portevoix.worker import runner

    workspace = _workspace(args.workspace, email=args.as_email, channels=args.channel)
    member = _member(workspace, args.as_email)
    channels = [_channel(workspace, name) for name in args.channel]
    uploads = []
    for index, path in enumerate(args.image or []):
        file = Path(path)
        if not file.is_file():
            raise CliError(f"no such image: {path}", 2)
        alts = args.alt or []
        uploads.append(
            Upload(
                filename=file.name,
                data=file.read_bytes(),
                alt_text=alts[index] if index < len(alts) else "",
            )
        )
    at = _parse_at(args.at) if args.at else None
    post = actions.schedule_post(
        workspace,
        by=member,
        text=args.text,
        channels=channels,
        at=at,
        uploads=uploads,
        source="cli",
        options=_tiktok_choices(args, channels),
    )
    publications = list(Publication.objects.filter(post=post).select_related("channel"))
    if at is not None:
        for p in publications:
            out.write(f"{p.channel.name}: scheduled for {p.scheduled_at.isoformat()}\n")
        return 0
    # Publish now: run the work inline (a running worker may take some of it; claims keep
    # every publication to one worker).
    deadline = time.monotonic() + args.wait
    pending = {PublicationStates.scheduled.name, PublicationStates.outcome_unknown.name}
    while time.monotonic() < deadline:
        states = set(Publication.objects.filter(post=post).values_list("state", flat=True))
        if not states & pending:
            break
        if not runner.run_once([Publication]):
            time.sleep(0.5)
    worst = 0
    for p in Publication.objects.filter(post=post).select_related("channel"):
        detail = p.url or p.network_post_id or render_problem(p.problem)
        out.write(f"{p.channel.name}: {p.state}{(' — ' + detail) if detail else ''}\n")
        if p.state != PublicationStates.published.name:
            worst = 1
    return worst


def cmd_rotate_keys(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    from portevoix.channels.actions import rotate_keys
    from portevoix.core.crypto import SecretUnreadable

    try:
        counts = rotate_keys()
    except SecretUnreadable as exc:
        err.write(
            f"{exc}: nothing was re-encrypted. Put back the key it was written with "
            "(PORTEVOIX_ENCRYPTION_KEYS, newest first) and run this again.\n"
        )
        return 1
    detail = ", ".join(f"{kind} {n}" for kind, n in sorted(counts.items()))
    out.write(
        f"re-encrypted {sum(counts.values())} row(s) of secrets with the newest key"
        + (f" ({detail})" if detail else "")
        + "\n"
    )
    return 0


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    # The streams of the moment, not those of import time (tests swap them).
    out = out if out is not None else sys.stdout
    err = err if err is not None else sys.stderr
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    from portevoix.channels.crypto import SecretUnreadable
    from portevoix.core import audit
    from portevoix.core.actions import ActionRefused

    handlers = {"channels": cmd_channels, "post": cmd_post, "rotate-keys": cmd_rotate_keys}
    try:
        with audit.origin(audit.Origin(label="cli")):
            return handlers[args.command](args, out, err)
    except CliError as exc:
        err.write(f"portevoix {args.command}: {exc}\n")
        return exc.code
    except ActionRefused as exc:
        err.write(f"portevoix {args.command}: {exc.message}\n")
        return 1
    except PermissionDenied as exc:
        # require(): the member given with --as may not do this; the reason is the message.
        err.write(f"portevoix {args.command}: {exc}\n")
        return 1
    except Http404:
        err.write(f"portevoix {args.command}: not found in this workspace\n")
        return 1
    except SecretUnreadable as exc:
        err.write(f"portevoix {args.command}: {exc}\n")
        return 1
    except (KeyboardInterrupt, EOFError):
        err.write(f"portevoix {args.command}: interrupted, nothing was saved\n")
        return 130


def add_parsers(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    channels = sub.add_parser("channels", help="list, connect and check channels")
    channels_sub = channels.add_subparsers(dest="channels_command", required=True)
    listing = channels_sub.add_parser("list", help="channels and their health")
    listing.add_argument("--workspace", help="one workspace (default: every workspace)")
    listing.add_argument("--json", action="store_true")
    add = channels_sub.add_parser("add", help="connect an account")
    add.add_argument("network", help="sandbox, bluesky, mastodon")
    add.add_argument("--workspace")
    add.add_argument("--name")
    add.add_argument("--department", help="owner department (name or code)")
    add.add_argument("--strategy", default="active", choices=["passive", "active", "proactive"])
    add.add_argument(
        "--credential",
        action="append",
        metavar="KEY[=VALUE]",
        help=(
            "e.g. handle=alice.test (repeat). Secrets (passwords, tokens) are refused here: "
            "give the key alone (--credential app_password) to be asked for it, or use "
            "--credentials-json"
        ),
    )
    add.add_argument(
        "--credentials-json",
        action="store_true",
        help="read a JSON object of credentials from standard input",
    )
    add.add_argument("--as", dest="as_email", metavar="EMAIL")
    check = channels_sub.add_parser("check", help="check tokens with the networks now")
    check.add_argument("name", nargs="?")
    check.add_argument("--workspace")
    check.add_argument("--as", dest="as_email", metavar="EMAIL")

    post = sub.add_parser("post", help="publish (or schedule) a post on channels")
    post.add_argument("text")
    post.add_argument("--channel", action="append", required=True, help="channel name (repeat)")
    post.add_argument("--image", action="append", help="image file (repeat)")
    post.add_argument("--alt", action="append", help="description of each image, in order")
    post.add_argument("--at", help="ISO 8601 time with offset; omit to publish now")
    post.add_argument("--workspace")
    post.add_argument("--as", dest="as_email", metavar="EMAIL")
    post.add_argument("--wait", type=float, default=120, help="seconds to wait when publishing now")
    # TikTok's required choices (its audit's "Required UX Implementation"): no default.
    post.add_argument(
        "--tiktok-privacy-level",
        choices=("PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "FOLLOWER_OF_CREATOR", "SELF_ONLY"),
        help="TikTok: who can see the post, among the account's levels (required)",
    )
    post.add_argument(
        "--tiktok-allow",
        action="append",
        choices=("comment", "duet", "stitch"),
        help="TikTok: an interaction to allow (repeat); left out: not allowed",
    )
    post.add_argument(
        "--tiktok-disclose",
        action="append",
        choices=("your_brand", "branded_content"),
        help="TikTok: the post promotes your brand or a third party's (repeat for both)",
    )
    post.add_argument(
        "--tiktok-consent",
        action="store_true",
        help="TikTok: you agree to TikTok's Music Usage Confirmation (and Branded Content "
        "Policy for branded content); required",
    )

    sub.add_parser("rotate-keys", help="re-encrypt stored secrets with the newest key")
