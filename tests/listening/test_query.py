"""The query language: what parses, what does not and where the mistake is; the matcher."""

from __future__ import annotations

import pytest
from django.utils import translation
from hypothesis import given, settings
from hypothesis import strategies as st

from portevoix.listening.matcher import Matcher
from portevoix.listening.query import (
    And,
    Or,
    QuerySyntaxError,
    fold,
    parse,
    to_text,
)


def matches(query: str, text: str, language: str = "fr", author: str = "someone") -> bool:
    return bool(Matcher([("q", parse(query))]).match(text, language, author))


def test_fold_decides_accents_case_and_boundaries() -> None:
    assert fold("Café CRÈME, l’œuf #SkinCare @Lumière") == (
        " cafe creme l oeuf # skincare @ lumiere "
    )
    # café and cafe match each other, in both directions.
    assert matches("café", "un cafe svp")
    assert matches("cafe", "un café svp")
    assert matches("Lumière", "LUMIERE !!")


def test_whole_words_only_unless_prefix() -> None:
    assert not matches("lumi", "lumière")
    assert matches("lumi*", "lumière")
    assert not matches("serum", "serums")
    assert matches("e-commerce", "le e commerce")


def test_phrases_and_hashtags() -> None:
    assert matches('"lumière cosmétiques"', "J'adore Lumiere Cosmetiques !")
    assert not matches('"lumière cosmétiques"', "cosmétiques lumière")
    assert matches("#skincare", "ma routine #SkinCare")
    assert not matches("#skincare", "skincare sans hashtag")
    assert matches("skincare", "ma routine #skincare")  # a word finds its hashtag


def test_boolean_operators_and_precedence() -> None:
    query = "sérum éclat OR baume -cerise"
    assert matches(query, "le sérum éclat")
    assert matches(query, "un baume")
    assert not matches(query, "le baume cerise")
    assert not matches(query, "le sérum seul")
    assert isinstance(parse("a b OR c"), Or)
    assert isinstance(parse("a OR b c").children[1], And)  # type: ignore[union-attr]
    assert matches("(rosée OR peau) NOT promo", "Rosée Paris")
    assert not matches("(rosée OR peau) NOT promo", "Rosée promo")


def test_proximity() -> None:
    assert matches('"livraison retard"~3', "livraison encore en retard")
    assert matches('"livraison retard"~3', "retard de livraison")  # any order
    assert not matches('"livraison retard"~3', "la livraison a encore un énorme retard")
    assert matches("lumière NEAR/2 prix", "Lumière, quel prix")
    assert matches('"sérum éclat" NEAR/1 prix', "le sérum éclat au prix fort")
    assert not matches('"sérum éclat" NEAR/1 prix', "le sérum éclat est vendu à un prix fort")


def test_filters() -> None:
    assert matches("serum lang:fr", "serum", language="fr")
    assert not matches("serum lang:fr", "serum", language="en")
    assert not matches("serum -author:@Spam", "serum", author="spam")
    assert matches("serum -author:spam", "serum", author="clara")
    assert matches("serum author:clara", "serum", author="@Clara")


def test_a_language_tag_with_a_region_is_its_language() -> None:
    """Bluesky clients tag posts pt-BR or en-US: lang:pt and lang:en are about them too."""
    assert matches("lumière lang:pt", "lumière", language="pt-BR")
    assert matches("lumière lang:en", "lumière", language="en_US")
    assert not matches("lumière lang:en", "lumière", language="es-US")


@pytest.mark.parametrize("code", ["xx", "zz", "qq", "fra", "pt-XYZ", "e1", "pt-"])
def test_lang_takes_real_language_codes_only(code: str) -> None:
    """Any two letters used to pass (lang:xx then silently found nothing)."""
    with translation.override("en"), pytest.raises(QuerySyntaxError) as caught:
        parse(f"lumière lang:{code}")
    assert caught.value.position == len("lumière ")
    assert "lang:" in caught.value.message
    assert f"“{code}”" in caught.value.message


def test_lang_takes_a_region_and_means_its_language() -> None:
    assert to_text(parse("a lang:pt-BR")) == "(a AND lang:pt)"
    assert to_text(parse("a lang:es-419")) == "(a AND lang:es)"
    assert to_text(parse("a lang:GU")) == "(a AND lang:gu)"  # mangled in the SDK's list
    assert matches("lumière lang:pt-BR", "lumière", language="pt-BR")
    assert matches("lumière lang:pt-BR", "lumière", language="pt")


@pytest.mark.parametrize(
    "query",
    ["https://example.com/offre", "HTTP://example.com/offre", "promo https://example.com/offre"],
)
def test_a_web_address_is_a_term_not_a_filter(query: str) -> None:
    tree = parse(query)  # was: Unknown filter “https:”
    assert "example com offre" in to_text(tree)
    assert matches(query, "Promo ici : https://example.com/offre !")
    assert matches(query, "promo http://example.com/offre")  # with or without the s
    assert matches(query, "promo https://example.com/offre/details")
    assert not matches(query, "promo https://example.com/offres")
    assert not matches(query, "promo https://example.org/offre")


def test_a_post_without_a_language_is_guessed_only_when_a_query_asks() -> None:
    asked: list[str] = []

    def guess(text: str) -> str:
        asked.append(text)
        return "fr"

    french = Matcher([("q", parse("livraison lang:fr"))])
    assert french.match("Ma livraison est en retard", "", "clara", guess) == ["q"]
    assert asked == ["Ma livraison est en retard"]  # the text itself, accents and all
    plain = Matcher([("q", parse("livraison"))])
    assert plain.match("Ma livraison", "", "clara", guess) == ["q"]
    assert len(asked) == 1  # no lang: asked, nothing guessed


@pytest.mark.parametrize(
    ("author", "excluded"),
    [
        ("lumiere_officiel", True),
        ("lumiere_officiel.bsky.social", True),  # Bluesky
        ("lumiere_officiel@mastodon.social", True),  # Mastodon, another instance
        ("@Lumiere_Officiel@piaille.fr", True),
        ("clara.bsky.social", False),
        ("lumiere_officiel_fan@mastodon.social", False),
    ],
)
def test_a_bare_name_leaves_the_account_out_on_every_network(author: str, excluded: bool) -> None:
    """The docs' example, ``-author:lumiere_officiel``: the brand's own posts, whatever network
    wrote its handle with an instance or a domain."""
    assert matches("lumière -author:lumiere_officiel", "lumière", author=author) is not excluded


def test_a_full_handle_names_one_account() -> None:
    query = "lumière -author:lumiere@mastodon.social"
    assert not matches(query, "lumière", author="lumiere@mastodon.social")
    assert matches(query, "lumière", author="lumiere@piaille.fr")
    assert matches("lumière author:clara.bsky.social", "lumière", author="clara.bsky.social")
    assert not matches("lumière author:clara.bsky.social", "lumière", author="clara")


def test_typographic_quotes_are_quotes() -> None:
    """Phones and word processors turn " into “ ” (and French keyboards write « »)."""
    for query in ("“lumière cosmétiques”", "« lumière cosmétiques »", "„lumière cosmétiques“"):
        assert parse(query) == parse('"lumière cosmétiques"'), query
    assert not matches("“lumière cosmétiques”", "cosmétiques de lumière")
    assert matches("“livraison retard”~2", "retard de livraison")


def test_proximity_counts_words_not_the_marks_of_hashtags() -> None:
    assert matches("livraison NEAR/2 retard", "livraison #a b retard")
    assert not matches("livraison NEAR/1 retard", "livraison #a b retard")
    # One word is not two of itself.
    assert not matches("livraison NEAR/1 livraison", "ma livraison")
    assert matches("livraison NEAR/1 livraison", "livraison et livraison")


@pytest.mark.parametrize(
    ("query", "position", "words"),
    [
        ("a AND", 2, "needs a word"),
        ("(a OR b", 0, "never closed"),
        ("a OR b)", 6, "closes nothing"),
        ('x "abc', 2, "never closed"),
        ("NOT a", 0, "without any of its words"),
        ("lang:fr", 0, "without any of its words"),
        ("a foo:bar", 2, "Unknown filter"),
        ("a NEAR b", 2, "NEAR/"),
        ('"a b"~', 5, "after ~"),
        ('"a b"~99', 6, "at most"),
        ("a*b", 1, "only ends a word"),
        ("lu*", 0, "3 letters"),
        ("a ()", 2, "empty"),
        ("a NEAR/3 (b OR c)", 9, "not groups"),
        ("lang:french a", 0, "language code"),
        ("   ", 0, "Write what"),
        ("lumiere OR #", 11, "right after # or @"),
        ("@ lumiere", 0, "right after # or @"),
        ("a ~5", 2, "closing quote"),
        ("« a b", 0, "end the phrase with »"),
        ("a OR OR b", 2, "needs a word"),
    ],
)
def test_errors_point_at_the_mistake(query: str, position: int, words: str) -> None:
    with translation.override("en"), pytest.raises(QuerySyntaxError) as caught:
        parse(query)
    assert caught.value.position == position, caught.value.message
    assert words in caught.value.message
    before, at, after = caught.value.excerpt(query)
    assert before + at + after in (query, query + " ")


# --- property tests ---------------------------------------------------------------------------

WORDS = st.sampled_from(
    ["lumière", "sérum", "éclat", "rosée", "peau", "prix", "livraison", "retard", "#skincare"]
)


def _trees(depth: int = 3) -> st.SearchStrategy[str]:
    leaf = st.one_of(
        WORDS,
        st.lists(WORDS, min_size=2, max_size=3).map(lambda w: '"' + " ".join(w) + '"'),
    )
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.tuples(inner, inner).map(lambda p: f"({p[0]} OR {p[1]})"),
            st.tuples(inner, inner).map(lambda p: f"({p[0]} AND {p[1]})"),
            st.tuples(inner, WORDS).map(lambda p: f"({p[0]} -{p[1]})"),
        ),
        max_leaves=6,
    )


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=60))
def test_any_text_parses_or_fails_with_a_position_inside_it(text: str) -> None:
    try:
        parse(text)
    except QuerySyntaxError as exc:
        assert 0 <= exc.position <= len(text)
        assert exc.message


@settings(max_examples=200, deadline=None)
@given(_trees())
def test_written_back_trees_parse_to_themselves(query: str) -> None:
    tree = parse(query)
    assert parse(to_text(tree)) == tree


@settings(max_examples=150, deadline=None)
@given(_trees(), st.lists(WORDS, max_size=8))
def test_one_automaton_agrees_with_each_query_alone(query: str, words: list[str]) -> None:
    """Matching ten queries at once gives what each query alone gives (no query is skipped
    because another one shares its terms)."""
    text = " ".join(words)
    queries = [query, "lumière", '"sérum éclat" OR prix', "peau -rosée"]
    together = Matcher([(i, parse(q)) for i, q in enumerate(queries)]).match(text, "fr", "x")
    alone = [i for i, q in enumerate(queries) if matches(q, text, "fr", "x")]
    assert together == alone
