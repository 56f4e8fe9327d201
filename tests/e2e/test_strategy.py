"""Issue 13's "Done when" in a real browser: the strategy page shows the canvas, goals,
channel levels and KPI targets; the responsibility matrix drives the rota's default person;
an ambassador proposes an idea and shares an approved post; the policy's acknowledgements
are tracked; in French and in English.

Elements are found by URL, name, id and data attributes, not by translated wording (the
canvas, KPI and post texts are the team's own words).
"""

from __future__ import annotations

import re

from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from portevoix.core.models import Member
from portevoix.core.permissions import Role
from portevoix.publishing.models import Idea, Post, Publication
from portevoix.strategy import actions
from portevoix.strategy.models import PolicyAcknowledgement, ShareRequest
from tests.care.conftest import connect
from tests.conftest import Team, make_user
from tests.e2e.conftest import Browse, login, visit, watch_of


def _submit(page: Page, selector: str) -> None:
    with page.expect_navigation():
        page.locator(selector).click()


def _strategy(team: Team) -> None:
    manager = team["manager"]
    actions.save_canvas(team.workspace, by=manager, market="Cosmétiques bio en Belgique")
    (goal,) = actions.set_goals(team.workspace, by=manager, codes=["leads"])
    channel = connect(team, "acme-linkedin")
    actions.set_channel_strategy(channel, by=manager, level="proactive", goals=[goal])
    actions.add_kpi(goal, by=manager, metric="leads", target=40, period="month", channel=channel)
    post = Post.objects.create(
        workspace=team.workspace, text="Nos recettes d'hiver", author=team["content"].user
    )
    Publication.objects.create(
        post=post,
        channel=channel,
        scheduled_at=timezone.now(),
        state="published",
        published_at=timezone.now(),
        url="https://sandbox.example/p/hiver",
    )
    actions.publish_policy(team.workspace, by=manager, text="Soyez courtois.")


def test_strategy_matrix_ambassadors_and_policy(live_team: Team, browse: Browse) -> None:
    team = live_team
    _strategy(team)
    hr = Member.objects.create(
        workspace=team.workspace,
        user=make_user("helene@acme.test", "Hélène RH"),
        role=Role.AGENT,
        department=team.department("hr"),
    )
    ws = team.workspace.slug

    # The manager, in French: the strategy page shows the canvas, goals, levels, KPI targets.
    manager = browse.page("manager")
    login(manager, "manager@acme.test")
    expect(manager.locator("html")).to_have_attribute("lang", "fr")
    visit(manager, reverse("strategy", args=[ws]))
    body = manager.locator("main")
    expect(body).to_contain_text("Cosmétiques bio en Belgique")
    expect(body).to_contain_text("acme-linkedin")
    expect(body).to_contain_text("40")

    # The matrix drives the rota: the content marketer responsible for webcare is the new
    # shift's default person.
    visit(manager, reverse("strategy_matrix", args=[ws]))
    content = team["content"]
    manager.select_option(f"#cell_{content.pk}_webcare", "responsible")
    _submit(manager, "button[form=matrix-form]")
    visit(manager, reverse("care_rota", args=[ws]))
    expect(manager.locator("select[name=member]")).to_have_value(str(content.pk))

    # The manager names HR's agent ambassador for LinkedIn and suggests the published post.
    visit(manager, reverse("strategy_ambassadors", args=[ws]))
    manager.select_option("#id_name-member", str(hr.pk))
    manager.locator("input[name=name-networks][value=linkedin]").check()
    _submit(manager, "#name button[type=submit]")
    expect(manager.locator("#ambassador-counts tr[data-ambassador]")).to_have_count(1)
    publication = Publication.objects.get(url="https://sandbox.example/p/hiver")
    manager.select_option("#id_suggest-publication", str(publication.pk))
    manager.locator("input[name=suggest-audience][value=network]").check()
    manager.select_option("#id_suggest-network", "linkedin")
    _submit(manager, "#suggest button[type=submit]")
    assert ShareRequest.objects.filter(ambassador__member=hr).count() == 1

    # The ambassador, in English: the policy asks first; then the list to share.
    ambassador = browse.page("ambassador")
    login(ambassador, "helene@acme.test")
    _submit(ambassador, "form.language:has(button.lang-switch[value=en]) button")
    expect(ambassador.locator("html")).to_have_attribute("lang", "en")
    visit(ambassador, reverse("strategy_policy", args=[ws]))
    _submit(ambassador, "main form button[type=submit]")
    assert PolicyAcknowledgement.objects.filter(member=hr).exists()
    # The navigation's Strategy entry leads an ambassador to their list.
    _submit(ambassador, "#sidenav a.nav-strategy")
    expect(ambassador).to_have_url(re.compile(r"/strategy/share/$"))
    item = ambassador.locator("article.share-item")
    expect(item).to_have_count(1)
    expect(item).to_contain_text("Nos recettes d'hiver")
    expect(item.locator('a[data-network="LinkedIn"]')).to_have_attribute(
        "href", re.compile(r"linkedin\.com/sharing/share-offsite/\?url=https%3A%2F%2Fsandbox")
    )
    row = ShareRequest.objects.get(ambassador__member=hr)
    ambassador.fill(f"#id_r{row.pk}-url", "not a link")
    with watch_of(ambassador).expect_status(400):
        _submit(ambassador, "article.share-item form button[type=submit]")
    expect(ambassador.locator(f"#id_r{row.pk}-url")).to_have_value("not a link")  # kept
    ambassador.fill(f"#id_r{row.pk}-url", "https://www.linkedin.com/feed/update/1")
    _submit(ambassador, "article.share-item form button[type=submit]")
    expect(ambassador.locator("#shared-list li")).to_have_count(1)
    # ...and proposes an idea into the backlog.
    visit(ambassador, reverse("ideas", args=[ws]))
    ambassador.fill("#id_idea-title", "Témoignages de recrues")
    _submit(ambassador, "main form button[type=submit]")
    assert Idea.objects.filter(title="Témoignages de recrues", proposed_by=hr.user).exists()

    # The manager sees it counted, and who acknowledged the policy.
    visit(manager, reverse("strategy_ambassadors", args=[ws]))
    counts = manager.locator("#ambassador-counts tr[data-ambassador]")
    expect(counts.locator("td[data-shared]")).to_have_attribute("data-shared", "1")
    visit(manager, reverse("strategy_policy_manage", args=[ws]))
    expect(manager.locator("main")).to_contain_text("Hélène RH")
    # English for the manager too: the same page, in the other language.
    _submit(manager, "form.language:has(button.lang-switch[value=en]) button")
    expect(manager.locator("html")).to_have_attribute("lang", "en")
    visit(manager, reverse("strategy", args=[ws]))
    expect(manager.locator("main")).to_contain_text("Cosmétiques bio en Belgique")
