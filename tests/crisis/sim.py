"""A workspace with a sandbox channel whose world is replayed through the inbox."""

from __future__ import annotations

import datetime as dt

from portevoix.channels import actions as channel_actions
from portevoix.crisis.replay import Replay
from portevoix.sandbox import service

#: A Monday in winter (Paris is UTC+1), on a step boundary.
MONDAY = dt.datetime(2026, 1, 12, 0, 0, tzinfo=dt.UTC)
#: Like the demo's main account (``sandbox/demo.py``: 18,400 followers, 24 messages a day).
DEMO_LIKE = {
    "follower_count": 18400,
    "inbound_per_day": 24.0,
    "mentions_per_day": 10.0,
    "brand_name": "Lumière Cosmétiques",
    "products": ["sérum Éclat", "crème Velours"],
    "competitors": ["Rosée Paris", "Belle Peau"],
}


def replay_for(
    team, handle: str, *, seed: int, start: dt.datetime = MONDAY, listen: bool = False, **fields
) -> Replay:
    """``listen``: a brand query on the account's brand name, and listening's reader of the
    sandbox world run with each replay (as the ``listening-sandbox`` job does)."""
    account = service.create_account(
        handle,
        workspace=team.workspace,
        seed=seed,
        simulate=False,
        token_lifetime=None,
        now=start,
        **{**DEMO_LIKE, **fields},
    )
    channel = channel_actions.connect_channel(
        team.workspace,
        by=team["admin"],
        network="sandbox",
        credentials=service.credentials_for(account),
        name=handle,
    )
    if listen:
        from portevoix.listening import actions as listening_actions

        brand = fields.get("brand_name", DEMO_LIKE["brand_name"])
        tag = "".join(c for c in brand.lower().replace("è", "e").replace("é", "e") if c.isalnum())
        listening_actions.create_query(
            team.workspace, by=team["admin"], name="Marque", kind="brand",
            text=f'"{brand.lower()}" OR #{tag}',
        )  # fmt: skip
    return Replay(channel=channel, account=account, listen=listen)
