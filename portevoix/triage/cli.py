"""``portevoix triage``: JSON lines in, one JSON line out per input, in order.

    echo '{"text": "Où est ma commande ??", "kind": "dm"}' | portevoix triage
    portevoix triage --workspace acme < inbound.jsonl

Each input line is an object with ``text`` and optionally ``channel``, ``kind`` (comment,
mention or dm), what it answers (``parent_text``, and ``parent_kind``: ``post`` for one of
the brand's posts, else the parent message's kind) and ``id`` (echoed back). An invalid line
gives ``{"line": N, "error": ...}`` on its own output line and the others still flow: a line
that is not JSON, not valid UTF-8, or whose strings hold a lone surrogate (``"\\ud83d"``, half
of an emoji cut by a truncation); and should labelling a batch fail, its items are labelled one
by one so that only the culprit gets an error. Blank lines are skipped. No database is touched
unless ``--workspace`` is given.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
from collections.abc import Sequence
from typing import IO, Any

from portevoix.triage.engine import CorrectionExample, TriageInput, get_pipeline

KINDS = ("comment", "mention", "dm")
#: What an item may answer: one of the brand's posts, or a customer's message.
PARENT_KINDS = ("post", *KINDS)


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
        choices=("cascade", "fast", "embedding", "thorough"),
        default="cascade",
        help="cascade (default); fast: never load the embedding model; embedding: always; "
        "thorough: always, mixed with the fast model",
    )
    p.add_argument(
        "--strict", action="store_true", help="exit with status 1 if any line was invalid"
    )
    return p


def _surrogate_at(text: str) -> int | None:
    """Where ``text`` holds a lone surrogate (not valid Unicode, cannot be encoded), if any."""
    for index, char in enumerate(text):
        if "\ud800" <= char <= "\udfff":
            return index
    return None


def _bad_string(field: str, value: object) -> str | None:
    if not isinstance(value, str):
        return None
    where = _surrogate_at(value)
    if where is None:
        return None
    return (
        f"'{field}' is not valid Unicode: a lone surrogate (\\u{ord(value[where]):04x}) at "
        f"character {where + 1}"
    )


def parse_line(line: str) -> TriageInput | str:
    """The item on ``line``, or the reason it is invalid."""
    where = _surrogate_at(line)
    if where is not None:  # bytes that are not UTF-8, kept by surrogateescape
        return f"not valid UTF-8 at character {where + 1}"
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
    parent_text = data.get("parent_text")
    if parent_text is not None and not isinstance(parent_text, str):
        return "'parent_text' must be a string"
    parent_kind = data.get("parent_kind")
    if parent_kind is not None and parent_kind not in PARENT_KINDS:
        return f"'parent_kind' must be one of {', '.join(PARENT_KINDS)}"
    for field in ("text", "channel", "id", "parent_text"):
        problem = _bad_string(field, data.get(field))
        if problem:
            return problem
    return TriageInput(
        text=text, channel=channel, kind=kind, parent_text=parent_text, parent_kind=parent_kind
    )


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

    if isinstance(stdin, io.TextIOWrapper):
        # Bytes that are not UTF-8 become lone surrogates, which parse_line reports for their
        # line alone, instead of a UnicodeDecodeError that would end the whole run.
        stdin.reconfigure(errors="surrogateescape")
    pipeline = get_pipeline()
    pending: list[tuple[int, Any, TriageInput | str]] = []
    invalid = 0

    def label(items: list[TriageInput]) -> list[Any]:
        """One result per item: its labels, or the reason it could not be labelled."""
        try:
            return list(pipeline.label(items, workspace_examples=examples, design=args.design))
        except Exception:
            if len(items) == 1:
                raise
        results: list[Any] = []
        for item in items:  # one bad item must not take the batch down with it
            try:
                results.extend(
                    pipeline.label([item], workspace_examples=examples, design=args.design)
                )
            except Exception as exc:
                results.append(f"could not be labelled: {type(exc).__name__}: {exc}")
        return results

    def flush() -> None:
        items = [entry for _, _, entry in pending if isinstance(entry, TriageInput)]
        try:
            results = iter(label(items))
        except Exception as exc:  # a batch of one that failed
            results = iter([f"could not be labelled: {type(exc).__name__}: {exc}"])
        labelled = 0
        for line_no, ident, entry in pending:
            out: dict[str, Any]
            if isinstance(entry, str):
                out = {"line": line_no, "error": entry}
            else:
                result = next(results)
                if isinstance(result, str):
                    out = {"line": line_no, "error": result}
                else:
                    out = {"line": line_no, **result.to_dict()}
                    labelled += 1
            if ident is not None:
                out = {"id": ident, **out}
            stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        stdout.flush()
        if workspace is not None and labelled:
            from portevoix.triage.actions import count_labelled

            count_labelled(workspace, labelled)
        pending.clear()

    for line_no, raw in enumerate(stdin, start=1):
        if not raw.strip():
            continue
        entry = parse_line(raw)
        ident = None
        if isinstance(entry, str):
            invalid += 1
        else:
            ident = json.loads(raw).get("id")
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
