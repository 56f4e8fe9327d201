"""``portevoix triage``: JSON lines in and out, errors on their own line, no database needed."""

from __future__ import annotations

import io
import json

import pytest

from portevoix.triage.cli import run_triage_cli


def run(lines: list[str], *argv: str) -> tuple[int, list[dict]]:
    stdin = io.StringIO("".join(line + "\n" for line in lines))
    stdout = io.StringIO()
    status = run_triage_cli(list(argv), stdin, stdout)
    return status, [json.loads(line) for line in stdout.getvalue().splitlines()]


def test_one_answer_per_line_in_order_without_a_database():
    # No ``db`` fixture: pytest-django fails any query, so this proves no database is used.
    lines = [
        json.dumps({"text": "Je vais porter plainte contre vous", "id": "a"}),
        "{not json",
        json.dumps({"text": "are you hiring?", "kind": "dm", "channel": "x", "id": "b"}),
        "",
        json.dumps({"txt": "no text"}),
        json.dumps(["a", "list"]),
        json.dumps({"text": "journaliste au Monde, une interview ?", "kind": "mention"}),
        json.dumps({"text": "hello", "kind": "tweet"}),
    ]
    status, out = run(lines, "--batch-size", "2")
    assert status == 0
    assert [o["line"] for o in out] == [1, 2, 3, 5, 6, 7, 8]  # the blank line 4 is skipped
    assert out[0]["id"] == "a" and out[0]["intent"] == "legal" and out[0]["department"] == "legal"
    assert "error" in out[1] and "JSON" in out[1]["error"]
    assert out[2]["id"] == "b" and out[2]["department"] == "hr"
    assert "text" in out[3]["error"]
    assert "object" in out[4]["error"]
    assert out[5]["department"] == "communication"
    assert "kind" in out[6]["error"]
    for o in (out[0], out[2], out[5]):
        assert {"language", "sentiment", "intent", "department", "confidence"} <= o.keys()


def test_strict_exit_status():
    status, out = run(["oops"], "--strict")
    assert status == 1 and "error" in out[0]


def test_bad_arguments():
    assert run_triage_cli(["--nope"], io.StringIO(""), io.StringIO()) == 2
    assert run_triage_cli(["--batch-size", "0"], io.StringIO(""), io.StringIO()) == 2


def test_unknown_workspace(db):
    status, out = run([json.dumps({"text": "x"})], "--workspace", "nobody")
    assert status == 2 and out == []


def test_workspace_corrections_apply(team):
    from portevoix.triage import actions

    text = "Vous organisez des anniversaires pour enfants le mercredi ?"
    status, (before,) = run([json.dumps({"text": text})], "--workspace", team.workspace.slug)
    assert status == 0
    target = "purchase" if before["intent"] != "purchase" else "question"
    actions.record_correction(
        team.workspace,
        text=text,
        field="intent",
        predicted=before["intent"],
        corrected=target,
        by=team["content"],
    )
    status, (after,) = run([json.dumps({"text": text})], "--workspace", team.workspace.slug)
    assert after["intent"] == target and after["decided_by"] == "correction"
    _, (plain,) = run([json.dumps({"text": text})])
    assert plain["intent"] == before["intent"]


@pytest.mark.parametrize("argv", [[], ["--design", "fast"]])
def test_large_input_streams_in_batches(argv):
    lines = [json.dumps({"text": f"commande {i} pas reçue", "id": i}) for i in range(600)]
    status, out = run(lines, *argv)
    assert status == 0
    assert [o["id"] for o in out] == list(range(600))


def test_help_returns_instead_of_exiting(capsys):
    assert run_triage_cli(["--help"], io.StringIO(""), io.StringIO()) == 0
    assert "--workspace" in capsys.readouterr().out


def test_module_entry_point_takes_options(monkeypatch, capsys):
    from portevoix.triage import cli

    monkeypatch.setattr("sys.stdin", io.StringIO('{"text": "vous recrutez ?"}\n'))
    assert cli.main(["--design", "fast", "--batch-size", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["department"] == "hr"


def test_project_cli_runs_triage(monkeypatch, capsys):
    from portevoix import cli

    monkeypatch.setattr("sys.stdin", io.StringIO('{"text": "journaliste au Monde"}\n'))
    assert cli.main(["triage"]) == 0
    assert json.loads(capsys.readouterr().out)["department"] == "communication"


def test_project_cli_passes_options_to_triage(monkeypatch, capsys):
    from portevoix import cli

    monkeypatch.setattr("sys.stdin", io.StringIO('{"text": "vous recrutez ?"}\n'))
    assert cli.main(["triage", "--design", "fast", "--batch-size", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["department"] == "hr"


def test_a_lone_surrogate_spoils_only_its_own_line():
    # "\ud83d" is half of an emoji (a truncation cut it); json.loads accepts it, nothing can
    # encode it. Before: the whole batch was lost, lines before it included.
    lines = [
        json.dumps({"text": "Où est ma commande ?", "id": "before"}),
        '{"text": "merci \\ud83d", "id": "bad"}',
        '{"text": "ok", "channel": "\\udc00"}',
        '{"text": "ok", "id": "\\ud83d"}',
        '{"text": "merci \\ud83d\\ude00", "id": "pair"}',  # a whole emoji: fine
        json.dumps({"text": "are you hiring?", "id": "after"}),
    ]
    status, out = run(lines, "--batch-size", "256")
    assert status == 0
    assert [o["line"] for o in out] == [1, 2, 3, 4, 5, 6]
    assert out[0]["id"] == "before" and "department" in out[0]
    assert "'text'" in out[1]["error"] and "surrogate" in out[1]["error"]
    assert "'channel'" in out[2]["error"] and "'id'" in out[3]["error"]
    assert out[4]["id"] == "pair" and "department" in out[4]
    assert out[5]["id"] == "after" and out[5]["department"] == "hr"


def test_bytes_that_are_not_utf8_spoil_only_their_line(tmp_path):
    data = (
        json.dumps({"text": "bonjour"}).encode() + b"\n"
        b'{"text": "caf\xe9"}\n' + json.dumps({"text": "hello"}).encode() + b"\n"
    )
    stdin = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8")
    stdout = io.StringIO()
    assert run_triage_cli([], stdin, stdout) == 0
    out = [json.loads(line) for line in stdout.getvalue().splitlines()]
    assert "language" in out[0] and "UTF-8" in out[1]["error"] and "language" in out[2]


def test_a_batch_that_fails_is_labelled_item_by_item(monkeypatch):
    from portevoix.triage import engine

    pipeline = engine.get_pipeline()
    real = type(pipeline).label

    def fragile(self, items, **kwargs):
        if any(item.text == "boom" for item in items):
            raise RuntimeError("cannot label boom")
        return real(self, items, **kwargs)

    monkeypatch.setattr(type(pipeline), "label", fragile)
    status, out = run([json.dumps({"text": t}) for t in ("bonjour", "boom", "hello")])
    assert status == 0
    assert "language" in out[0] and "language" in out[2]
    assert "cannot label boom" in out[1]["error"]


def test_the_parent_is_read_and_checked():
    lines = [
        json.dumps({"text": "same here", "id": "alone"}),
        json.dumps(
            {
                "text": "same here",
                "parent_text": "My order never arrived and nobody answers my emails",
                "parent_kind": "comment",
                "id": "reply",
            }
        ),
        json.dumps({"text": "yes", "parent_kind": "story"}),
        json.dumps({"text": "yes", "parent_text": 3}),
    ]
    status, out = run(lines)
    assert status == 0
    assert out[0]["intent"] != "complaint" and out[1]["intent"] == "complaint"
    assert "parent_kind" in out[2]["error"] and "parent_text" in out[3]["error"]
