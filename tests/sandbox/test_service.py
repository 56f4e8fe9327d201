"""What the sandbox network really receives, and how it fails on demand."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from portevoix.networks.errors import (
    AuthExpired,
    NotFound,
    OutcomeUnknown,
    RateLimited,
    Transient,
    Unsupported,
)
from portevoix.networks.sandbox import SandboxNetwork
from portevoix.networks.types import (
    Capability,
    Credentials,
    InboundKind,
    MediaItem,
    OutgoingPost,
    ThreadPart,
)
from portevoix.sandbox import service
from portevoix.sandbox.models import (
    Fault,
    SandboxAccount,
    SandboxCall,
    SandboxInteraction,
    SandboxPost,
)

from ..networks.contract import PNG_1PX


def calls(account: SandboxAccount, operation: str = "publish") -> list[str]:
    return list(
        SandboxCall.objects.filter(account=account, operation=operation)
        .order_by("pk")
        .values_list("outcome", flat=True)
    )


# -- identity ----------------------------------------------------------------------------------


def test_labelled_sandbox_everywhere(network: SandboxNetwork) -> None:
    assert SandboxNetwork.is_sandbox
    assert "sandbox" in SandboxNetwork.label.lower()
    assert "sandbox" in network.account.display_name.lower()
    assert network.account.network == "sandbox"


# -- idempotency --------------------------------------------------------------------------------


def test_the_same_key_twice_is_received_once_and_counted(
    network: SandboxNetwork, account: SandboxAccount
) -> None:
    post = OutgoingPost("Nouveau : le sérum Éclat ✨")
    first = network.publish(post, idempotency_key="post-1:channel-1")
    second = network.publish(post, idempotency_key="post-1:channel-1")
    assert second.post_id == first.post_id
    assert SandboxPost.objects.filter(account=account).count() == 1
    assert calls(account) == ["ok", "duplicate"]
    stats = service.stats(account)
    assert stats["posts"] == 1
    assert stats["calls"]["publish:ok"] == stats["calls"]["publish:duplicate"] == 1
    assert stats["texts_received_twice"] == {}


def test_different_keys_for_the_same_text_show_up_in_the_stats(
    network: SandboxNetwork, account: SandboxAccount
) -> None:
    network.publish(OutgoingPost("Doublon"), idempotency_key="a")
    network.publish(OutgoingPost("Doublon"), idempotency_key="b")
    assert service.stats(account)["texts_received_twice"] == {"Doublon": 2}


def test_thread_and_first_comment_are_stored_once(
    network: SandboxNetwork, account: SandboxAccount
) -> None:
    post = OutgoingPost(
        "1/2 Notre atelier",
        thread=(ThreadPart("2/2 à Grasse"),),
        first_comment="Lien en bio",
        media=(MediaItem(PNG_1PX, "image/png", alt_text="Atelier", filename="a.png"),),
    )
    ref = network.publish(post, idempotency_key="thread")
    again = network.publish(post, idempotency_key="thread")
    assert again.all_post_ids == ref.all_post_ids
    assert ref.extra["first_comment"]
    rows = list(SandboxPost.objects.filter(account=account).order_by("part"))
    assert [r.kind for r in rows] == ["post", "reply", "first_comment"]
    assert rows[1].in_reply_to == rows[0].network_id
    assert rows[0].media[0]["alt_text"] == "Atelier"
    assert "data" not in rows[0].media[0]
    assert rows[0].content_type == "image"


def test_a_thread_cut_midway_is_completed_with_the_same_key(
    network: SandboxNetwork, account: SandboxAccount
) -> None:
    short = OutgoingPost("1/3", thread=(ThreadPart("2/3"),))
    network.publish(short, idempotency_key="cut")
    full = OutgoingPost("1/3", thread=(ThreadPart("2/3"), ThreadPart("3/3")))
    assert network.reconcile("cut", post=full) is not None
    ref = network.publish(full, idempotency_key="cut")
    assert len(ref.all_post_ids) == 3
    assert SandboxPost.objects.filter(account=account).count() == 3


def test_deleted_post_frees_its_key(network: SandboxNetwork) -> None:
    ref = network.publish(OutgoingPost("Oups"), idempotency_key="k")
    network.delete(ref)
    assert network.reconcile("k") is None
    assert network.publish(OutgoingPost("Oups"), idempotency_key="k").post_id
    with pytest.raises(NotFound):
        network.delete(ref)


# -- faults --------------------------------------------------------------------------------------


def test_timeout_after_accept_is_outcome_unknown_and_the_post_was_received(
    network: SandboxNetwork, account: SandboxAccount
) -> None:
    service.inject_faults(account, Fault.TIMEOUT_AFTER_ACCEPT)
    post = OutgoingPost("Accepté, réponse perdue")
    with pytest.raises(OutcomeUnknown):
        network.publish(post, idempotency_key="lost")
    assert SandboxPost.objects.filter(account=account, idempotency_key="lost").count() == 1
    found = network.reconcile("lost", post=post)
    assert found is not None
    assert network.publish(post, idempotency_key="lost").post_id == found.post_id
    assert SandboxPost.objects.filter(account=account).count() == 1
    assert calls(account) == ["timeout_after_accept", "duplicate"]


def test_server_error_on_a_write_is_outcome_unknown_but_nothing_was_stored(
    network: SandboxNetwork, account: SandboxAccount
) -> None:
    service.inject_faults(account, Fault.SERVER_ERROR)
    post = OutgoingPost("500")
    with pytest.raises(OutcomeUnknown):
        network.publish(post, idempotency_key="five")
    assert network.reconcile("five", post=post) is None
    assert network.publish(post, idempotency_key="five").post_id
    assert calls(account) == ["server_error", "ok"]


def test_unavailable_and_timeout_before_accept_are_transient(
    network: SandboxNetwork, account: SandboxAccount
) -> None:
    service.configure_faults(account, writes_only=False)
    service.inject_faults(account, Fault.UNAVAILABLE, Fault.TIMEOUT)
    with pytest.raises(Transient):
        network.fetch_inbound(None)
    with pytest.raises(Transient):
        network.fetch_inbound(None)
    assert SandboxPost.objects.count() == 0


def test_a_timeout_on_a_write_is_outcome_unknown(
    network: SandboxNetwork, account: SandboxAccount
) -> None:
    service.inject_faults(account, Fault.TIMEOUT)
    with pytest.raises(OutcomeUnknown):
        network.publish(OutgoingPost("t"), idempotency_key="t")
    assert network.reconcile("t") is None  # it was refused before it was stored


def test_queued_rate_limit_gives_the_reset_time(
    network: SandboxNetwork, account: SandboxAccount
) -> None:
    service.configure_faults(account, rate_reset_seconds=120)
    service.inject_faults(account, Fault.RATE_LIMITED)
    before = timezone.now()
    with pytest.raises(RateLimited) as caught:
        network.publish(OutgoingPost("vite"), idempotency_key="r")
    reset_at = caught.value.reset_at
    assert reset_at is not None
    assert before + timedelta(seconds=119) <= reset_at <= timezone.now() + timedelta(seconds=121)
    assert SandboxPost.objects.count() == 0
    assert network.publish(OutgoingPost("vite"), idempotency_key="r").post_id


def test_rate_limit_window_counts_calls_and_resets(
    network: SandboxNetwork, account: SandboxAccount
) -> None:
    service.configure_faults(account, rate_limit=3, rate_window_seconds=60)
    start = timezone.now() + timedelta(hours=1)  # the connect call is out of the window
    with time_machine.travel(start, tick=False):
        for n in range(3):
            network.publish(OutgoingPost(f"{n}"), idempotency_key=f"w{n}")
        with pytest.raises(RateLimited) as caught:
            network.publish(OutgoingPost("3"), idempotency_key="w3")
    assert caught.value.reset_at == start + timedelta(seconds=60)
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        assert network.publish(OutgoingPost("3"), idempotency_key="w3").post_id
    assert calls(account) == ["ok", "ok", "ok", "rate_limited", "ok"]


def test_queued_auth_fault_is_auth_expired(
    network: SandboxNetwork, account: SandboxAccount
) -> None:
    service.inject_faults(account, Fault.AUTH_EXPIRED)
    with pytest.raises(AuthExpired):
        network.publish(OutgoingPost("x"), idempotency_key="x")
    assert SandboxPost.objects.count() == 0


def test_expired_token_is_auth_expired_until_reconnected(
    network: SandboxNetwork, account: SandboxAccount
) -> None:
    service.expire_token(account)
    with pytest.raises(AuthExpired) as caught:
        network.publish(OutgoingPost("x"), idempotency_key="x")
    assert account.token not in str(caught.value)
    with pytest.raises(AuthExpired):
        network.verify()
    token = service.rotate_token(account)
    fresh = SandboxNetwork()
    fresh.connect(Credentials({"handle": account.handle, "token": token}))
    assert fresh.publish(OutgoingPost("x"), idempotency_key="x").post_id


def test_token_expires_with_time(make_account) -> None:
    account = make_account("expiring", token_lifetime=timedelta(hours=1))
    network = SandboxNetwork()
    network.connect(Credentials(service.credentials_for(account)))
    with time_machine.travel(timezone.now() + timedelta(hours=2)), pytest.raises(AuthExpired):
        network.verify()


def test_refresh_credentials_hands_out_a_new_token(
    network: SandboxNetwork, account: SandboxAccount
) -> None:
    seen: list[Credentials] = []
    network = SandboxNetwork(on_credentials_change=seen.append)
    network.connect(Credentials(service.credentials_for(account)))
    renewed = network.refresh_credentials()
    assert seen == [renewed]
    assert renewed.get("token") != account.token
    with pytest.raises(AuthExpired):
        SandboxNetwork().connect(Credentials(service.credentials_for(account)))
    assert network.verify().handle == account.handle


def test_faults_apply_in_order_one_per_call(
    network: SandboxNetwork, account: SandboxAccount
) -> None:
    service.inject_faults(account, Fault.UNAVAILABLE, Fault.RATE_LIMITED)
    network.fetch_inbound(None)  # reads do not consume write faults
    with pytest.raises(Transient):
        network.publish(OutgoingPost("a"), idempotency_key="a")
    with pytest.raises(RateLimited):
        network.publish(OutgoingPost("a"), idempotency_key="a")
    network.publish(OutgoingPost("a"), idempotency_key="a")
    assert calls(account) == ["unavailable", "rate_limited", "ok"]


def test_unknown_fault_is_refused(account: SandboxAccount) -> None:
    with pytest.raises(ValueError):
        service.inject_faults(account, "meteor")


def test_latency_and_a_timeout_after_acceptance(account: SandboxAccount) -> None:
    service.configure_faults(account, latency_ms=150)
    network = SandboxNetwork(timeout=5.0)
    network.connect(Credentials(service.credentials_for(account)))
    began = time.monotonic()
    network.publish(OutgoingPost("lent"), idempotency_key="slow")
    assert time.monotonic() - began >= 0.15
    impatient = SandboxNetwork(timeout=0.05)
    service.configure_faults(account, latency_ms=0)
    impatient.connect(Credentials(service.credentials_for(account)))
    service.configure_faults(account, latency_ms=150)
    with pytest.raises(OutcomeUnknown):
        impatient.publish(OutgoingPost("trop lent"), idempotency_key="slower")
    assert SandboxPost.objects.filter(idempotency_key="slower").exists()
    with pytest.raises(Transient):
        impatient.fetch_inbound(None)


# -- inbound, replies, moderation -----------------------------------------------------------


def test_inbound_cursor_and_kinds(network: SandboxNetwork, account: SandboxAccount) -> None:
    ref = network.publish(OutgoingPost("Des questions ?"), idempotency_key="q")
    first = network.fetch_inbound(None)
    assert first.items == () and first.next_cursor
    comment = service.inject_interaction(account, "C'est vegan ?", in_reply_to=ref.post_id)
    dm = service.inject_interaction(
        account, "Commande 123 pas reçue", kind="dm", intent="complaint"
    )
    service.inject_interaction(account, "Rosée Paris c'est mieux", kind="mention", addressed=False)
    batch = network.fetch_inbound(first.next_cursor)
    assert [i.message_id for i in batch.items] == [comment.message_id, dm.message_id]
    assert [i.kind for i in batch.items] == [InboundKind.COMMENT, InboundKind.DM]
    assert batch.items[0].thread_id == ref.post_id
    assert network.fetch_inbound(batch.next_cursor).items == ()
    assert network.fetch_inbound(batch.next_cursor).next_cursor == batch.next_cursor


def test_public_and_private_replies(network: SandboxNetwork, account: SandboxAccount) -> None:
    ref = network.publish(OutgoingPost("Bonjour"), idempotency_key="p")
    comment = service.inject_interaction(
        account, "Mon colis est cassé", in_reply_to=ref.post_id, intent="complaint"
    )
    item = network.fetch_replies(ref.post_id).items[0]
    public = network.reply(item, "Désolés ! On vous écrit en privé.", idempotency_key="r1")
    private = network.reply(
        item,
        "Pouvez-vous nous donner votre numéro de commande ?",
        idempotency_key="r2",
        private=True,
    )
    assert public.post_id != private.post_id
    rows = {p.network_id: p for p in SandboxPost.objects.filter(account=account)}
    assert rows[public.post_id].in_reply_to == comment.message_id
    assert rows[private.post_id].kind == "dm"
    assert network.reply(item, "Désolés !", idempotency_key="r1").post_id == public.post_id
    with pytest.raises(NotFound):
        network.reply("nope", "?", idempotency_key="r3")


def test_hide_and_delete_comments(network: SandboxNetwork, account: SandboxAccount) -> None:
    ref = network.publish(OutgoingPost("Bonjour"), idempotency_key="p")
    spam = service.inject_interaction(account, "gagnez un iphone", in_reply_to=ref.post_id)
    rude = service.inject_interaction(account, "nul", in_reply_to=ref.post_id)
    network.hide_comment(rude.message_id)
    network.delete_comment(spam.message_id)
    items = network.fetch_replies(ref.post_id).items
    assert [i.message_id for i in items] == [rude.message_id]
    assert items[0].extra["hidden"] == "true"
    with pytest.raises(NotFound):
        network.delete_comment(spam.message_id)


def test_search_finds_mentions_of_the_brand_and_competitors(
    network: SandboxNetwork, account: SandboxAccount
) -> None:
    service.inject_interaction(account, "J'adore Rosée Paris", kind="mention", addressed=False)
    service.inject_interaction(account, "Lumière c'est top", kind="mention", addressed=False)
    service.inject_interaction(account, "DM privé Rosée Paris", kind="dm")
    batch = network.search("rosée paris OR belle peau")
    assert [i.text for i in batch.items] == ["J'adore Rosée Paris"]
    assert network.search("rosée paris", batch.next_cursor).items == ()


def test_metrics_and_capabilities(network: SandboxNetwork, account: SandboxAccount) -> None:
    ref = network.publish(OutgoingPost("À mesurer"), idempotency_key="m")
    SandboxPost.objects.filter(network_id=ref.post_id).update(impressions=100, likes=7, shares=2)
    (snap,) = network.metrics([ref])
    assert (snap.views, snap.likes, snap.reposts, snap.replies) == (100, 7, 2, 0)
    assert network.supports(Capability.IDEMPOTENT_PUBLISH)
    assert not network.supports(Capability.CONTENT_WARNING)
    assert network.validate(OutgoingPost("x", content_warning="spoiler"))


def test_unknown_account_is_auth_expired(db: None) -> None:
    with pytest.raises(AuthExpired):
        SandboxNetwork().connect(Credentials({"handle": "nobody", "token": "sbx_x"}))
    with pytest.raises(AuthExpired):
        SandboxNetwork().connect(Credentials({"handle": "nobody"}))


def test_private_reply_needs_a_message(network: SandboxNetwork) -> None:
    ref = network.publish(OutgoingPost("Bonjour"), idempotency_key="p")
    with pytest.raises(Exception) as caught:
        network.reply(ref.post_id, "psst", idempotency_key="dm", private=True)
    assert not isinstance(caught.value, Unsupported)
    assert SandboxInteraction.objects.count() == 0


def test_random_faults_and_a_careful_publisher_never_post_twice(
    network: SandboxNetwork, account: SandboxAccount
) -> None:
    """What a benchmark does: faults at random, a publisher that reconciles, receipts."""
    service.configure_faults(
        account,
        random_faults={
            "timeout_after_accept": 0.2,
            "server_error": 0.1,
            "rate_limited": 0.1,
            "unavailable": 0.1,
        },
        rate_reset_seconds=0,
    )
    # 80 posts: about 130 calls, so that each fault shows at least once (with 40, one run in a
    # few hundred drew no server error at all).
    for n in range(80):
        post, key = OutgoingPost(f"Post {n}"), f"post-{n}:channel-1"
        for _attempt in range(50):
            try:
                network.publish(post, idempotency_key=key)
                break
            except OutcomeUnknown:
                if network.reconcile(key, post=post) is not None:
                    break
            except (RateLimited, Transient):
                continue
        else:
            pytest.fail("never published")
    stats = service.stats(account)
    assert stats["posts"] == 80
    assert stats["texts_received_twice"] == {}
    for outcome in ("timeout_after_accept", "server_error", "rate_limited", "unavailable"):
        assert stats["calls"].get(f"publish:{outcome}", 0) > 0, outcome


def test_random_faults_are_checked(account: SandboxAccount) -> None:
    with pytest.raises(ValueError):
        service.configure_faults(account, random_faults={"meteor": 0.1})
    with pytest.raises(ValueError):
        service.configure_faults(account, random_faults={"timeout": 0.7, "server_error": 0.5})
