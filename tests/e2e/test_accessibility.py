"""Automated accessibility checks (axe-core, WCAG 2.1 A and AA) on the main pages.

axe-core is vendored from the npm registry (``tests/e2e/vendor/``, MPL-2.0). It cannot prove a
page accessible, but it catches what regresses most often: missing labels, contrast, landmarks,
names of buttons and links, duplicate ids, language of the page.

axe does not report a reference to an id that does not exist when the element has another
way to its name (a field's ``aria-describedby`` pointing at ``id_x_helptext`` while the help
text's id is ``id_x_help``: the help is never read, and axe is silent). ``dangling()`` checks
every ``aria-describedby``/``-labelledby``/``-controls``/``-errormessage`` and ``label[for]``
on each page, forms sent back with errors included.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page

from portevoix.core import demo
from tests.e2e.conftest import PHONE, Browse, login, visit, watch_of

AXE = (Path(__file__).parent / "vendor" / "axe-4.14.1.min.js").read_text(encoding="utf-8")
SLUG = demo.SLUG


def violations(page: Page) -> list[dict[str, Any]]:
    page.add_script_tag(content=AXE)
    result = page.evaluate(
        """async () => (await axe.run(document, {
              runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']},
           })).violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
              nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"""
    )
    return [v for v in result if v["impact"] in {"serious", "critical"}]


DANGLING = """() => {
  const found = [];
  const attrs = ['aria-describedby', 'aria-labelledby', 'aria-controls', 'aria-errormessage'];
  for (const el of document.querySelectorAll('*')) {
    const names = el.tagName === 'LABEL' ? [...attrs, 'for'] : attrs;
    for (const name of names) {
      for (const id of (el.getAttribute(name) || '').split(/\\s+/)) {
        if (id && !document.getElementById(id)) {
          found.push(`${el.tagName.toLowerCase()}[${name}="${id}"]`);
        }
      }
    }
  }
  return found;
}"""


def dangling(page: Page) -> list[dict[str, Any]]:
    """References to ids that are not on the page, in the shape of axe's violations."""
    found = page.evaluate(DANGLING)
    if not found:
        return []
    return [
        {
            "id": "idref-missing",
            "impact": "serious",
            "help": "ARIA and label references must point at an element of the page",
            "nodes": found[:5],
        }
    ]


PAGES = [
    "/w/{slug}/",
    "/w/{slug}/attention/",
    "/w/{slug}/notifications/",
    "/w/{slug}/notifications/preferences/",
    "/w/{slug}/inbox/",
    "/w/{slug}/webcare/",
    "/w/{slug}/webcare/rules/",
    "/w/{slug}/webcare/hours/",
    "/w/{slug}/webcare/sla/",
    "/w/{slug}/webcare/rota/",
    "/w/{slug}/webcare/metrics/",
    "/w/{slug}/calendar/",
    "/w/{slug}/calendar/?view=week",
    "/w/{slug}/calendar/?view=list",
    "/w/{slug}/calendar/compose/",
    "/w/{slug}/calendar/campaigns/",
    "/w/{slug}/calendar/ideas/",
    "/w/{slug}/calendar/requests/",
    "/w/{slug}/calendar/plan/",
    "/w/{slug}/calendar/plan/import/",
    "/w/{slug}/calendar/plan/feeds/",
    "/w/{slug}/media/",
    "/w/{slug}/team/",
    "/w/{slug}/team/invitations/",
    "/w/{slug}/team/roles/",
    "/w/{slug}/team/departments/",
    "/w/{slug}/settings/",
    "/w/{slug}/settings/audit/",
    "/w/{slug}/settings/personal-data/",
    "/w/{slug}/listening/",
    "/w/{slug}/settings/channels/",
    "/w/{slug}/settings/channels/connect/sandbox/",
    "/w/{slug}/settings/channels/connect/bluesky/",
    "/w/{slug}/settings/channels/connect/linkedin/oauth/",
    "/w/{slug}/settings/channels/{channel}/",
    "/w/{slug}/settings/channels/{channel}/post/",
    "/profile/",
    "/accounts/2fa/",
    "/accounts/sessions/",
    "/accounts/password/change/",
]
ERROR_PAGES = [
    ("/w/{slug}/calendar/?from=9999-12-25", 400),
    ("/ops/work/", 403),  # the manager is not staff
    ("/w/{slug}/no-such-module/", 404),
]


def test_main_pages_have_no_serious_violation(browse: Browse, demo_site: None) -> None:
    from portevoix.channels.models import Channel

    channel = Channel.objects.filter(workspace__slug=SLUG).order_by("name").first()
    assert channel is not None
    page = browse.page()
    visit(page, "/accounts/login/")
    found = {"/accounts/login/": violations(page) + dangling(page)}
    login(page, "sophie@lumiere.demo", demo.PASSWORD)
    for path in PAGES:
        visit(page, path.format(slug=SLUG, channel=channel.pk))
        found[path] = violations(page) + dangling(page)
    # Forms sent back with their errors: the errors are tied to their fields too.
    visit(page, f"/w/{SLUG}/team/invitations/")
    form = page.locator("main form:has(input[name=email])")
    form.evaluate("f => { f.noValidate = true; }")  # let the server answer, as without JS
    form.locator("input[name=email]").fill("not-an-address")
    with watch_of(page).expect_status(400), page.expect_navigation():
        form.locator("button[type=submit]").click()
    assert page.locator("main .has-error").count() >= 1
    found["invitation form with errors"] = violations(page) + dangling(page)
    # Error pages are pages of the product too.
    for path, status in ERROR_PAGES:
        visit(page, path.format(slug=SLUG), status=status)
        found[path] = violations(page) + dangling(page)
    phone = browse.page("phone", viewport=PHONE, is_mobile=True, has_touch=True)
    login(phone, "sophie@lumiere.demo", demo.PASSWORD)
    visit(phone, f"/w/{SLUG}/inbox/")
    found["phone inbox"] = violations(phone) + dangling(phone)
    visit(phone, "/accounts/sessions/")
    found["phone sessions"] = violations(phone) + dangling(phone)
    visit(phone, f"/w/{SLUG}/attention/")
    found["phone attention"] = violations(phone) + dangling(phone)
    visit(phone, f"/w/{SLUG}/listening/")  # the volume chart scrolls sideways there
    found["phone listening"] = violations(phone) + dangling(phone)
    problems = [
        f"{path}: {v['id']} ({v['help']}) at {', '.join(v['nodes'])}"
        for path, found_here in found.items()
        for v in found_here
    ]
    assert not problems, "\n".join(problems)


LABELS = """() => [...document.querySelectorAll("main table.table:not(.matrix) tbody td")]
    .filter(td => td.offsetParent !== null)
    .map(td => [td.getAttribute("data-label") || "",
                getComputedStyle(td, "::before").content])"""


def test_on_a_phone_every_table_cell_says_its_column(browse: Browse, demo_site: None) -> None:
    """Rows stack on a phone and the header row is hidden: each cell shows its column's name
    (static/js/tables.js), on pages whose templates give no labels of their own."""
    phone = browse.page("phone", viewport=PHONE, is_mobile=True, has_touch=True)
    login(phone, "sophie@lumiere.demo", demo.PASSWORD)
    for path in ("listening/competitors/", "listening/queries/", "team/", "webcare/"):
        visit(phone, f"/w/{SLUG}/{path}")
        cells = phone.evaluate(LABELS)
        assert cells, path
        named = [(label, shown) for label, shown in cells if label]
        assert len(named) >= len(cells) / 2, (path, cells[:6])
        # What the cell shows above its value is its column's name (CSS content is quoted).
        assert all(shown == f'"{label}"' for label, shown in named), (path, named[:6])
    visit(phone, f"/w/{SLUG}/listening/competitors/")
    assert "Abonnés" in [label for label, _ in phone.evaluate(LABELS)]
    # On a wide screen the header row is there and no cell repeats it.
    page = browse.page()
    login(page, "sophie@lumiere.demo", demo.PASSWORD)
    visit(page, f"/w/{SLUG}/listening/competitors/")
    assert all(shown in ("none", "normal") for _, shown in page.evaluate(LABELS))


def test_the_idref_check_catches_a_help_text_with_the_wrong_id(browse: Browse) -> None:
    """The check above would have caught the helptext id mismatch of the field template."""
    page = browse.page()
    page.set_content(
        '<main><label for="id_x">X</label><input id="id_x" aria-describedby="id_x_helptext">'
        '<small id="id_x_help">help</small></main>'
    )
    problems = dangling(page)
    assert problems and problems[0]["nodes"] == ['input[aria-describedby="id_x_helptext"]']


def test_share_of_voice_bars_keep_their_proportions_on_a_phone(
    browse: Browse, demo_site: None
) -> None:
    """The bar's width was a share of its cell: on a phone, where the cell is the row's width,
    every bar reached the same 60 px cap whatever its share."""
    for page in (
        browse.page("phone", viewport=PHONE, is_mobile=True, has_touch=True),
        browse.page(),
    ):
        login(page, "sophie@lumiere.demo", demo.PASSWORD)
        visit(page, f"/w/{SLUG}/listening/")
        rows = page.evaluate(
            """() => [...document.querySelectorAll("table.voice .bar")].map(bar => [
                parseFloat(bar.style.getPropertyValue("--share")),
                bar.getBoundingClientRect().width])"""
        )
        assert len(rows) >= 2 and len({share for share, _ in rows}) >= 2, rows
        for share, width in rows:
            assert abs(width - max(2.0, 0.6 * share)) < 1.0, rows
