"""Compliance rules (issue 9 §6): each blocks or warns, with the reason where the text is;
checked live, again at approval and again at send time."""

from __future__ import annotations

import time

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from portevoix.core.actions import ActionRefused
from portevoix.core.models import AuditEntry
from portevoix.publishing import compliance
from portevoix.publishing.approvals import actions as approvals
from portevoix.publishing.approvals.models import ComplianceRule, RuleKind, Severity
from portevoix.publishing.compliance import Unit
from portevoix.publishing.models import Post, Publication
from tests.conftest import ALL_ROLES
from tests.publishing.approvals_helpers import schedule, second_channel, states, waiting
from tests.publishing.conftest import publish_calls, run_publications

pytestmark = pytest.mark.django_db


def rule(team, kind, values, severity=Severity.BLOCK, **extra):
    return compliance.create_rule(
        team.workspace,
        by=team["manager"],
        name=extra.pop("name", f"{kind} {values[:20]}"),
        kind=kind,
        severity=severity,
        values=values,
        **extra,
    )


def check(team, text, channels=(), **extra):
    return compliance.check_draft(team.workspace, text, channels, **extra)


# --- matching ------------------------------------------------------------------------------


def test_banned_words_ignore_case_and_accents_and_respect_word_boundaries(team) -> None:
    rule(team, RuleKind.BANNED, "garanti\nsans risque")
    [found] = check(team, "Un rendement GARANTÌ pour tous")
    assert found.blocks and found.excerpt == "GARANTÌ"
    assert (found.start, found.end) == (13, 20)
    assert "garanti" in found.message
    assert check(team, "Une garantie de deux ans") == []  # another word
    [phrase] = check(team, "Investir   sans\nrisque ?")
    assert phrase.excerpt == "sans\nrisque"


def test_positions_stay_right_after_characters_that_fold_to_two(team) -> None:
    rule(team, RuleKind.BANNED, "promo")
    text = "Straße ﬁne : PROMO !"
    [found] = check(team, text)
    assert text[found.start : found.end] == "PROMO"


def test_a_disclaimer_is_required_only_when_the_topic_comes_up(team) -> None:
    rule(
        team,
        RuleKind.DISCLAIMER,
        "Un crédit vous engage et doit être remboursé.",
        topic="crédit\nprêt",
        message="Code de la consommation, art. L312-5.",
    )
    assert check(team, "Nos nouveaux rouges à lèvres") == []
    [missing] = check(team, "Votre prêt en 24 h")
    assert missing.blocks and missing.excerpt == "prêt"
    assert "L312-5" in missing.message
    ok = "Votre prêt en 24 h. Un credit vous engage et doit etre rembourse."
    assert check(team, ok) == []
    # The disclaimer may sit in the first comment.
    assert (
        check(team, "Votre prêt", first_comment="Un crédit vous engage et doit être remboursé.")
        == []
    )


def test_a_disclaimer_without_topic_is_required_everywhere(team) -> None:
    rule(team, RuleKind.DISCLAIMER, "#pub", severity=Severity.WARN)
    [found] = check(team, "Bonjour")
    assert not found.blocks and not found.located
    assert check(team, "Bonjour #PUB") == []


def test_links_allow_and_deny_lists(team) -> None:
    rule(team, RuleKind.LINK_ALLOW, "lumiere.example\nhttps://shop.example/")
    rule(team, RuleKind.LINK_DENY, "concurrent.example", severity=Severity.WARN)
    assert check(team, "Voir https://www.lumiere.example/velours et https://shop.example.") == []
    findings = check(team, "Voir http://concurrent.example/x, ou www.autre.example")
    kinds = sorted((f.kind, f.severity, f.excerpt) for f in findings)
    assert kinds == [
        ("link_allow", "block", "http://concurrent.example/x"),
        ("link_allow", "block", "www.autre.example"),
        ("link_deny", "warn", "http://concurrent.example/x"),
    ]
    [found] = check(team, "Lien", link="https://autre.example/page")
    assert found.unit == "link"


def test_regular_expressions_match_and_invalid_ones_are_refused(team) -> None:
    rule(team, RuleKind.REGEX, r"\d+\s?%\s+de\s+rendement", name="Rendement chiffré")
    [found] = check(team, "Jusqu'à 12 % de rendement !")
    assert found.excerpt == "12 % de rendement" and "Rendement chiffré" in found.message
    with pytest.raises(ActionRefused, match=r"not valid|pas valide") as refused:
        rule(team, RuleKind.REGEX, r"(unclosed", name="Cassée")
    assert refused.value.field == "values"


def test_a_pattern_that_backtracks_is_refused_when_saved(team) -> None:
    started = time.monotonic()
    with pytest.raises(ActionRefused, match=r"too long|trop de temps"):
        rule(team, RuleKind.REGEX, r"(a+)+$", name="Catastrophe")
    assert time.monotonic() - started < 5


def test_a_slow_pattern_already_saved_cannot_stall_a_check(team) -> None:
    saved = ComplianceRule.objects.create(
        workspace=team.workspace,
        name="Lente",
        kind=RuleKind.REGEX,
        values=r"(x+x+)+y",
        severity=Severity.BLOCK,
    )
    started = time.monotonic()
    [found] = check(team, "x" * 5000)
    assert time.monotonic() - started < 2
    assert found.blocks and found.rule_id == saved.pk and "too long" in found.reason.message


def test_the_brand_guide_points_at_avoided_words(team) -> None:
    compliance.update_brand_guide(
        team.workspace,
        by=team["manager"],
        tone="Chaleureux, précis, jamais moqueur.",
        use_words="soin\nrituel",
        avoid_words="anti-âge\nmiracle",
    )
    [found] = check(team, "Une crème MIRACLE")
    assert found.kind == "brand" and not found.blocks and found.excerpt == "MIRACLE"
    assert compliance.brand_guide(team.workspace).tone.startswith("Chaleureux")


def test_rules_limited_to_some_channels(team, channel) -> None:
    pro = second_channel(team)
    rule(team, RuleKind.BANNED, "lol", channels=[pro])
    assert check(team, "lol", [channel]) == []
    [found] = check(team, "lol", [channel, pro])
    assert found.channel == pro.name


def test_segments_mark_where_the_text_breaks_a_rule(team) -> None:
    rule(team, RuleKind.BANNED, "gratuit")
    text = "C'est gratuit, vraiment gratuit."
    findings = check(team, text)
    pieces = compliance.segments(text, findings)
    assert "".join(p.text for p in pieces) == text
    assert [p.text for p in pieces if p.findings] == ["gratuit", "gratuit"]
    assert all(p.blocks for p in pieces if p.findings)


def test_every_text_of_a_variant_is_checked(team, channel) -> None:
    rule(team, RuleKind.BANNED, "interdit")
    post = Post.objects.create(workspace=team.workspace, text="Propre", author=team["admin"].user)
    publication = Publication.objects.create(
        post=post,
        channel=channel,
        scheduled_at=timezone.now(),
        state="draft",
        first_comment="rien d'interdit",
        thread=[{"text": "ok"}, {"text": "Interdit ici"}],
    )
    units = {f.unit for f in compliance.check_publication(publication)}
    assert units == {"first_comment", "thread:1"}
    labels = {u.key: u.label for u in compliance.publication_units(publication)}
    assert labels["thread:1"] in {"thread part 3", "partie 3 du fil"}


def test_unit_labels() -> None:
    assert Unit("alt:0", "x").label in {"image description 1", "description de l’image 1"}


# --- the three checks: composer, approval, send time -----------------------------------------


def test_a_blocking_rule_refuses_the_post_before_anything_is_saved(team, channel) -> None:
    rule(team, RuleKind.BANNED, "guérit")
    with pytest.raises(ActionRefused) as refused:
        schedule(team, team["content"], [channel], text="Cette crème guérit l'acné")
    assert refused.value.field == "text" and "guérit" in refused.value.message
    assert not Post.objects.exists()


def test_a_warning_lets_the_post_through(team, channel) -> None:
    rule(team, RuleKind.BANNED, "incroyable", severity=Severity.WARN)
    post = schedule(team, team["content"], [channel], text="Un prix incroyable")
    assert states(post) == ["scheduled"]


def test_a_post_that_breaks_a_rule_cannot_be_approved(team, channel) -> None:
    post = schedule(team, team["creative"], [channel], text="Résultat garanti en 7 jours")
    rule(team, RuleKind.BANNED, "garanti")  # the rule came after the request
    [step] = waiting(post)
    with pytest.raises(ActionRefused, match="garanti") as refused:
        approvals.approve(step, by=team["manager"])
    assert refused.value.code == "compliance"
    assert states(post) == ["pending_approval"]
    # Changes may still be requested (or the post rejected).
    approvals.request_changes(step, by=team["manager"], comment="Pas de promesse")
    assert states(post) == ["draft"]


def test_a_rule_added_after_scheduling_rejects_at_send_time(team, account, channel) -> None:
    post = schedule(team, team["content"], [channel], text="Miracle garanti", at=timezone.now())
    rule(team, RuleKind.BANNED, "miracle")
    run_publications()
    assert publish_calls(account) == {}
    publication = Publication.objects.get(post=post)
    assert publication.state == "rejected"
    assert "miracle" in publication.problem.lower()


# --- managing the rules --------------------------------------------------------------------------


@pytest.mark.parametrize("role", ALL_ROLES)
def test_only_managers_and_admins_write_the_rules(team, role) -> None:
    member = team[role]
    calls = [
        lambda: compliance.create_rule(
            team.workspace, by=member, name=f"R {role}", kind=RuleKind.BANNED, values="x"
        ),
        lambda: compliance.update_brand_guide(team.workspace, by=member, tone="Sobre"),
    ]
    for call in calls:
        if role in {"admin", "manager"}:
            call()
        else:
            with pytest.raises(PermissionDenied):
                call()


def test_rules_are_audited_and_validated(team) -> None:
    created = rule(team, RuleKind.BANNED, "a", name="Mots")
    with pytest.raises(ActionRefused):
        rule(team, RuleKind.BANNED, "b", name="mots")  # same name
    with pytest.raises(ActionRefused):
        rule(team, RuleKind.LINK_ALLOW, "pas un site", name="Sites")
    with pytest.raises(ActionRefused):
        rule(team, RuleKind.DISCLAIMER, "  ", name="Vide")
    compliance.update_rule(created, by=team["manager"], severity=Severity.WARN)
    compliance.delete_rule(created, by=team["manager"])
    actions = set(AuditEntry.objects.values_list("action", flat=True))
    assert {"compliance.rule_create", "compliance.rule_update", "compliance.rule_delete"} <= actions


def test_an_outsider_cannot_touch_the_rules(team) -> None:
    from django.http import Http404

    created = rule(team, RuleKind.BANNED, "a")
    with pytest.raises(Http404):
        compliance.delete_rule(created, by=team.outsider)
    assert ComplianceRule.objects.filter(pk=created.pk).exists()
    assert ComplianceRule.objects.visible_to(team.outsider).count() == 0
