"""Stored sentences: written once by any process, read in each reader's language."""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext_noop

from portevoix.core.sentences import Sentence, counted, loads, render

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


def test_a_counted_sentence_takes_the_form_its_number_asks_in_each_language() -> None:
    """ "2 publication(s) retenue(s)" read like a form letter: the number chooses the form,
    in the reader's language (French says 1 for the singular and 0 too, English only 1)."""
    singular = "Publishing paused: %(count)s post held."
    plural = "Publishing paused: %(count)s posts held."
    shown = {}
    for n in (0, 1, 2):
        stored = counted(singular, plural, {"count": n}).dumps()
        for lang in ("fr", "en"):
            with translation.override(lang):
                shown[lang, n] = render(stored)
    assert shown["fr", 1] == "Publication en pause\u00a0: 1 publication retenue."
    assert shown["fr", 2] == "Publication en pause\u00a0: 2 publications retenues."
    assert shown["fr", 0] == "Publication en pause\u00a0: 0 publication retenue."
    assert shown["en", 0] == "Publishing paused: 0 posts held."
    assert shown["en", 1] == "Publishing paused: 1 post held."
    # Stored and read back whole; a sentence stored before plurals existed reads as before.
    again = loads(counted(singular, plural, {"count": 2}).dumps())
    assert again is not None and again.plural == plural and again.number == "count"
    assert loads(Sentence(singular, {"count": "2"}).dumps()) == Sentence(singular, {"count": "2"})
