"""portevoix channels list|add|check, post, rotate-keys — run in-process."""

from __future__ import annotations

import io
import json

import pytest
from django.utils import timezone

from portevoix.channels import cli as channels_cli
from portevoix.cli import build_parser
from portevoix.publishing.models import Publication
from portevoix.sandbox import service
from portevoix.sandbox.models import SandboxPost
from tests.images import image_bytes

pytestmark = pytest.mark.django_db


def run(*argv: str, stdin: str = "") -> tuple[int, str, str]:
    args = build_parser().parse_args(list(argv))
    out, err = io.StringIO(), io.StringIO()
    import sys

    old = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        code = channels_cli.run(args, out, err)
    finally:
        sys.stdin = old
    return code, out.getvalue(), err.getvalue()


def test_add_list_check_post(team, tmp_path):
    account = service.create_account("acme-cli", workspace=team.workspace)
    creds = json.dumps(service.credentials_for(account))
    code, out, err = run(
        "channels",
        "add",
        "sandbox",
        "--workspace",
        "acme",
        "--name",
        "Insta",
        "--department",
        "Marketing",
        "--credentials-json",
        stdin=creds,
    )
    assert code == 0, err
    assert account.token not in out + err
    code, out, _ = run("channels", "list", "--workspace", "acme", "--json")
    rows = json.loads(out)
    assert rows[0]["name"] == "Insta" and rows[0]["sandbox"] and rows[0]["health"] == "ok"
    assert run("channels", "check", "--workspace", "acme")[0] == 0

    image = tmp_path / "photo.png"
    image.write_bytes(image_bytes("PNG"))
    code, out, err = run(
        "post",
        "--workspace",
        "acme",
        "--channel",
        "Insta",
        "Nouvelle gamme 🌿",
        "--image",
        str(image),
        "--alt",
        "Un flacon vert",
    )
    assert code == 0, err
    assert "published" in out
    stored = SandboxPost.objects.get(account=account)
    assert stored.media and stored.media[0]["alt_text"] == "Un flacon vert"

    code, out, err = run(
        "post",
        "--workspace",
        "acme",
        "--channel",
        "Insta",
        "Demain",
        "--at",
        f"{timezone.now().year + 1}-01-01T09:00+01:00",
    )
    assert code == 0 and "scheduled" in out
    assert Publication.objects.filter(state="scheduled").count() == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (("post", "--workspace", "acme", "--channel", "Nope", "x"), "no channel"),
        (("post", "--workspace", "nowhere", "--channel", "X", "x"), "no workspace"),
        (("post", "--workspace", "acme", "--channel", "Insta", "x", "--at", "demain"), "ISO 8601"),
        (
            ("post", "--workspace", "acme", "--channel", "Insta", "x", "--at", "2099-01-01T09:00"),
            "offset",
        ),
        (
            (
                "post",
                "--workspace",
                "acme",
                "--channel",
                "Insta",
                "x",
                "--image",
                "/nonexistent.png",
            ),
            "no such image",
        ),
        (
            ("channels", "add", "sandbox", "--workspace", "acme", "--credential", "handle"),
            "KEY=VALUE",
        ),
        (
            (
                "channels",
                "add",
                "sandbox",
                "--workspace",
                "acme",
                "--credential",
                "handle=x",
                "--credential",
                "token=y",
            ),
            "token is a secret",
        ),
    ],
)
def test_bad_input_gets_a_clear_message(team, argv, message):
    account = service.create_account("acme-insta", workspace=team.workspace)
    run(
        "channels",
        "add",
        "sandbox",
        "--workspace",
        "acme",
        "--name",
        "Insta",
        "--credentials-json",
        stdin=json.dumps(service.credentials_for(account)),
    )
    code, _out, err = run(*argv)
    assert code != 0
    assert message in err


def test_rotate_keys_command(team):
    code, out, _ = run("rotate-keys")
    assert code == 0 and "re-encrypted 0" in out


def test_an_image_too_large_is_refused_before_anything_is_saved(team, tmp_path):
    from portevoix.publishing.models import Post

    account = service.create_account("acme-big", workspace=team.workspace)
    run(
        "channels",
        "add",
        "sandbox",
        "--workspace",
        "acme",
        "--name",
        "Insta",
        "--credentials-json",
        stdin=json.dumps(service.credentials_for(account)),
    )
    big = tmp_path / "huge.jpg"
    # A real JPEG (its type is read from the content) followed by 9 MB of padding.
    big.write_bytes(image_bytes("JPEG") + b"0" * 9_000_000)
    code, _out, err = run(
        "post", "--workspace", "acme", "--channel", "Insta", "x", "--image", str(big)
    )
    assert code == 1
    assert "huge.jpg" in err and ("8.0 MB" in err or "8.0 Mo" in err)  # the CLI speaks the default
    assert not Post.objects.exists() and not SandboxPost.objects.exists()


# --- which workspace: inferred when it can be, asked for when it cannot ----------------------


def _connect(team, workspace_slug: str, name: str, handle: str) -> None:
    from portevoix.core.models import Workspace

    account = service.create_account(handle, workspace=Workspace.objects.get(slug=workspace_slug))
    code, _out, err = run(
        "channels",
        "add",
        "sandbox",
        "--workspace",
        workspace_slug,
        "--name",
        name,
        "--credentials-json",
        stdin=json.dumps(service.credentials_for(account)),
    )
    assert code == 0, err


def test_without_workspace_list_shows_every_workspace_and_post_finds_the_channel(team):
    # The team fixture has two workspaces (acme and other-acme), like the demo.
    _connect(team, "acme", "Insta", "acme-insta")
    _connect(team, "other-acme", "Pro", "other-pro")

    code, out, err = run("channels", "list")
    assert code == 0, err
    assert "acme (Acme)" in out and "other-acme (Other)" in out
    assert "Insta" in out and "Pro" in out
    rows = json.loads(run("channels", "list", "--json")[1])
    assert {(r["workspace"], r["name"]) for r in rows} == {("acme", "Insta"), ("other-acme", "Pro")}

    code, out, err = run("post", "--channel", "Insta", "Sans --workspace 🌿")
    assert code == 0, err
    assert "Insta: published" in out
    assert SandboxPost.objects.filter(account__handle="acme-insta").count() == 1

    code, out, err = run("channels", "check")
    assert code == 0, err
    assert "Insta: ok" in out and "Pro: ok" in out


def test_a_channel_name_in_two_workspaces_asks_which(team):
    _connect(team, "acme", "Insta", "acme-insta")
    _connect(team, "other-acme", "Insta", "other-insta")
    code, _out, err = run("post", "--channel", "Insta", "x")
    assert code == 2
    assert "acme, other-acme" in err and "--workspace SLUG" in err
    assert "Traceback" not in err
    code, _out, err = run("post", "--channel", "Insta", "x", "--workspace", "other-acme")
    assert code == 0, err


def test_as_a_member_infers_the_members_workspace(team):
    account = service.create_account("acme-as", workspace=team.workspace)
    code, out, err = run(
        "channels",
        "add",
        "sandbox",
        "--as",
        team["admin"].user.email,
        "--name",
        "Insta",
        "--credentials-json",
        stdin=json.dumps(service.credentials_for(account)),
    )
    assert code == 0, err
    assert "in acme" in out


def test_an_unknown_channel_names_the_channels_there_are(team):
    _connect(team, "acme", "Insta", "acme-insta")
    code, _out, err = run("post", "--channel", "Nope", "x")
    assert code == 1
    assert "no channel 'Nope'" in err and "Insta" in err


# --- secrets never on the command line ----------------------------------------------------


def test_a_secret_on_the_command_line_is_refused_and_not_used(team):
    account = service.create_account("acme-secret", workspace=team.workspace)
    code, _out, err = run(
        "channels",
        "add",
        "sandbox",
        "--workspace",
        "acme",
        "--credential",
        f"handle={account.handle}",
        "--credential",
        f"token={account.token}",
    )
    assert code == 2
    assert "token is a secret" in err and "--credentials-json" in err
    assert account.token not in err
    from portevoix.channels.models import Channel

    assert not Channel.objects.exists()


def test_a_secret_is_asked_for_on_a_terminal(team, monkeypatch):
    account = service.create_account("acme-tty", workspace=team.workspace)
    asked = []

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    def fake_getpass(prompt: str, stream=None) -> str:
        asked.append(prompt)
        return account.token

    monkeypatch.setattr("getpass.getpass", fake_getpass)
    args = build_parser().parse_args(
        ["channels", "add", "sandbox", "--workspace", "acme", "--credential", "handle=acme-tty"]
    )
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr("sys.stdin", Terminal())
    code = channels_cli.run(args, out, err)
    assert code == 0, err.getvalue()
    assert asked == ["token: "]
    assert account.token not in out.getvalue() + err.getvalue()


def test_a_secret_key_without_value_needs_a_terminal(team):
    code, _out, err = run(
        "channels",
        "add",
        "sandbox",
        "--workspace",
        "acme",
        "--credential",
        "handle=x",
        "--credential",
        "token",
    )
    assert code == 2
    assert "standard input is not a terminal" in err


@pytest.mark.parametrize(
    ("stdin", "message"),
    [
        ('["handle", "token"]', "not an array"),
        ('"handle=x"', "not a string"),
        ("42", "not a number"),
        ("null", "not null"),
        ('{"handle": "x", "token": 12}', "not so for: token"),
        ('{"handle": ["x"], "token": "y"}', "not so for: handle"),
        ("{handle: x}", "standard input is not JSON"),
    ],
)
def test_credentials_json_that_is_not_an_object_of_strings_is_a_usage_error(team, stdin, message):
    code, _out, err = run(
        "channels", "add", "sandbox", "--workspace", "acme", "--credentials-json", stdin=stdin
    )
    assert code == 2
    assert message in err
    assert "Traceback" not in err


# --- refusals are sentences, not tracebacks -----------------------------------------------


def test_a_refused_action_prints_the_reason(team):
    from django.utils import translation

    _connect(team, "acme", "Insta", "acme-insta")
    with translation.override("en"):
        code, out, err = run(
            "post", "--channel", "Insta", "Bonjour", "--as", team["viewer"].user.email
        )
    assert code == 1
    assert err.startswith("portevoix post: ") and "does not allow" in err
    assert "Traceback" not in err and out == ""
    from portevoix.publishing.models import Post

    assert not Post.objects.exists()


def test_the_cli_reads_problems_in_its_language(team):
    """A stored problem (a sentence) is rendered for whoever reads it, here the CLI."""
    from django.utils import translation

    from portevoix.channels.messages import network_problem
    from portevoix.channels.models import Channel
    from portevoix.networks.errors import Transient

    _connect(team, "acme", "Insta", "acme-insta")
    stored = network_problem(
        Transient("Could not reach the Sandbox server.", network="sandbox", code="connection")
    ).dumps()
    Channel.objects.update(problem=stored)
    with translation.override("en"):
        rows = json.loads(run("channels", "list", "--json")[1])
    assert rows[0]["problem"].startswith("Could not reach the Sandbox server")
    with translation.override("fr"):
        rows = json.loads(run("channels", "list", "--json")[1])
    assert rows[0]["problem"].startswith("Impossible de joindre le serveur Sandbox")
