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
