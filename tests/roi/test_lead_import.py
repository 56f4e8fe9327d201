"""Leads by CSV: line-numbered report, nothing saved when a line is wrong, idempotent."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import translation

from portevoix.core.models import AuditEntry
from portevoix.roi import imports
from portevoix.roi.models import Lead

GOOD = (
    "external_id;date;name;status;value;currency;channel;campaign\n"
    "L-1;2026-11-03;Boulangerie Martin;new;;;acme-shop-sandbox;soldes-dhiver\n"
    "L-2;2026-11-04 14:30;Hôtel du Port;won;1 250,00;EUR;Acme Shop (sandbox);Soldes d'hiver\n"
)


def test_a_good_file_is_imported_and_a_second_time_changes_nothing(team, channel, campaign) -> None:
    report = imports.import_leads(team.workspace, by=team["analyst"], data=GOOD.encode())
    assert report.ok and report.created == 2 and report.saved
    won = Lead.objects.get(external_id="L-2")
    assert won.value == Decimal("1250.00") and won.status == "won" and won.closed_at
    assert won.channel == channel and won.campaign == campaign
    again = imports.import_leads(team.workspace, by=team["analyst"], data=GOOD.encode())
    assert again.ok and again.created == 0 and again.unchanged == 2
    assert Lead.objects.count() == 2
    assert AuditEntry.objects.filter(action="lead.import").count() == 2


def test_a_wrong_line_keeps_the_whole_file_out_and_each_error_names_its_line(team, channel) -> None:
    data = (
        "external_id,date,value,channel,status\n"
        "L-1,2026-11-03,10,acme-shop-sandbox,new\n"
        "L-2,demain,10,acme-shop-sandbox,new\n"
        "\n"
        "L-3,2026-11-03,-5,acme-shop-sandbox,new\n"
        "L-1,2026-11-05,,nowhere,new\n"
        "L-5,2026-11-03,,,peut-être\n"
    ).encode()
    with translation.override("en"):
        report = imports.import_leads(team.workspace, by=team["analyst"], data=data)
    assert not report.ok and not report.saved
    lines = [line for line, _message in report.errors]
    assert lines == [3, 5, 6, 7]
    messages = dict(report.errors)
    assert "date" in messages[3]
    assert "negative" in messages[5]
    assert "line 2" in messages[6]
    assert "status" in messages[7]
    assert not Lead.objects.exists()


def test_a_dry_run_tells_what_would_happen_and_saves_nothing(team, channel, campaign) -> None:
    report = imports.import_leads(
        team.workspace, by=team["analyst"], data=GOOD.encode(), dry_run=True
    )
    assert report.ok and report.created == 2 and not report.saved
    assert not Lead.objects.exists()


@pytest.mark.parametrize(
    "data",
    [b"\xff\xfe", b"name,value\nx,1\n", b"external_id,date,colour\n1,2026-11-03,red\n", b""],
)
def test_files_that_are_not_a_leads_csv_are_refused_at_line_one(team, data) -> None:
    report = imports.import_leads(team.workspace, by=team["analyst"], data=data)
    assert report.errors and report.errors[0][0] == 1
    assert not Lead.objects.exists()


def test_the_template_imports_as_it_is(team, channel, campaign) -> None:
    template = imports.lead_template(team.workspace)
    assert template.splitlines()[0] == ",".join(imports.LEAD_COLUMNS)
    report = imports.import_leads(team.workspace, by=team["manager"], data=template.encode())
    assert report.ok, report.errors


@pytest.mark.parametrize("role", ["content", "creative", "agent", "viewer"])
def test_roles_without_lead_record_cannot_import(team, role) -> None:
    with pytest.raises(PermissionDenied):
        imports.import_leads(team.workspace, by=team[role], data=GOOD.encode())
