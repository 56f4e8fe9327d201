"""Several workers publishing the same post at once: the network stores it once."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from portevoix.networks.sandbox import SandboxNetwork
from portevoix.networks.types import Credentials, OutgoingPost, PublishedRef
from portevoix.sandbox import service
from portevoix.sandbox.models import SandboxCall, SandboxPost


@pytest.mark.django_db(transaction=True)
def test_concurrent_publishes_with_one_key_store_one_post() -> None:
    if connection.vendor == "sqlite":
        pytest.skip("SQLite runs one worker; its in-memory test database does not wait on locks")
    account = service.create_account("race", simulate=False)
    credentials = Credentials(service.credentials_for(account))
    results: list[PublishedRef] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(4, timeout=20)

    def publish() -> None:
        try:
            network = SandboxNetwork()
            network.connect(credentials)
            barrier.wait()
            results.append(
                network.publish(OutgoingPost("Une seule fois"), idempotency_key="race-1")
            )
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=publish) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors, errors
    assert len({r.post_id for r in results}) == 1
    assert SandboxPost.objects.filter(account=account).count() == 1
    outcomes = sorted(
        SandboxCall.objects.filter(account=account, operation="publish").values_list(
            "outcome", flat=True
        )
    )
    assert outcomes == ["duplicate", "duplicate", "duplicate", "ok"]
