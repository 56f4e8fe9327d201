"""Issue 16: the five kinds of error of the first pass, context, and taught routes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from portevoix.triage import engine
from portevoix.triage.engine import CorrectionExample, Pipeline, TriageInput, label_batch
from portevoix.triage.labels import Department, Field, Intent, Sentiment

PARTNERSHIP = json.loads((Path(__file__).parent / "data" / "partnership.json").read_text("utf-8"))


def one(text: str, **context: str) -> object:
    (result,) = label_batch([TriageInput(text, **context)])
    return result


# -- §1 the five kinds of error ---------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "Love how my next-day delivery is now on day 6. Truly impressive 👏",
        "Bravo pour la livraison express en 9 jours, vraiment du grand art 👏",
    ],
)
def test_irony_is_not_read_literally(text):
    result = one(text)
    assert result.intent is Intent.COMPLAINT
    assert result.sentiment is Sentiment.NEGATIVE
    assert result.department is not Department.SOCIAL_TEAM or not result.specific


@pytest.mark.parametrize(
    "text",
    [
        "I was sure it was another overhyped cream, but two weeks in my skin is better",
        "J'étais sûre que c'était encore une crème surcotée, mais après deux semaines ma peau "
        "va mieux",
    ],
)
def test_praise_that_concedes_a_doubt_is_praise(text):
    result = one(text)
    assert result.intent is Intent.PRAISE
    assert result.sentiment is Sentiment.POSITIVE
    assert result.department is Department.SOCIAL_TEAM


@pytest.mark.parametrize(
    ("text", "department", "sentiment"),
    [
        ("take it down or I'm filing a complaint", Department.LEGAL, Sentiment.NEGATIVE),
        ("retirez cette photo ou je porte plainte", Department.LEGAL, Sentiment.NEGATIVE),
        (
            "Bonjour, comment exercer mon droit d'accès RGPD à mes données ?",
            Department.LEGAL,
            Sentiment.NEUTRAL,
        ),
        (
            "Honteux, trois relances pour ma candidature et toujours rien",
            Department.HR,
            Sentiment.NEGATIVE,
        ),
    ],
)
def test_rules_decide_the_route_never_the_tone(text, department, sentiment):
    result = one(text)
    assert result.department is department
    assert result.sentiment is sentiment


def test_a_rule_match_keeps_the_models_sentiment():
    """Two texts matching the same rule get different tones: the rule set none of them."""
    calm, angry = label_batch(
        [
            TriageInput("Bonjour, je voudrais exercer mon droit à l'oubli RGPD"),
            TriageInput("Scandaleux, effacez mes données RGPD immédiatement ou je porte plainte"),
        ]
    )
    assert calm.department is angry.department is Department.LEGAL
    assert calm.sentiment_score > angry.sentiment_score
    assert angry.sentiment is Sentiment.NEGATIVE


@pytest.mark.parametrize(
    "text",
    [
        "can I find your sets at Boots?",
        "on trouve vos coffrets chez Sephora ?",
        "is the travel size sold at Tesco?",
        "Votre gel douche est vendu chez Monoprix ?",
    ],
)
def test_a_shops_name_is_not_the_press(text):
    result = one(text)
    assert result.department is Department.SALES
    assert result.intent is Intent.PURCHASE


@pytest.mark.parametrize(
    ("text", "department"),
    [
        ("why is my refund still not here after 3 weeks?", Department.CUSTOMER_SERVICE),
        ("pourquoi mon remboursement n'est toujours pas arrivé ?", Department.CUSTOMER_SERVICE),
        ("why do your prices go up every single month??", Department.SOCIAL_TEAM),
        (
            "I applied for the store manager job a month ago and NOBODY has answered, "
            "this is a joke",
            Department.HR,
        ),
        (
            "J'ai postulé il y a un mois pour le poste de vendeuse et toujours aucune réponse, "
            "c'est honteux",
            Department.HR,
        ),
    ],
)
def test_routed_by_subject_not_by_tone(text, department):
    result = one(text)
    assert result.department is department
    if department is not Department.HR:
        assert result.intent is Intent.COMPLAINT


@pytest.mark.parametrize(
    "text",
    [
        # The sandbox world's own phrasings (the demo's inbox and listening show them).
        "vous conseillez quoi entre ces deux crèmes ?",
        "Merci, et pour les peaux grasses vous conseillez quoi ?",
        # Paraphrases that are not among the training examples.
        "Quel produit me conseilleriez-vous contre les rides ?",
        "Vous me recommandez lequel pour une peau qui tiraille ?",
        "which serum would you recommend for oily skin?",
        "what do you suggest between the two moisturisers?",
        "Which of your trainers would you pick for flat feet?",
    ],
)
def test_a_product_advice_question_is_not_a_job_application_nor_praise(text):
    """« Conseiller » is a job title and « recommander » is what praise says; a customer
    asking which product to choose is a question before buying (social team or sales)."""
    result = one(text)
    assert result.intent in {Intent.QUESTION, Intent.PURCHASE}
    assert result.department in {Department.SOCIAL_TEAM, Department.SALES}


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("Vous recrutez des conseillers de vente pour la boutique de Rennes ?", Intent.HR),
        ("I'd recommend this shop to anyone, lovely staff", Intent.PRAISE),
        ("Je recommande les yeux fermés, la crème a changé ma peau", Intent.PRAISE),
    ],
)
def test_the_same_words_keep_their_other_meanings(text, intent):
    assert one(text).intent is intent


@pytest.mark.parametrize(
    "text",
    [
        "J'ai eu des rougeurs après 2 jours avec le sérum Éclat, je suis très déçue",
        "Très déçue de la crème de nuit, aucun effet",
        "really disappointed with the serum, it did nothing",
        "Got a rash after two days with the night cream, so disappointed",
    ],
)
def test_disappointment_stays_a_complaint(text):
    """Taught praise that denies a disappointment (« jamais déçue ») once turned plain
    disappointment into praise: the hashed words cannot see the negation's scope."""
    result = one(text)
    assert result.intent is Intent.COMPLAINT
    assert result.sentiment is Sentiment.NEGATIVE


# -- §2 context -------------------------------------------------------------------------------

PROMOTION = "-30 % sur toute la collection d'hiver ce week-end seulement, code HIVER30 !"
PROMOTION_EN = "This weekend only: 30% off the whole winter range with code WINTER30"
COMPLAINT = "My order never arrived and nobody answers my emails"
COMPLAINT_FR = "Ma commande n'est jamais arrivée et personne ne répond à mes mails"


@pytest.mark.parametrize(
    ("text", "parent"), [("yes please!", PROMOTION_EN), ("oui svp !!", PROMOTION)]
)
def test_yes_please_under_a_promotion_is_a_purchase(text, parent):
    alone = one(text)
    under_post = one(text, parent_text=parent, parent_kind="post")
    assert alone.department is not Department.SALES
    assert under_post.department is Department.SALES
    assert under_post.intent is Intent.PURCHASE


@pytest.mark.parametrize(
    ("text", "parent"), [("same here", COMPLAINT), ("pareil pour moi", COMPLAINT_FR)]
)
def test_same_here_under_a_complaint_is_a_complaint(text, parent):
    alone = one(text)
    under = one(text, parent_text=parent, parent_kind="comment")
    assert alone.intent is not Intent.COMPLAINT
    assert under.intent is Intent.COMPLAINT
    assert under.sentiment is Sentiment.NEGATIVE


def test_a_message_that_stands_alone_keeps_its_labels():
    text = "How much is the family pack with the two extra controllers?"
    assert one(text, parent_text=COMPLAINT, parent_kind="comment") == one(text)


def test_a_negative_reply_under_a_promotion_is_not_a_purchase():
    result = one("nope, still too expensive", parent_text=PROMOTION_EN, parent_kind="post")
    assert result.intent is not Intent.PURCHASE


def test_a_private_message_is_more_likely_specific():
    text = "the blender I bought is already making a weird noise"
    public, private = label_batch([TriageInput(text, kind="comment"), TriageInput(text, kind="dm")])
    assert private.specific_confidence > public.specific_confidence


def test_the_channel_weighs_on_the_intent():
    text = "any openings in your Lyon team?"
    elsewhere, linkedin = label_batch(
        [TriageInput(text, channel="instagram"), TriageInput(text, channel="linkedin")]
    )
    assert linkedin.intent_confidence >= elsewhere.intent_confidence or (
        linkedin.intent is Intent.HR
    )
    assert linkedin.department is Department.HR


# -- §5 learning from corrections ---------------------------------------------------------------


def test_ten_corrections_teach_a_route_to_new_paraphrases():
    corrections = [
        CorrectionExample(text, Field.DEPARTMENT, Department.COMMUNICATION.value)
        for text in PARTNERSHIP["corrections"]
    ]
    paraphrases = PARTNERSHIP["paraphrases"]
    assert not set(paraphrases) & set(PARTNERSHIP["corrections"])
    pipeline = Pipeline()
    inputs = [TriageInput(t) for t in paraphrases]
    before = pipeline.label(inputs)
    after = pipeline.label(inputs, workspace_examples=corrections)
    right = sum(r.department is Department.COMMUNICATION for r in after) / len(after)
    right_before = sum(r.department is Department.COMMUNICATION for r in before) / len(before)
    assert right >= 0.90, right
    assert right > right_before
    # Ordinary messages keep their own route.
    others = pipeline.label(
        [TriageInput(t) for t, _dept in PARTNERSHIP["others"]], workspace_examples=corrections
    )
    assert [r.department.value for r in others] == [d for _t, d in PARTNERSHIP["others"]]


def test_two_corrections_are_not_a_taught_route():
    """Below ``TAUGHT_MIN`` corrections only near-duplicates and close paraphrases change."""
    texts = PARTNERSHIP["corrections"][:2]
    corrections = [
        CorrectionExample(text, Field.DEPARTMENT, Department.COMMUNICATION.value) for text in texts
    ]
    pipeline = Pipeline()
    items = PARTNERSHIP["paraphrases"]
    closest = (pipeline.embed(items) @ pipeline.embed(texts).T).max(axis=1)
    before = pipeline.label([TriageInput(t) for t in items])
    after = pipeline.label([TriageInput(t) for t in items], workspace_examples=corrections)
    far = [i for i in range(len(items)) if closest[i] < engine.EMBEDDING_OVERRIDE]
    assert len(far) >= 10
    assert [after[i] for i in far] == [before[i] for i in far]
