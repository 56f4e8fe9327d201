"""Every action the code writes to the audit log has a name in each language: the log, the
dashboard's recent activity and the exports never show a bare code such as
``approval.request``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.utils import translation

from portevoix.core.actions import AUDIT_ACTION_LABELS
from portevoix.core.templatetags.portevoix import audit_label

SOURCE = Path(__file__).resolve().parents[2] / "portevoix"
#: ``audit.record("code", ...)``, the code on the call's line or the next.
_RECORDED = re.compile(r"\baudit\.record\(\s*\"([a-z_0-9]+(?:\.[a-z_0-9]+)+)\"")


def recorded_codes() -> dict[str, str]:
    codes: dict[str, str] = {}
    for path in SOURCE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        for match in _RECORDED.finditer(path.read_text(encoding="utf-8")):
            codes.setdefault(match.group(1), str(path.relative_to(SOURCE)))
    return codes


def test_the_scan_finds_the_codes() -> None:
    codes = recorded_codes()
    assert len(codes) > 150
    assert "approval.request" in codes and "crisis.open" in codes


@pytest.mark.parametrize("language", ["en", "fr"])
def test_every_recorded_action_has_a_label(language: str) -> None:
    missing = {c: p for c, p in recorded_codes().items() if c not in AUDIT_ACTION_LABELS}
    assert not missing, missing
    with translation.override(language):
        shown = {code: str(audit_label(code)) for code in recorded_codes()}
    assert all(label != code for code, label in shown.items())
    if language == "fr":
        untranslated = {c: s for c, s in shown.items() if s == AUDIT_ACTION_LABELS[c]}
        assert not untranslated, untranslated
