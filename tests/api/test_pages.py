"""The tokens and webhooks pages, in French and English, as every role."""

from __future__ import annotations

import pytest

from portevoix.api.models import WebhookDelivery, WebhookSubscription
from portevoix.core.permissions import can
from tests.conftest import ALL_ROLES, signed_in


def test_webhooks_page_makes_a_subscription_and_shows_its_secret_once(team):
    client = signed_in(team["manager"].user)
    url = f"/w/{team.workspace.slug}/settings/webhooks/"
    made = client.post(
        url,
        {"url": "https://crm.example.com/hooks", "events": ["post.failed", "conversation.created"]},
    )
    assert made.status_code == 200
    secret = made.context["secret"]
    assert secret.startswith("whsec_") and secret.encode() in made.content
    assert secret.encode() not in client.get(url).content
    subscription = WebhookSubscription.objects.get()
    assert subscription.events == ["conversation.created", "post.failed"]
    bad = client.post(url, {"url": "not a url", "events": []})
    assert bad.status_code == 400
    assert b"not a url" in bad.content  # what was typed is kept


@pytest.mark.parametrize("role", ALL_ROLES)
def test_webhooks_pages_refuse_roles_without_integration_manage(team, role):
    from portevoix.api import actions, webhooks

    subscription, _secret = actions.create_subscription(
        team.workspace, by=team["admin"], url="https://h.example.com/", events=["post.failed"]
    )
    webhooks.emit(team.workspace.pk, "post.failed", "1", {"post_id": 1})
    client = signed_in(team[role].user)
    base = f"/w/{team.workspace.slug}/settings/webhooks/"
    pages = [base, f"{base}{subscription.pk}/deliveries/"]
    for page in pages:
        status = client.get(page).status_code
        assert status == (200 if can(team[role], "integration.manage") else 403), (role, page)
    outsider = signed_in(team.outsider.user)
    for page in pages:
        assert outsider.get(page).status_code == 404


def test_replay_from_the_page(team):
    from portevoix.api import actions, webhooks

    subscription, _secret = actions.create_subscription(
        team.workspace, by=team["admin"], url="https://h.example.com/", events=["post.failed"]
    )
    webhooks.emit(team.workspace.pk, "post.failed", "1", {"post_id": 1})
    delivery = WebhookDelivery.objects.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(state="failed", next_attempt_at=None)
    client = signed_in(team["admin"].user)
    page = f"/w/{team.workspace.slug}/settings/webhooks/{subscription.pk}/deliveries/"
    assert client.get(page).status_code == 200
    client.post(page, {"delivery": delivery.pk})
    delivery.refresh_from_db()
    assert delivery.state == "pending"


@pytest.mark.parametrize("language", ["fr", "en"])
def test_pages_speak_both_languages(team, language):
    from django.utils import translation

    user = team["admin"].user
    user.language = language
    user.save(update_fields=["language"])
    client = signed_in(user)
    tokens = client.get(f"/w/{team.workspace.slug}/settings/api/tokens/")
    hooks = client.get(f"/w/{team.workspace.slug}/settings/webhooks/")
    with translation.override(language):
        assert translation.gettext("API tokens").encode() in tokens.content
        assert translation.gettext("New subscription").encode() in hooks.content
    expected = {"fr": "Jetons d’API", "en": "API tokens"}[language]
    assert expected.encode() in tokens.content
