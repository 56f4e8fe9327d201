"""Every ARIA reference on a page points at an element that exists.

A field's help text and errors reach screen readers only through ``aria-describedby``, which
Django's widgets set to ``<id>_helptext`` and ``<id>_error``; a template that gives the help
another id leaves the reference dangling and the help unread. This checks the server's HTML
of pages with help texts, errors and the account pages; ``tests/e2e/test_accessibility.py``
checks the same in the browser on every main page.
"""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.urls import reverse

from portevoix.core.permissions import Role
from portevoix.sandbox import service

REFERENCE_ATTRS = ("aria-describedby", "aria-labelledby", "aria-controls", "aria-errormessage")


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()
        self.refs: list[tuple[str, str, str]] = []  # (tag, attribute, id)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if values.get("id"):
            self.ids.add(str(values["id"]))
        for name in REFERENCE_ATTRS:
            for ref in (values.get(name) or "").split():
                self.refs.append((tag, name, ref))
        if tag == "label" and values.get("for"):
            self.refs.append((tag, "for", str(values["for"])))


def dangling(html: str) -> list[str]:
    parser = _Refs()
    parser.feed(html)
    return [f"<{t} {a}={r!r}>" for t, a, r in parser.refs if r not in parser.ids]


def described(html: str) -> int:
    parser = _Refs()
    parser.feed(html)
    return sum(1 for _, a, _ in parser.refs if a == "aria-describedby")


def test_the_checker_sees_a_dangling_reference() -> None:
    html = '<input id="id_a" aria-describedby="id_a_helptext"><small id="id_a_help">x</small>'
    assert dangling(html) == ["<input aria-describedby='id_a_helptext'>"]
    assert dangling('<input id="b" aria-describedby="h"><small id="h">x</small>') == []


@pytest.fixture
def channel(team):
    from portevoix.channels import actions

    account = service.create_account("acme-aria", workspace=team.workspace)
    return actions.connect_channel(
        team.workspace,
        by=team[Role.ADMIN.value],
        network="sandbox",
        credentials=service.credentials_for(account),
        name="Insta",
    )


def test_help_texts_and_errors_are_tied_to_their_fields(team, client_for, channel) -> None:
    client = client_for(team[Role.ADMIN.value])
    ws = team.workspace.slug
    pages = {
        "settings": client.get(reverse("workspace_settings", kwargs={"ws": ws})),
        "invitations": client.get(reverse("invitations", kwargs={"ws": ws})),
        "channel": client.get(reverse("channel_detail", kwargs={"ws": ws, "pk": channel.pk})),
        "connect bluesky": client.get(
            reverse("channel_connect", kwargs={"ws": ws, "network": "bluesky"})
        ),
        "quick post": client.get(
            reverse("channel_quick_post", kwargs={"ws": ws, "pk": channel.pk})
        ),
        # A form sent back with errors: the errors are described too.
        "invitation with errors": client.post(
            reverse("invitations", kwargs={"ws": ws}), {"email": "not an address", "role": "?"}
        ),
        "profile": client.get(reverse("profile")),
        "two-factor": client.get(reverse("mfa_index")),
        "sessions": client.get(reverse("usersessions_list")),
        "password": client.get(reverse("account_change_password")),
    }
    problems = {}
    for name, response in pages.items():
        assert response.status_code in {200, 400}, name
        found = dangling(response.content.decode())
        if found:
            problems[name] = found
    assert not problems
    # The pages checked do have descriptions to check.
    assert described(pages["channel"].content.decode()) >= 1
    assert described(pages["connect bluesky"].content.decode()) >= 2
    errors = pages["invitation with errors"].content.decode()
    assert "_error" in errors and described(errors) >= 1
