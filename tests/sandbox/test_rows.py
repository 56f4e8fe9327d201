"""The sandbox's precompiled statements build the same objects as the ORM."""

from __future__ import annotations

import pytest
from django.db import connection

from portevoix.sandbox import rows, service
from portevoix.sandbox.models import SandboxAccount, SandboxCall, SandboxFaults, SandboxPost

pytestmark = pytest.mark.django_db


def test_load_converts_like_the_orm() -> None:
    account = service.create_account("rows-test", display_name="Rows")
    service.configure_faults(account, queue=["timeout"], random_faults={"server_error": 0.5})
    found = service._account_with_faults("rows-test")
    expected = SandboxAccount.objects.select_related("faults").get(pk=account.pk)
    assert found is not None
    for field in SandboxAccount._meta.concrete_fields:
        assert getattr(found, field.attname) == getattr(expected, field.attname), field.name
    for field in SandboxFaults._meta.concrete_fields:
        assert getattr(found.faults, field.attname) == getattr(expected.faults, field.attname)
    assert found.faults.queue == ["timeout"]  # JSON decoded, not text
    assert found.token_expires_at is not None and found.token_expires_at.tzinfo is not None


def test_an_account_without_faults_answers_does_not_exist() -> None:
    account = service.create_account("rows-bare", display_name="Bare")
    SandboxFaults.objects.filter(account=account).delete()
    found = service._account_with_faults("rows-bare")
    assert found is not None
    with pytest.raises(SandboxFaults.DoesNotExist):
        found.faults  # noqa: B018 - the cached "no row", as select_related would
    assert service._account_with_faults("nobody") is None


def test_insert_sets_the_key_and_ignores_a_twin() -> None:
    account = service.create_account("rows-insert", display_name="Insert")
    post = SandboxPost(
        account=account, network_id="sbx-x-1", idempotency_key="k", text="Bonjour", media=[{"a": 1}]
    )
    assert rows.insert(post, ignore_conflicts=True) is True
    assert post.pk is not None
    stored = SandboxPost.objects.get(pk=post.pk)
    assert stored.media == [{"a": 1}] and stored.text == "Bonjour"
    twin = SandboxPost(account=account, network_id="sbx-x-2", idempotency_key="k", text="Encore")
    assert rows.insert(twin, ignore_conflicts=True) is False
    assert SandboxPost.objects.filter(account=account).count() == 1
    # Still usable: no failed statement left the transaction aborted (PostgreSQL).
    call = SandboxCall(account=account, operation="publish", outcome="ok", created_ids=["sbx-x-1"])
    assert rows.insert(call)
    assert SandboxCall.objects.get(pk=call.pk).created_ids == ["sbx-x-1"]
    assert connection.is_usable()


def test_keys_are_matched_exactly_not_as_patterns() -> None:
    account = service.create_account("rows-like", display_name="Like")
    for key in ("a_b", "aXb", "A_B", "a%b", "a\\b"):
        service.publish(account.handle, account.token, [service.PartIn("x")], idempotency_key=key)
    keys = sorted(
        SandboxPost.objects.filter(account=account).values_list("idempotency_key", flat=True)
    )
    assert keys == sorted(["a_b", "aXb", "A_B", "a%b", "a\\b"])
    # Publishing a key again answers with its own post, never a look-alike's.
    for key in ("a_b", "A_B", "a%b", "a\\b"):
        [post] = service.publish(
            account.handle, account.token, [service.PartIn("x")], idempotency_key=key
        )
        assert post.idempotency_key == key
    assert SandboxPost.objects.filter(account=account).count() == 5


def test_a_new_key_is_stored_in_one_statement_and_a_deleted_one_gets_a_new_id() -> None:
    from django.test.utils import CaptureQueriesContext

    account = service.create_account("rows-fast", display_name="Fast")

    def publish() -> SandboxPost:
        [post] = service.publish(
            account.handle, account.token, [service.PartIn("x")], idempotency_key="k1"
        )
        return post

    with CaptureQueriesContext(connection) as seen:
        first = publish()
    # The account with its faults, the post, the receipt: no read of the key's earlier posts.
    sql = [q["sql"] for q in seen.captured_queries if q["sql"].startswith(("SELECT", "INSERT"))]
    assert len(sql) == 3 and not any("sandbox_sandboxpost" in s for s in sql if "SELECT" in s)
    assert publish().network_id == first.network_id  # the same key: the same post
    service.delete_post(account.handle, account.token, first.network_id)
    second = publish()  # the key is free again: a new post, under a new id
    assert second.network_id != first.network_id and second.pk != first.pk
    service.delete_post(account.handle, account.token, second.network_id)
    third = publish()
    assert len({first.network_id, second.network_id, third.network_id}) == 3
    assert publish().pk == third.pk
    assert SandboxPost.objects.filter(account=account, deleted_at__isnull=True).count() == 1
