"""Stored sentences: written once by any process, read in each reader's language."""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext_noop

from portevoix.core.sentences import Sentence, loads, render

# Messages of the catalog (so that French exists for them).
SAVED = gettext_noop("Settings saved.")
REFUSED = "%(network)s refused it: “%(detail)s”"


def test_a_sentence_is_stored_as_its_english_original_and_rendered_per_reader() -> None:
    stored = Sentence(SAVED).dumps()
    assert loads(stored) == Sentence(SAVED)
    with translation.override("fr"):
        assert render(stored) == "Réglages enregistrés."
    with translation.override("en"):
        assert render(stored) == "Settings saved."


def test_a_sentence_inside_another_is_rendered_too() -> None:
    inner = Sentence(SAVED)
    outer = Sentence(REFUSED, {"network": "Bluesky", "detail": inner}).dumps()
    with translation.override("fr"):
        assert render(outer) == "Bluesky a refusé\u00a0: «\u00a0Réglages enregistrés.\u00a0»"


def test_plain_text_and_broken_json_are_shown_as_they_are() -> None:
    assert render("Could not reach the server.") == "Could not reach the server."
    assert render('{"sentence": ') == '{"sentence": '
    assert render('{"sentence": 3}') == '{"sentence": 3}'
    assert loads("{}") is None


def test_a_missing_parameter_does_not_hide_the_sentence() -> None:
    stored = Sentence(REFUSED, {"network": "Bluesky"}).dumps()
    with translation.override("fr"):
        assert render(stored) == REFUSED
