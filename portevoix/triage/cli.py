"""``portevoix triage``: JSON lines in, one JSON line out per input, in order.

    echo '{"text": "Où est ma commande ??", "kind": "dm"}' | portevoix triage
    portevoix triage --workspace acme < inbound.jsonl

Each input line is an object with ``text`` and optionally ``channel``, ``kind`` (comment,
mention or dm) and ``id`` (echoed back). An invalid line gives ``{"line": N, "error": ...}``
on its own output line and the others still flow. Blank lines are skipped. No database is
touched unless ``--workspace`` is given.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import IO, Any

from portevoix.triage.engine import CorrectionExample, TriageInput, get_pipeline

KINDS = ("comment", "mention", "dm")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # raise instead of exiting the process
        raise _UsageError(message)


class _UsageError(Exception):
    pass


def _parser() -> _Parser:
    p = _Parser(
        prog="portevoix triage",
        description="Label JSON lines from standard input with language, sentiment, intent, "
        "department and confidence.",
    )
    p.add_argument("--workspace", metavar="SLUG", help="apply this workspace's corrections")
    p.add_argument("--batch-size", type=int, default=256, help="items labelled together (256)")
    p.add_argument(
        "--design",
        choices=("cascade", "fast", "embedding"),
        default="cascade",
        help="cascade (default); fast: never load the embedding model; embedding: always",
    )
    p.add_argument(
        "--strict", action="store_true", help="exit with status 1 if any line was invalid"
    )
    return p


def parse_line(line: str) -> TriageInput | str:
    """The item on ``line``, or the reason it is invalid."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        return f"invalid JSON: {exc.msg} (column {exc.colno})"
    if not isinstance(data, dict):
        return "expected a JSON object"
    text = data.get("text")
    if not isinstance(text, str):
        return "missing 'text' (a string)"
    channel = data.get("channel")
    if channel is not None and not isinstance(channel, str):
        return "'channel' must be a string"
    kind = data.get("kind")
    if kind is not None and kind not in KINDS:
        return f"'kind' must be one of {', '.join(KINDS)}"
    return TriageInput(text=text, channel=channel, kind=kind)


def _load_workspace(slug: str) -> tuple[Any, list[CorrectionExample]]:
    import django
    from django.conf import settings

    if not settings.configured:
        import os

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portevoix.settings")
    django.setup()
    from portevoix.core.models import Workspace
    from portevoix.triage.service import workspace_examples

    workspace = Workspace.objects.filter(slug=slug).first()
    if workspace is None:
        raise LookupError(f"no workspace with the short name {slug!r}")
    return workspace, workspace_examples(workspace)


def run_triage_cli(argv: list[str], stdin: IO[str], stdout: IO[str]) -> int:
    """Entry point of ``portevoix triage``; returns the exit status."""
    try:
        args = _parser().parse_args(argv)
    except _UsageError as exc:
        print(f"portevoix triage: {exc}", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    if args.batch_size < 1:
        print("portevoix triage: --batch-size must be at least 1", file=sys.stderr)
        return 2

    workspace: Any = None
    examples: list[CorrectionExample] = []
    if args.workspace:
        try:
            workspace, examples = _load_workspace(args.workspace)
        except LookupError as exc:
            print(f"portevoix triage: {exc}", file=sys.stderr)
            return 2

    pipeline = get_pipeline()
    pending: list[tuple[int, Any, TriageInput | str]] = []
    invalid = 0

    def flush() -> None:
        items = [entry for _, _, entry in pending if isinstance(entry, TriageInput)]
        results = iter(pipeline.label(items, workspace_examples=examples, design=args.design))
        for line_no, ident, entry in pending:
            out: dict[str, Any]
            if isinstance(entry, str):
                out = {"line": line_no, "error": entry}
            else:
                out = {"line": line_no, **next(results).to_dict()}
            if ident is not None:
                out = {"id": ident, **out}
            stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        stdout.flush()
        if workspace is not None and items:
            from portevoix.triage.actions import count_labelled

            count_labelled(workspace, len(items))
        pending.clear()

    for line_no, raw in enumerate(stdin, start=1):
        if not raw.strip():
            continue
        entry = parse_line(raw)
        ident = None
        if isinstance(entry, str):
            invalid += 1
        else:
            try:
                ident = json.loads(raw).get("id")
            except (json.JSONDecodeError, AttributeError):
                ident = None
        pending.append((line_no, ident, entry))
        if len(pending) >= args.batch_size:
            flush()
    if pending:
        flush()
    return 1 if (args.strict and invalid) else 0


def main(argv: Sequence[str] | None = None) -> int:
    return run_triage_cli(list(sys.argv[1:] if argv is None else argv), sys.stdin, sys.stdout)


if __name__ == "__main__":
    raise SystemExit(main())
