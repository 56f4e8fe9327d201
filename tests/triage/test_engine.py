from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from portevoix.triage import engine, features, metrics
from portevoix.triage.engine import (
    CorrectionExample,
    Pipeline,
    TriageInput,
    get_pipeline,
    label_batch,
)
from portevoix.triage.labels import (
    INTENT_TO_DEPARTMENT,
    Department,
    Field,
    Intent,
    Language,
    Sentiment,
    department_for,
)


def test_every_intent_has_a_department():
    assert set(INTENT_TO_DEPARTMENT) == set(Intent)
    assert INTENT_TO_DEPARTMENT[Intent.SPAM] is Department.NONE
    assert INTENT_TO_DEPARTMENT[Intent.PRESS] is Department.COMMUNICATION


def test_answers_in_order_with_every_label():
    texts = [
        "Je vais porter plainte, mon avocat vous contactera",
        "are you hiring in Leeds?",
        "Bonjour, je suis journaliste au Parisien, une interview possible ?",
        "🔥 Buy cheap followers 🔥 link in bio",
    ]
    results = label_batch([TriageInput(t) for t in texts])
    assert [r.intent for r in results] == [Intent.LEGAL, Intent.HR, Intent.PRESS, Intent.SPAM]
    assert [r.department for r in results] == [
        Department.LEGAL,
        Department.HR,
        Department.COMMUNICATION,
        Department.NONE,
    ]
    assert [r.language for r in results[:3]] == [Language.FR, Language.EN, Language.FR]
    for r in results:
        assert 0.0 <= r.confidence <= 1.0
        assert -1.0 <= r.sentiment_score <= 1.0
        assert r.department is INTENT_TO_DEPARTMENT[r.intent]


def test_sentiment_sides():
    neg, pos = label_batch(
        [
            TriageInput("Colis jamais arrivé, service client nul, plus jamais 😡"),
            TriageInput("Merci pour tout, équipe au top, je recommande ❤️"),
        ]
    )
    assert neg.sentiment is Sentiment.NEGATIVE and neg.sentiment_score < 0
    assert pos.sentiment is Sentiment.POSITIVE and pos.sentiment_score > 0


@pytest.mark.parametrize("text", ["👍", "ok", "??", "😂😂"])
def test_too_short_to_tell_is_unknown(text):
    assert get_pipeline().detect_language(text)[0] is Language.UNKNOWN


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("Hola, mi pedido no ha llegado todavía", Language.ES),
        ("Wo bleibt meine Bestellung? Ich warte seit Tagen", Language.DE),
        ("Ciao, non riesco ad accedere al mio account", Language.IT),
        ("Mijn bestelling is nog steeds niet aangekomen", Language.NL),
        ("A minha encomenda ainda não chegou", Language.PT),
        ("merci bcp", Language.FR),
        ("thx so much", Language.EN),
    ],
)
def test_languages(text, lang):
    assert get_pipeline().detect_language(text)[0] is lang


def test_empty_text_is_labelled_without_models():
    (result,) = label_batch([TriageInput("   ")])
    assert result.decided_by == "empty"
    assert result.language is Language.UNKNOWN


def test_deterministic_and_batch_independent():
    texts = ["vous livrez en Suisse ?", "my parcel is late again 🙄", "c'est combien ?"]
    together = [r.to_dict() for r in Pipeline().label([TriageInput(t) for t in texts])]
    alone = [Pipeline().label([TriageInput(t)])[0].to_dict() for t in texts]
    assert together == alone
    assert json.dumps(together)  # serialisable as is


def test_fast_design_never_loads_the_embedding_model():
    pipeline = Pipeline()
    pipeline.label([TriageInput("où est ma commande ?")] * 3, design="fast")
    assert pipeline._embedder is None
    assert pipeline.embedded_items == 0


def test_thorough_design_embeds_every_item_and_mixes_in_the_fast_model():
    # A plain question the cascade finds clear (not embedded), and an unclear one.
    texts = ["Vous livrez en Belgique ?", "bof", "my parcel is late again 🙄"]
    items = [TriageInput(t) for t in texts]
    pipeline = Pipeline(cache_embeddings=False)
    pipeline.label(items, design="cascade")
    embedded_by_cascade = pipeline.embedded_items
    assert embedded_by_cascade < len(texts)
    before = pipeline.embedded_items
    thorough = pipeline.label(items, design="thorough")
    assert pipeline.embedded_items - before == len(texts)
    embedding = pipeline.label(items, design="embedding")
    w = pipeline.thresholds.fast_weight
    assert 0 < w < 1
    fast = pipeline.label(items, design="fast")
    assert all(t.decided_by in {"embedding", "rules"} for t in thorough)
    # Mixed, not the embedding heads alone: a confidence differs from both pure designs.
    assert any(
        t.sentiment_confidence not in (e.sentiment_confidence, f.sentiment_confidence)
        for t, e, f in zip(thorough, embedding, fast, strict=True)
    )


def test_the_tone_has_its_own_weight_when_both_models_answer(tmp_path):
    """``sentiment_weight`` weighs the fast model in the tone, ``fast_weight`` in the
    department: with the fast model alone in the department and the embedding heads alone in
    the tone, ``thorough`` routes as the fast design and reads tone as the embedding design."""
    texts = [
        "bof",
        "my parcel is late again 🙄",
        "Vous livrez en Belgique ?",
        "trop bien ce coffret",
    ]
    items = [TriageInput(t) for t in texts]
    pipeline = Pipeline()
    fast = pipeline.label(items, design="fast")
    embedding = pipeline.label(items, design="embedding")
    pipeline.thresholds = dataclasses.replace(
        pipeline.thresholds, fast_weight=1.0, sentiment_weight=0.0
    )
    thorough = pipeline.label(items, design="thorough")
    for t, f, e in zip(thorough, fast, embedding, strict=True):
        assert t.intent_confidence == pytest.approx(f.intent_confidence, abs=1e-6)
        assert t.sentiment_confidence == pytest.approx(e.sentiment_confidence, abs=1e-6)
    # Unset, the tone takes the department's weight; the shipped file sets its own.
    assert engine.Thresholds(fast_weight=0.7).tone_weight == 0.7
    path = tmp_path / "thresholds.json"
    raw = json.loads(engine.THRESHOLDS_FILE.read_text(encoding="utf-8"))
    path.write_text(json.dumps({**raw, "sentiment_weight": 0.3}), encoding="utf-8")
    assert engine.load_thresholds(path).tone_weight == 0.3
    raw.pop("sentiment_weight", None)
    path.write_text(json.dumps(raw), encoding="utf-8")
    assert engine.load_thresholds(path).tone_weight == raw["fast_weight"]


def test_rules_need_word_boundaries():
    pipeline = Pipeline()
    normalized = features.normalize
    assert pipeline._get_rules().match(normalized("Je vais porter plainte")) is Intent.LEGAL
    # "rgpd" inside another word, "avocat" (also an avocado) alone: no rule.
    assert pipeline._get_rules().match(normalized("xrgpdx")) is None
    assert pipeline._get_rules().match(normalized("un toast à l'avocat svp")) is None


def test_correction_examples_override_near_duplicates_only():
    text = "Vous faites des tote bags en coton bio ?"
    before = label_batch([TriageInput(text)])[0]
    target = Intent.PURCHASE if before.intent is not Intent.PURCHASE else Intent.PRICING
    example = CorrectionExample(text=text, field=Field.INTENT, label=target.value)
    after, other = label_batch(
        [TriageInput("vous faites des tote bags en coton bio ??"), TriageInput("are you hiring?")],
        workspace_examples=[example],
    )
    assert after.intent is target
    assert after.department is INTENT_TO_DEPARTMENT[target]
    assert after.decided_by == "correction"
    assert other.intent is Intent.HR


def test_department_correction_keeps_labels_consistent():
    example = CorrectionExample(
        text="Partenariat avec notre agence ?", field=Field.DEPARTMENT, label="communication"
    )
    (result,) = label_batch(
        [TriageInput("Partenariat avec notre agence ?")], workspace_examples=[example]
    )
    assert result.department is Department.COMMUNICATION
    assert INTENT_TO_DEPARTMENT[result.intent] is Department.COMMUNICATION


def test_metrics():
    assert metrics.accuracy(["a", "b"], ["a", "a"]) == 0.5
    # a: p=1/2 r=1 f=2/3; b: p=0 r=0 f=0
    assert metrics.macro_f1(["a", "b"], ["a", "a"]) == pytest.approx(1 / 3)
    assert metrics.macro_f1(["a"], ["a"]) == 1.0


def test_a_complaint_goes_where_its_specificity_says():
    assert department_for(Intent.COMPLAINT, True) is Department.CUSTOMER_SERVICE
    assert department_for(Intent.COMPLAINT, False) is Department.SOCIAL_TEAM
    assert department_for(Intent.SUPPORT, False) is Department.CUSTOMER_SERVICE
    assert department_for(Intent.PRICING, True) is Department.SALES


def test_a_specific_complaint_to_customer_service_a_general_one_to_the_social_team():
    specific, general, english = label_batch(
        [
            TriageInput("Ma commande n°45821 n'est jamais arrivée, c'est honteux"),
            TriageInput("your new ad is terrible"),
            TriageInput("you charged my card twice for the same order, refund me"),
        ]
    )
    assert specific.intent is Intent.COMPLAINT and specific.specific
    assert specific.department is Department.CUSTOMER_SERVICE
    assert general.intent is Intent.COMPLAINT and not general.specific
    assert general.department is Department.SOCIAL_TEAM
    assert english.specific and english.department is Department.CUSTOMER_SERVICE
    for result in (specific, general, english):
        assert result.department is department_for(result.intent, result.specific)
        assert 0.0 <= result.specific_confidence <= 1.0
        assert {"specific", "specific_confidence"} <= result.to_dict().keys()


@pytest.mark.parametrize(
    "text",
    [
        "toujours rien reçu, commande 558-2210",
        "still nothing, order #40917",
        "écrivez-moi à lea.martin@example.org, c'est inadmissible",
        "call me back on 06 12 34 56 78, this is ridiculous",
    ],
)
def test_an_order_number_an_address_or_a_phone_number_is_specific(text):
    (result,) = label_batch([TriageInput(text)])
    assert result.specific_confidence >= 0.899  # IDENTIFIER_SPECIFIC, in float32


@pytest.mark.parametrize(
    "text",
    [
        "Des démangeaisons après deux jours avec le baume, trop déçue",
        "Got itchy red patches after using the toner, really disappointed",
        "J'ai eu des rougeurs après 2 jours avec le sérum Éclat, je suis très déçue",
        "Votre crème m'a brûlé le visage",
    ],
)
def test_a_product_that_hurt_someone_is_specific_even_said_with_disappointment(text):
    """Issue 16 §3: a product that hurt someone goes to customer service, out of public view.
    « Déçue » is what general complaints say; the harm decides."""
    (result,) = label_batch([TriageInput(text)])
    assert result.intent is Intent.COMPLAINT
    assert result.specific and result.department is Department.CUSTOMER_SERVICE


def test_praise_is_never_specific():
    # A known regression of issue 16's first model (the irony cue read this thanks as a
    # specific complaint); fixed by the second round's training data.
    (result,) = label_batch([TriageInput("Merci pour la commande 45821, reçue en 2 jours, top !")])
    assert not result.specific


def test_a_batch_is_featurized_as_its_texts_one_by_one():
    """featurize sorts a whole batch at once (for speed); each row must stay its own text's."""
    texts = ["Où est ma commande ??", "", "😂😂", "love it, but the lid leaks", "Ça coûte combien"]
    batch = features.featurize(texts)
    for i, text in enumerate(texts):
        one = features.featurize([text])
        lo, hi = batch.indptr[i], batch.indptr[i + 1]
        assert batch.indices[lo:hi].tolist() == one.indices.tolist()
        assert np.allclose(batch.values[lo:hi], one.values)
        assert one.values.size == 0 or abs(float(np.linalg.norm(one.values)) - 1.0) < 1e-5
    again = features.featurize([features.normalize(t) for t in texts], normalized=True)
    assert again.indices.tolist() == batch.indices.tolist()
