"""The shared network contract, run against the sandbox network."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import pytest

from portevoix.networks.base import Network
from portevoix.networks.sandbox import SandboxNetwork
from portevoix.networks.types import Credentials, PublishedRef
from portevoix.sandbox import service
from portevoix.sandbox.models import Fault, SandboxAccount

from ..networks.contract import ContractSetup, NetworkContract


def _account_of(network: Network) -> SandboxAccount:
    return SandboxAccount.objects.get(handle=network.account.handle)


@contextlib.contextmanager
def _fault(network: Network, fault: Fault) -> Iterator[None]:
    service.inject_faults(_account_of(network), fault)
    yield


class TestSandboxContract(NetworkContract):
    @pytest.fixture
    def contract(self, account: SandboxAccount) -> ContractSetup:
        def add_comment(ref: PublishedRef, text: str) -> None:
            service.inject_interaction(account, text, in_reply_to=ref.post_id)

        return ContractSetup(
            make_network=SandboxNetwork,
            credentials=Credentials(service.credentials_for(account)),
            bad_credentials=Credentials({"handle": account.handle, "token": "sbx_wrong"}),
            secrets=(account.token,),
            add_comment=add_comment,
            lose_next_answer=lambda network: _fault(network, Fault.TIMEOUT_AFTER_ACCEPT),
            rate_limit_next=lambda network: _fault(network, Fault.RATE_LIMITED),
        )
