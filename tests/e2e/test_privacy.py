"""A person's data request in a real browser: from the customer's page to the export and the
erasure, with the wrong confirmation refused in place (docs/privacy.md)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from portevoix.core import demo
from portevoix.inbox.models import Customer, InboundMessage
from tests.e2e.conftest import Browse, login, visit, watch_of
from tests.e2e.test_accessibility import dangling, violations

SLUG = demo.SLUG


def test_a_manager_exports_then_erases_a_customers_data(browse: Browse, demo_site: Any) -> None:
    customer = Customer.objects.filter(workspace__slug=SLUG).order_by("-message_count").first()
    assert customer is not None
    handle = customer.handle
    page = browse.page("desktop")
    login(page, "sophie@lumiere.demo", demo.PASSWORD)
    visit(page, f"/w/{SLUG}/inbox/customers/{customer.pk}/")
    page.get_by_role("link", name="Ses données personnelles : exporter ou effacer").click()
    expect(page.locator("main h1")).to_have_text("Données personnelles")
    expect(page.locator("#id_handle").first).to_have_value(handle)
    held = page.locator("section", has=page.locator("#held-title"))
    expect(held.get_by_role("row", name=re.compile("Messages qu’elle a écrits"))).to_be_visible()
    assert not violations(page) + dangling(page)

    with page.expect_download() as download:
        held.get_by_role("link", name="Tout télécharger (JSON)").click()
    document = json.loads(Path(download.value.path()).read_text(encoding="utf-8"))
    assert document["handle"] == handle and document["conversations"]

    with watch_of(page).expect_status(400):
        held.get_by_label("Retapez l’identifiant pour confirmer").fill("quelqu-un-d-autre")
        held.get_by_role("button", name="Effacer définitivement").click()
    expect(
        held.get_by_text("Ce n’est pas le même identifiant\u00a0: rien n’a été effacé.")
    ).to_be_visible()
    assert not violations(page) + dangling(page)  # the error is tied to its field
    assert InboundMessage.objects.filter(customer=customer).exists()

    held.get_by_label("Retapez l’identifiant pour confirmer").fill(f"@{handle}")
    held.get_by_role("button", name="Effacer définitivement").click()
    expect(page.get_by_text(re.compile("Effacé définitivement"))).to_be_visible()
    expect(
        page.get_by_text(re.compile("Les données de cette personne ont été effacées le"))
    ).to_be_visible()
    expect(page.get_by_text(re.compile("^Rien\u00a0: aucun message"))).to_be_visible()
    assert not Customer.objects.filter(pk=customer.pk).exists()
    history = page.locator("section", has=page.locator("#history-title"))
    expect(history.get_by_text("Données d’une personne effacées · Sandbox")).to_be_visible()
