"""What the API does: publishing and webcare through the same actions as the pages, tokens
(shown once, hashed, scoped, revocable, bounded by the role), pagination, rate limits and
Idempotency-Key."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
import time_machine
from django.utils import timezone

from portevoix.api import actions
from portevoix.api.models import ApiToken, IdempotentAnswer
from portevoix.core.models import AuditEntry
from portevoix.publishing.models import Post
from tests.api.conftest import Api, token_for
from tests.conftest import signed_in
from tests.images import image_bytes


def test_content_marketer_creates_and_submits_a_post(team, api_as, channel):
    api = api_as(team["content"])
    at = (timezone.now() + dt.timedelta(days=2)).replace(microsecond=0).isoformat()
    response = api.post(
        "/posts",
        {
            "text": "Lancement lundi !",
            "channels": [channel.pk],
            "when": "at",
            "at": at,
            "submit": True,
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert [p["state"] for p in body["publications"]] == ["scheduled"]
    post = Post.objects.get(pk=body["id"])
    assert post.source == "api"
    # The same audit as the pages, with the person as actor.
    actions_done = set(
        AuditEntry.objects.filter(
            object_id=str(post.pk), object_type="publishing.post"
        ).values_list("action", flat=True)
    )
    assert "post.save" in actions_done


def test_creative_submits_and_manager_approves(team, api_as, channel):
    response = api_as(team["creative"]).post(
        "/posts", {"text": "Visuel de la rentrée", "channels": [channel.pk], "submit": True}
    )
    assert response.status_code == 201, response.content
    post_id = response.json()["id"]
    assert response.json()["publications"][0]["state"] == "pending_approval"
    # Nobody approves their own post, and a role without the permission is refused.
    assert api_as(team["creative"]).post(f"/posts/{post_id}/approve").status_code == 403
    approved = api_as(team["manager"]).post(f"/posts/{post_id}/approve", {"comment": "OK"})
    assert approved.status_code == 200, approved.content
    assert approved.json()["publications"][0]["state"] == "scheduled"
    again = api_as(team["manager"]).post(f"/posts/{post_id}/approve")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "state"


def test_reschedule_then_cancel(team, api_as, draft):
    api = api_as(team["content"])
    naive = api.post(f"/posts/{draft.pk}/schedule", {"at": "2027-06-02T09:00:00"})
    assert naive.status_code == 422
    assert naive.json()["error"]["code"] == "naive_datetime"
    moved = api.post(f"/posts/{draft.pk}/schedule", {"at": "2027-06-02T09:00:00+02:00"})
    assert moved.status_code == 200, moved.content
    assert moved.json()["publications"][0]["scheduled_at"].startswith("2027-06-02T07:00:00")
    cancelled = api.post(f"/posts/{draft.pk}/cancel")
    assert cancelled.json()["publications"][0]["state"] == "cancelled"
    twice = api.post(f"/posts/{draft.pk}/cancel")
    assert twice.status_code == 409


def test_bad_input_is_one_error_shape(team, api_as, channel):
    api = api_as(team["content"])
    missing = api.post("/posts", {"channels": [channel.pk]})
    assert missing.status_code == 422
    error = missing.json()["error"]
    assert error["code"] == "invalid_request" and error["field"] == "text"
    empty = api.post("/posts", {"text": "  ", "channels": [channel.pk]})
    assert empty.status_code == 400
    assert empty.json()["error"]["field"] == "text"
    other = api.post("/posts", {"text": "x", "channels": [999999]})
    assert other.json()["error"]["code"] == "unknown_channel"
    assert api.get("/posts", cursor="!!!").json()["error"]["code"] == "invalid_cursor"


def test_cursor_pagination_walks_every_post_once(team, api_as, channel):
    api = api_as(team["content"])
    made = {
        api.post("/posts", {"text": f"n°{i}", "channels": [channel.pk]}).json()["id"]
        for i in range(5)
    }
    seen: list[int] = []
    cursor = None
    while True:
        page = api.get("/posts", limit=2, **({"cursor": cursor} if cursor else {})).json()
        seen += [p["id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(made)
    assert len(seen) == len(set(seen))


def test_upload_media_then_use_it(team, api_as, channel):
    api = api_as(team["creative"])
    response = api.client.post(
        "/api/v1/media",
        {"file": _png(), "alt_text": "Le coffret"},
        headers={"Authorization": f"Bearer {api.secret}"},
    )
    assert response.status_code == 201, response.content
    asset = response.json()
    assert asset["kind"] == "image" and asset["alt_text"] == "Le coffret"
    listed = api.get("/media").json()["items"]
    assert [a["id"] for a in listed] == [asset["id"]]
    post = api.post("/posts", {"text": "", "channels": [channel.pk], "media": [asset["id"]]})
    assert post.status_code == 201, post.content


def _png():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("coffret.png", image_bytes("PNG", (64, 48)), content_type="image/png")


def test_webcare_read_reply_label_assign_hand_off(team, api_as, conversation):
    from portevoix.inbox.actions import create_label

    create_label(team.workspace, by=team["manager"], name="prix")
    api = api_as(team["content"])
    listed = api.get("/conversations", state=conversation.state).json()["items"]
    assert [c["id"] for c in listed] == [conversation.pk]
    messages = api.get(f"/conversations/{conversation.pk}/messages").json()
    assert messages[0]["direction"] == "in" and "prix" in messages[0]["text"]
    answer = api.post(f"/conversations/{conversation.pk}/reply", {"text": "Bonjour, 39 € !"})
    assert answer.status_code == 201, answer.content
    thread = api.get(f"/conversations/{conversation.pk}/messages").json()
    assert [m["direction"] for m in thread] == ["in", "out"]
    labelled = api.post(f"/conversations/{conversation.pk}/labels", {"labels": ["prix"]})
    assert labelled.json()["labels"] == ["prix"]
    unknown = api.post(f"/conversations/{conversation.pk}/labels", {"labels": ["nope"]})
    assert unknown.json()["error"]["code"] == "unknown_label"
    mine = api.post(f"/conversations/{conversation.pk}/assign", {"member_id": team["content"].pk})
    assert mine.json()["assignee_id"] == team["content"].pk
    handed = api.post(
        f"/conversations/{conversation.pk}/handoff", {"department": "sales", "note": "Devis"}
    )
    assert handed.status_code == 201 and handed.json()["department"] == "sales"
    # Now the sales agent sees it, through their own token.
    agent = api_as(team["agent"])
    assert agent.get(f"/conversations/{conversation.pk}").status_code == 200


# --- tokens ---------------------------------------------------------------------------------


def test_token_is_shown_once_and_stored_hashed(team, caplog):
    member = team["content"]
    client = signed_in(member.user)
    url = f"/w/{team.workspace.slug}/settings/api/tokens/"
    caplog.set_level(logging.DEBUG)
    made = client.post(url, {"name": "CMS", "scopes": ["posts:read"], "days": 30})
    assert made.status_code == 200
    token = ApiToken.objects.get(member=member)
    secret = made.context["secret"]
    assert secret.startswith("pvk_") and secret.encode() in made.content
    assert made["Cache-Control"] == "no-store"
    # Never again: not the page, not the database, not the audit log, not the logs.
    assert secret.encode() not in client.get(url).content
    assert token.token_hash != secret and secret not in str(list(ApiToken.objects.values()))
    assert secret not in str(list(AuditEntry.objects.values()))
    api = Api(secret)
    assert api.get("/me").json()["email"] == member.user.email
    api.get("/posts/999999")  # a 404, logged
    api.get("/audit")  # a 403 (scope), logged
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "Not Found" in logged or "Forbidden" in logged
    assert secret not in logged
    assert secret not in caplog.text


def test_scopes_narrow_a_token(team):
    reader = token_for(team["content"], scopes=["posts:read"])
    assert reader.get("/posts").status_code == 200
    refused = reader.post("/posts", {"text": "x", "channels": [1]})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "insufficient_scope"


def test_a_token_never_does_more_than_its_member(team, channel):
    api = token_for(team["content"])
    assert api.post("/posts", {"text": "a", "channels": [channel.pk]}).status_code == 201
    from portevoix.core import actions as core_actions

    core_actions.change_role(team["content"], by=team["admin"], role="viewer")
    assert api.post("/posts", {"text": "b", "channels": [channel.pk]}).status_code == 403
    core_actions.deactivate_member(team["content"], by=team["admin"])
    assert api.get("/me").status_code == 401


def test_revoked_and_expired_tokens_are_refused(team):
    api = token_for(team["viewer"])
    token = ApiToken.objects.get(member=team["viewer"])
    assert api.get("/me").status_code == 200
    with time_machine.travel(token.expires_at + dt.timedelta(seconds=1)):
        assert api.get("/me").status_code == 401
        viewer = team["viewer"].user
        viewer.language = "fr"
        viewer.save(update_fields=["language"])
        page = signed_in(viewer).get(f"/w/{team.workspace.slug}/settings/api/tokens/")
        assert ">Expiré</span>" in page.content.decode()  # un jeton: not « Expirée »
    # Only its owner or an admin revokes it.
    with pytest.raises(Exception):  # noqa: B017
        actions.revoke_token(token, by=team["manager"])
    client = signed_in(team["viewer"].user)
    client.post(f"/w/{team.workspace.slug}/settings/api/tokens/{token.pk}/revoke/")
    assert api.get("/me").status_code == 401
    assert AuditEntry.objects.filter(action="api_token.revoke").exists()


def test_nobody_makes_a_token_for_someone_else(team):
    from django.http import Http404

    with pytest.raises(Http404):
        actions.create_token(team["content"], by=team["admin"], name="x", scopes=["posts:read"])


def test_rate_limit_answers_429_with_retry_after(team):
    api = token_for(team["viewer"])
    ApiToken.objects.filter(member=team["viewer"]).update(rate_limit=3)
    minute = (timezone.now() + dt.timedelta(days=1)).replace(second=0, microsecond=0)
    with time_machine.travel(minute + dt.timedelta(seconds=15), tick=False):
        assert [api.get("/me").status_code for _ in range(3)] == [200, 200, 200]
        limited = api.get("/me")
        assert limited.status_code == 429
        assert limited["Retry-After"] == "45"
        assert limited.json()["error"]["code"] == "rate_limited"
    with time_machine.travel(minute + dt.timedelta(minutes=1), tick=False):
        assert api.get("/me").status_code == 200


def test_idempotency_key(team, channel):
    api = token_for(team["content"])
    body = {"text": "Une seule fois", "channels": [channel.pk]}
    first = api.post("/posts", body, headers={"Idempotency-Key": "k1"})
    second = api.post("/posts", body, headers={"Idempotency-Key": "k1"})
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert second["Idempotent-Replayed"] == "true"
    assert Post.objects.filter(text="Une seule fois").count() == 1
    changed = api.post("/posts", {**body, "text": "Autre"}, headers={"Idempotency-Key": "k1"})
    assert changed.status_code == 422
    assert changed.json()["error"]["code"] == "idempotency_key_reused"
    # Scoped to the token: another token may use the same key.
    other = token_for(team["manager"])
    assert other.post("/posts", body, headers={"Idempotency-Key": "k1"}).status_code == 201
    # Kept 24 hours.
    with time_machine.travel(timezone.now() + dt.timedelta(hours=25)):
        later = api.post("/posts", body, headers={"Idempotency-Key": "k1"})
        assert later.status_code == 201 and later.json()["id"] != first.json()["id"]
    assert IdempotentAnswer.objects.filter(key="k1").count() == 2


def test_tokens_page_refuses_revoking_someone_elses(team):
    token_for(team["content"])
    token = ApiToken.objects.get(member=team["content"])
    client = signed_in(team["manager"].user)
    response = client.post(f"/w/{team.workspace.slug}/settings/api/tokens/{token.pk}/revoke/")
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    admin = signed_in(team["admin"].user)
    page = admin.get(f"/w/{team.workspace.slug}/settings/api/tokens/")
    assert token.prefix.encode() in page.content
    admin.post(f"/w/{team.workspace.slug}/settings/api/tokens/{token.pk}/revoke/")
    token.refresh_from_db()
    assert token.revoked_at is not None
