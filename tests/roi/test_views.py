"""The leads page: by hand, by CSV (report in place), the template; who may and who may not."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from portevoix.roi.models import Lead


def _url(team, name: str, **kwargs) -> str:
    return reverse(name, kwargs={"ws": team.workspace.slug, **kwargs})


def test_a_manager_adds_a_lead_by_hand(team, client_for, channel, campaign) -> None:
    client = client_for(team["manager"])
    response = client.post(
        _url(team, "roi_lead_add"),
        {
            "name": "Salon du chocolat",
            "status": "won",
            "value": "2 400,00",
            "channel": str(channel.pk),
            "campaign": str(campaign.pk),
            "occurred_on": "2026-11-10",
            "closed_on": "2026-11-20",
        },
    )
    assert response.status_code == 302
    lead = Lead.objects.get()
    assert lead.source == "manual" and lead.status == "won" and str(lead.value) == "2400.00"
    assert lead.channel == channel and lead.campaign == campaign
    page = client.get(_url(team, "roi_lead_add").replace("add/", ""))
    assert "Salon du chocolat" in page.content.decode()


def test_a_wrong_lead_keeps_what_was_typed_with_the_error_in_place(team, client_for) -> None:
    client = client_for(team["manager"])
    response = client.post(
        _url(team, "roi_lead_add"),
        {"name": "Hôtel du Port", "status": "new", "value": "-12", "occurred_on": "2026-11-10"},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'value="Hôtel du Port"' in html and 'id="id_value_error"' in html
    assert not Lead.objects.exists()


def test_an_import_with_a_wrong_line_shows_the_line_and_saves_nothing(team, client_for) -> None:
    client = client_for(team["analyst"])
    data = b"external_id,date,value\nA-1,2026-11-03,10\nA-2,2026-13-45,10\n"
    response = client.post(
        _url(team, "roi_lead_import"),
        {"file": SimpleUploadedFile("leads.csv", data, content_type="text/csv")},
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="import-report"' in html and "<td>3</td>" in html
    assert not Lead.objects.exists()
    ok = client.post(
        _url(team, "roi_lead_import"),
        {
            "file": SimpleUploadedFile(
                "leads.csv", data.splitlines(True)[0] + data.splitlines(True)[1]
            )
        },
    )
    assert ok.status_code == 302 and Lead.objects.count() == 1


def test_the_template_downloads_as_csv(team, client_for) -> None:
    response = client_for(team["viewer"]).get(_url(team, "roi_lead_template"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response.content.decode().startswith("external_id,date,")


def test_a_viewer_reads_leads_but_has_no_form(team, client_for) -> None:
    response = client_for(team["viewer"]).get(_url(team, "roi_leads"))
    assert response.status_code == 200
    assert b'action="/w/acme/money/leads/add/"' not in response.content


def test_roles_that_see_no_money_are_refused(team, client_for) -> None:
    for role in ("creative", "agent"):
        assert client_for(team[role]).get(_url(team, "roi_leads")).status_code == 403


def test_a_content_marketer_cannot_record_a_lead(team, client_for) -> None:
    response = client_for(team["content"]).post(
        _url(team, "roi_lead_add"), {"status": "new", "occurred_on": "2026-11-10"}
    )
    assert response.status_code == 403 and not Lead.objects.exists()


def test_a_lead_is_deleted_by_its_button_only(team, client_for) -> None:
    from portevoix.roi import actions

    lead = actions.record_lead(team.workspace, by=team["analyst"], source="manual").lead
    url = _url(team, "roi_lead_delete", pk=lead.pk)
    assert client_for(team["content"]).post(url, {"confirm": "1"}).status_code == 403
    assert client_for(team["creative"]).post(url, {"confirm": "1"}).status_code == 404
    client = client_for(team["analyst"])
    client.post(url)
    assert Lead.objects.filter(pk=lead.pk).exists()
    assert client.post(url, {"confirm": "1"}).status_code == 302
    assert not Lead.objects.filter(pk=lead.pk).exists()
