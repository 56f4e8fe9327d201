"""portevoix channels list|add|check, post, rotate-keys — run in-process."""

from __future__ import annotations

import io
import json

import pytest

from portevoix.channels import cli as channels_cli
from portevoix.cli import build_parser
from portevoix.publishing.models import Publication
from portevoix.sandbox import service
from portevoix.sandbox.models import SandboxPost

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
    image.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 100)
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
        "2099-01-01T09:00+01:00",
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
            "refused",
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
    big.write_bytes(b"\xff\xd8\xff" + b"0" * 9_000_000)
    code, _out, err = run(
        "post", "--workspace", "acme", "--channel", "Insta", "x", "--image", str(big)
    )
    assert code == 1
    assert "huge.jpg" in err and "8.0 MB" in err
    assert not Post.objects.exists() and not SandboxPost.objects.exists()
