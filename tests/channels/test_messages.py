"""Network refusals in the reader's language (networks/ speaks English; the edge translates)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import translation

from portevoix.channels import actions
from portevoix.channels.messages import network_message, network_problem
from portevoix.channels.models import Channel
from portevoix.core import sentences
from portevoix.core.permissions import Role
from portevoix.networks.errors import (
    Ambiguous,
    AuthExpired,
    InvalidInput,
    NetworkError,
    NotFound,
    OutcomeUnknown,
    Permanent,
    RateLimited,
    Transient,
    Unsupported,
)
from portevoix.sandbox import service

RESET = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)

# One error of each kind and code the network modules raise, with their English message.
ERRORS: list[NetworkError] = [
    Transient(
        "Could not reach the Bluesky server (signing in): check its address.",
        network="bluesky",
        code="connection",
    ),
    Transient("Bluesky did not answer in time (signing in).", network="bluesky", code="timeout"),
    Transient(
        "The server answered something that is not Bluesky's API (signing in): check the address.",
        network="bluesky",
        code="malformed",
    ),
    Transient("Mastodon is unavailable (posting, HTTP 503).", network="mastodon", code="503"),
    Transient("The sandbox is unavailable while posting.", network="sandbox", code="unavailable"),
    AuthExpired("This Bluesky account is not connected.", network="bluesky", code="not_connected"),
    AuthExpired(
        "A Bluesky handle and an app password are needed.", network="bluesky", code="missing"
    ),
    AuthExpired(
        "The Mastodon instance refused the access token (revoked or wrong): reconnect.",
        network="mastodon",
        code="401",
    ),
    RateLimited("Bluesky asks us to slow down.", reset_at=RESET, network="bluesky", code="429"),
    OutcomeUnknown(
        "Bluesky did not answer in time (posting); the post may exist.",
        network="bluesky",
        code="timeout",
    ),
    Ambiguous("Cannot tell whether the post exists.", network="mastodon"),
    InvalidInput(
        "The Bluesky server address must start with https://.", network="bluesky", code="bad_url"
    ),
    InvalidInput(
        "The file is too large for this Mastodon instance.", network="mastodon", code="413"
    ),
    InvalidInput("Mastodon refused it (posting): Text too long.", network="mastodon", code="422"),
    NotFound("Unknown network: 'myspace'.", network="myspace", code="unknown_network"),
    NotFound("Mastodon could not find it (signing in).", network="mastodon", code="404"),
    Permanent("Mastodon forbids this (posting).", network="mastodon", code="403"),
    Permanent("Bluesky refused it (posting): blocked.", network="bluesky", code="Blocked"),
    Unsupported("Sandbox cannot read comments.", network="sandbox"),
]


@pytest.mark.parametrize("exc", ERRORS, ids=lambda e: f"{type(e).__name__}-{e.code}")
def test_every_network_error_reads_in_french_and_in_english(exc: NetworkError) -> None:
    with translation.override("en"):
        english = network_message(exc)
    with translation.override("fr"):
        french = network_message(exc)
    assert english and french and english != french
    # The English module message is never the French sentence; at most a quoted detail.
    assert not french.startswith(exc.message)
    if exc.message in french:
        assert f"«\u00a0{exc.message}\u00a0»" in french
    label = {"bluesky": "Bluesky", "mastodon": "Mastodon", "sandbox": "Sandbox"}.get(exc.network)
    if label and not (isinstance(exc, InvalidInput) and exc.code == "bad_url"):
        assert label in french


def test_a_refusal_keeps_the_networks_reason_as_a_quoted_detail() -> None:
    exc = Permanent("Bluesky refused it (posting): blocked by the author.", network="bluesky")
    with translation.override("fr"):
        assert network_message(exc) == (
            "Bluesky a refusé\u00a0: «\u00a0Bluesky refused it (posting): blocked by the author.\u00a0»"
        )


def test_the_reported_case_is_french_in_the_french_interface() -> None:
    exc = Transient(
        "Could not reach the Bluesky server (signing in): check its address.",
        network="bluesky",
        code="connection",
    )
    with translation.override("fr"):
        assert network_message(exc) == (
            "Impossible de joindre le serveur Bluesky\u00a0: vérifiez son adresse, ou réessayez "
            "plus tard."
        )


def test_a_stored_problem_is_rendered_in_each_readers_language() -> None:
    stored = network_problem(
        AuthExpired("The sandbox refused this account's token.", network="sandbox", code="x")
    ).dumps()
    with translation.override("fr"):
        assert sentences.render(stored).startswith("Sandbox a refusé les identifiants du compte")
    with translation.override("en"):
        assert sentences.render(stored).startswith("Sandbox refused the account's credentials")
    assert sentences.render("Plain text from before.") == "Plain text from before."
    assert sentences.render("") == "" and sentences.render(None) == ""


def test_a_failed_check_is_shown_in_the_readers_language(team, client_for) -> None:
    account = service.create_account("acme-check", workspace=team.workspace)
    channel = actions.connect_channel(
        team.workspace,
        by=team[Role.ADMIN.value],
        network="sandbox",
        credentials=service.credentials_for(account),
        name="Insta",
    )
    service.expire_token(account)
    with translation.override("en"):  # written by a process in English (a CLI, a worker)
        channel = actions.check_channel(channel)
    assert sentences.loads(channel.problem) is not None  # stored as a sentence, not as text
    url = reverse("channel_detail", kwargs={"ws": team.workspace.slug, "pk": channel.pk})
    admin = team[Role.ADMIN.value]
    for language, expected in (
        ("fr", "Sandbox a refusé les identifiants du compte"),
        ("en", "Sandbox refused the account's credentials"),
    ):
        admin.user.language = language
        admin.user.save(update_fields=["language"])
        html = client_for(admin).get(url).content.decode()
        assert expected in html.replace("&#x27;", "'").replace("&#39;", "'"), language
    assert Channel.objects.get(pk=channel.pk).state == "needs_reconnect"
