"""The routing-rule language (English and French), its evaluator and the hiding rule."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from portevoix.care.routing import (
    Actions,
    CompiledRule,
    Facts,
    RuleError,
    Vocabulary,
    check_rule,
    check_tree,
    decide,
    matches,
    normalise_labels,
    parse,
    render,
)

PARIS = ZoneInfo("Europe/Paris")
VOCABULARY = Vocabulary(
    channels={1: "Instagram (sandbox)", 2: "Mastodon", 3: "Boutique"},
    departments={
        "sales": "Ventes",
        "customer_service": "Service client",
        "legal": "Juridique",
        "hr": "RH",
        "communication": "Communication / RP",
    },
)


def facts(**overrides) -> Facts:
    values = {
        "channel_id": 1,
        "network": "sandbox",
        "kind": "comment",
        "language": "fr",
        "sentiment": "neutral",
        "intent": "question",
        "department": "social_team",
        "text": "Bonjour, une question",
        "at": dt.datetime(2026, 6, 10, 10, 0, tzinfo=PARIS),  # a Wednesday
        "zone": PARIS,
        "followers": 120,
        "vip": False,
        "team_open": True,
    }
    values.update(overrides)
    return Facts(**values)


def holds(source: str, **overrides) -> bool:
    return matches(parse(source, VOCABULARY), facts(**overrides))


# --- parsing and showing back -----------------------------------------------------------------

SOURCES = [
    "intent is pricing and language is fr",
    '(intent in complaint, support) and (text contains "commande", colis or text matches "\\d{8}")',
    "followers >= 10 000 or author is vip",
    "time between 18:00 and 23:00 on sat, sun",
    "team is closed and kind is dm",
    'not (channel is "Instagram (sandbox)" or department is not Ventes)',
    "kind not in dm, mention and sentiment is negative",
    'text contains all "remboursement", "commande"',
    "not not intent is spam",
    "network is sandbox and (language in fr, en or followers < 10)",
    "department is social_team",
]
FRENCH = [
    "intention est pricing et langue est fr",
    "(intention parmi complaint, support) et texte contient «numéro de commande»",
    "abonnés >= 10000 ou auteur est vip",
    "heure entre 18h et 23h les sam, dim",
    "équipe est fermée et type est dm",
    "canal hors de Mastodon, Boutique et département n'est pas Ventes",
    "non ton est negative",
    'texte correspond à "\\bsav\\b"',
]


@pytest.mark.parametrize("source", SOURCES + FRENCH)
def test_every_condition_reads_back_the_same_in_both_languages(source: str) -> None:
    tree = parse(source, VOCABULARY)
    for language in ("en", "fr"):
        shown = render(tree, VOCABULARY, language)
        assert parse(shown, VOCABULARY) == tree, (language, shown)


def test_french_and_english_mean_the_same() -> None:
    assert parse("intention est pricing et langue est fr", VOCABULARY) == parse(
        "intent is pricing and language is fr", VOCABULARY
    )
    assert parse("heure entre 18h et 23h les sam, dim", VOCABULARY) == parse(
        "time between 18:00 and 23:00 on sat, sun", VOCABULARY
    )
    assert parse("canal hors de Mastodon", VOCABULARY) == parse(
        "channel not in Mastodon", VOCABULARY
    )


def test_the_tree_is_plain_json_with_ids_for_channels_and_codes_for_departments() -> None:
    tree = parse('channel is "Instagram (sandbox)" and department is "Service client"', VOCABULARY)
    assert tree == {
        "all": [
            {"field": "channel", "op": "in", "value": [1]},
            {"field": "department", "op": "in", "value": ["customer_service"]},
        ]
    }
    # A renamed channel shows its new name.
    renamed = Vocabulary(channels={1: "Instagram"}, departments=VOCABULARY.departments)
    assert render(tree, renamed, "en") == 'channel is Instagram and department is "Service client"'


def test_and_binds_tighter_than_or_and_parentheses_nest() -> None:
    assert parse("intent is spam or intent is hr and language is fr", VOCABULARY) == {
        "any": [
            {"field": "intent", "op": "in", "value": ["spam"]},
            {
                "all": [
                    {"field": "intent", "op": "in", "value": ["hr"]},
                    {"field": "language", "op": "in", "value": ["fr"]},
                ]
            },
        ]
    }
    nested = "((intent is spam or (language is en and not kind is dm)) and followers > 5)"
    assert render(parse(nested, VOCABULARY), VOCABULARY) == (
        "(intent is spam or language is en and not kind is dm) and followers > 5"
    )


def test_an_empty_condition_holds_for_every_message() -> None:
    assert parse("  ", VOCABULARY) == {"all": []}
    assert matches({"all": []}, facts())


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("intent is prix", "“prix” is not a known intent"),
        ("intent", "stops too early"),
        ("a or b", "At “a” (character 1): expected a field"),
        ('text matches "("', "is not valid"),
        ("followers > abc", "expected a number"),
        ("(intent is spam", "expected “)”"),
        ("channel is Facebook", "no channel called “Facebook”"),
        ("department is Marketing", "no department called “Marketing”"),
        ("time between 10:00 and 10:00", "the two times are the same"),
        ("time between 10:00 and 25:00", "time of day"),
        ("intent is spam language is fr", "expected “and”, “or” or the end"),
        ("intent is spam and", "stops too early"),
        ("text matches commande", "between quotes"),
        ("time between 8:00 and 9:00 on someday", "expected a day"),
        ("intent is spam ; drop table", "Unexpected"),
    ],
)
def test_mistakes_are_refused_with_where_and_why(source: str, says: str) -> None:
    with translation.override("en"), pytest.raises(RuleError, match=re.escape(says)):
        parse(source, VOCABULARY)


def test_mistakes_are_explained_in_french_too() -> None:
    with translation.override("fr"), pytest.raises(RuleError) as caught:
        parse("intention est prix", VOCABULARY)
    assert "n’est pas" in caught.value.message or "n'est pas" in caught.value.message


def test_a_very_large_condition_is_refused() -> None:
    huge = " or ".join(["kind is dm"] * 120)
    with pytest.raises(RuleError, match="too large"):
        parse(huge, VOCABULARY)
    with pytest.raises(RuleError, match="at most"):
        parse("text contains " + "a" * 2100, VOCABULARY)


def test_stored_trees_are_checked_again() -> None:
    good = parse(SOURCES[1], VOCABULARY)
    assert check_tree(good, VOCABULARY) == good
    for bad in (
        {"field": "intent", "op": "in", "value": ["nope"]},
        {"field": "channel", "op": "in", "value": [99]},
        {"field": "followers", "op": ">=", "value": "many"},
        {"field": "text", "op": "matches", "value": "("},
        {"all": "x"},
        {"not": {"field": "team", "op": "is", "value": "maybe"}},
        {"field": "time", "op": "between", "value": {"from": 10, "to": 10}},
        [],
    ):
        with pytest.raises(RuleError):
            check_tree(bad, VOCABULARY)


# --- evaluation: each condition -----------------------------------------------------------------


def test_channel_network_kind_language_sentiment_intent() -> None:
    assert holds('channel is "Instagram (sandbox)"')
    assert not holds("channel is Mastodon")
    assert holds("channel not in Mastodon, Boutique")
    assert holds("network is sandbox")
    assert holds("kind is dm", kind="dm") and not holds("kind is dm")
    assert holds("language in fr, en") and not holds("language is en")
    assert holds("sentiment is negative", sentiment="negative")
    assert holds("intent is pricing", intent="pricing")
    assert holds("intent is not pricing")


def test_keywords_match_whole_words_without_case_or_accents() -> None:
    text = "Où est ma COMMANDE n°12345678 ? Délai dépassé !"
    assert holds("text contains commande", text=text)
    assert holds('text contains "delai depasse"', text=text)
    assert holds('text contains "Délai dépassé"', text=text)
    assert not holds("text contains command", text=text)  # a whole word, not a prefix
    assert holds("text contains all commande, delai", text=text)
    assert not holds("text contains all commande, remboursement", text=text)
    assert holds("text contains remboursement, commande", text=text)


def test_patterns_search_the_text_as_written() -> None:
    text = "Commande 12345678 jamais reçue"
    assert holds('text matches "\\d{8}"', text=text)
    assert holds('text matches "JAMAIS re.ue"', text=text)  # case-insensitive
    assert not holds('text matches "^reçue"', text=text)


def test_a_pattern_that_runs_away_counts_as_not_matching() -> None:
    tree = {"field": "text", "op": "matches", "value": "(a+)+b"}
    assert matches(tree, facts(text="a" * 40 + "c")) is False


def test_followers_and_vip_authors() -> None:
    assert holds("followers >= 10000", followers=25_000)
    assert not holds("followers >= 10000", followers=9_999)
    assert holds("followers < 10", followers=3)
    assert not holds("followers < 10", followers=None)  # unknown: never matches a number
    assert holds("author is vip", vip=True) and holds("author is not vip")


def test_time_of_day_in_the_team_zone_with_days() -> None:
    saturday_night = dt.datetime(2026, 6, 13, 21, 0, tzinfo=PARIS)
    assert holds("time between 18:00 and 23:00 on sat, sun", at=saturday_night)
    assert not holds("time between 18:00 and 23:00 on mon", at=saturday_night)
    assert holds("time between 18:00 and 23:00", at=saturday_night.astimezone(dt.UTC))
    assert not holds("time between 18:00 and 21:00", at=saturday_night)  # the end is excluded
    # Across midnight: Saturday 01:00 belongs to Friday's night.
    early = dt.datetime(2026, 6, 13, 1, 0, tzinfo=PARIS)
    assert holds("time between 22:00 and 06:00 on fri", at=early)
    assert not holds("time between 22:00 and 06:00 on sat", at=early)


def test_team_open_or_closed_is_asked_only_when_needed() -> None:
    asked: list[bool] = []

    def closed() -> bool:
        asked.append(True)
        return False

    assert not holds("intent is spam and team is closed", team_open=closed)
    assert asked == []
    assert holds("team is closed", team_open=closed)
    assert holds("team is not open", team_open=False)


# --- decisions: order, overrides, stop ------------------------------------------------------------


def rule(pk: int, source: str, stop: bool = False, **actions) -> CompiledRule:
    return CompiledRule(
        id=pk,
        name=f"rule {pk}",
        conditions=parse(source, VOCABULARY),
        actions=Actions.from_json(actions),
        stop=stop,
    )


def test_rules_apply_in_order_and_later_ones_override() -> None:
    rules = [
        rule(1, "intent is pricing", department="sales", priority="normal", labels=["prix"]),
        rule(2, "followers >= 10000", priority="high", labels=["influence"]),
        rule(3, "department is sales and language is en", department="communication"),
    ]
    decision = decide(rules, facts(intent="pricing", followers=50_000))
    assert decision.department == "sales"
    assert decision.priority == "high"
    assert decision.labels == ["prix", "influence"]
    assert [m[0] for m in decision.matched] == [1, 2]
    assert decision.triage_department == "social_team" and decision.overridden
    # The third rule sees the department an earlier rule set.
    english = decide(rules, facts(intent="pricing", language="en"))
    assert english.department == "communication"
    assert decision.trace()[0] == {
        "rule": 1,
        "name": "rule 1",
        "set": {"department": "sales", "priority": "normal", "labels": ["prix"]},
    }


def test_a_rule_marked_stop_ends_the_list() -> None:
    rules = [
        rule(1, "author is vip", stop=True, priority="urgent", escalate=True),
        rule(2, "", priority="low"),
    ]
    assert decide(rules, facts(vip=True)).priority == "urgent"
    assert decide(rules, facts(vip=True)).escalate
    assert decide(rules, facts()).priority == "low"


def test_no_rule_leaves_triage_as_it_was() -> None:
    decision = decide([], facts(department="customer_service"))
    assert decision.department == "customer_service" and not decision.overridden
    assert decision.matched == [] and not decision.hide


# --- hiding is for spam and abuse only --------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "sentiment is negative",
        "intent is spam and sentiment is negative",
        "text contains idiot and not sentiment is positive",
        "ton est negative",
    ],
)
def test_a_rule_that_would_hide_by_tone_is_refused(source: str) -> None:
    with translation.override("en"), pytest.raises(RuleError, match="hides by tone") as caught:
        check_rule(parse(source, VOCABULARY), Actions(hide=True))
    assert caught.value.field == "hide"


@pytest.mark.parametrize(
    "source",
    [
        "",
        "channel is Mastodon",
        "intent is complaint",
        "intent in spam, complaint",
        "intent is spam or channel is Mastodon",
        "not intent is question",
    ],
)
def test_a_rule_that_would_hide_more_than_spam_or_abuse_is_refused(source: str) -> None:
    with translation.override("en"), pytest.raises(RuleError, match="spam and abuse only"):
        check_rule(parse(source, VOCABULARY), Actions(hide=True))


@pytest.mark.parametrize(
    "source",
    [
        "intent is spam",
        "intent is spam and channel is Mastodon",
        'text contains "casino", "crypto gratuit"',
        '(intent is spam or text matches "https?://bit\\.ly") and kind is comment',
    ],
)
def test_hiding_spam_and_abuse_is_allowed(source: str) -> None:
    check_rule(parse(source, VOCABULARY), Actions(hide=True))


def test_a_rule_needs_an_action_and_a_hidden_message_gets_no_reply() -> None:
    with pytest.raises(RuleError, match="at least one action"):
        check_rule(parse("intent is spam", VOCABULARY), Actions())
    with pytest.raises(RuleError, match="no automatic reply"):
        check_rule(
            parse("intent is spam", VOCABULARY), Actions(hide=True, auto_reply={"fr": "Merci"})
        )


def test_labels_are_cleaned() -> None:
    assert normalise_labels("#VIP, prix ;  prix\n, influence  ") == ("VIP", "prix", "influence")
    assert normalise_labels(["a" * 60]) == ("a" * 40,)
