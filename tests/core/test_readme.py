"""The README's command-line examples work as written on the demo data.

A new user copies them after ``./dev demo``; the demo has two workspaces, so a command that
needs ``--workspace`` there fails for them. Each ``portevoix`` line of the README's tested block
runs here, in-process, against the demo loaded the way ``portevoix demo`` loads it.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from portevoix.cli import main
from portevoix.core import demo

README = Path(__file__).resolve().parents[2] / "README.md"
MARK = "tests/core/test_readme.py"


def readme_commands() -> list[list[str]]:
    text = README.read_text(encoding="utf-8")
    at = text.index(MARK)
    block = re.search(r"```sh\n(.*?)```", text[at:], flags=re.S)
    assert block is not None, "the tested block follows the mark"
    commands = []
    for line in block.group(1).splitlines():
        words = shlex.split(line, comments=True)
        if words[:1] == ["portevoix"]:
            commands.append(words[1:])
    return commands


def test_the_readme_has_commands_to_test() -> None:
    commands = readme_commands()
    assert [c[0] for c in commands].count("post") >= 1
    assert ["channels", "list"] in commands
    # Written as a new user types them: no --workspace.
    assert not any("--workspace" in c for c in commands)


@pytest.mark.django_db
def test_readme_commands_work_on_the_demo_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    demo.load()
    for argv in readme_commands():
        code = main(argv)
        out, err = capsys.readouterr()
        assert code == 0, f"portevoix {' '.join(argv)} -> {code}\n{out}\n{err}"
        assert "Traceback" not in err
        if argv[0] == "post" and "--at" not in argv:
            assert ": published" in out, out
        if argv[0] == "post" and "--at" in argv:
            assert ": scheduled for" in out, out
