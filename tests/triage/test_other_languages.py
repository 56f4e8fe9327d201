"""The fast model only learnt French and English: other languages go to the embedding model."""

from __future__ import annotations

from portevoix.triage.engine import TriageInput, label_batch


def test_other_languages_are_embedded_french_and_english_may_not_be():
    results = label_batch(
        [
            TriageInput(text="¿Cuánto cuesta el cofre de Navidad? ¿Hay descuento?"),
            TriageInput(text="Wie viel kostet das Geschenkset? Gibt es einen Rabatt?"),
            TriageInput(text="Combien coûte le coffret de Noël ? Il y a une promo ?"),
        ]
    )
    assert results[0].language.value == "es" and results[0].decided_by in {"embedding", "rules"}
    assert results[1].language.value == "de" and results[1].decided_by in {"embedding", "rules"}
    assert results[2].language.value == "fr" and results[2].decided_by == "fast"
    assert [r.department.value for r in results] == ["sales", "sales", "sales"]
