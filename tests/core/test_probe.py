"""The probe: every page and every write, by every role, by an outsider and by anonymous, with
bad input. The pages come from the URLconf, so a new page joins by itself.

For every URL pattern of the project (``portevoix.*`` views), with a member of every role, the
admin of another workspace, and an anonymous visitor, GET and POST:

* nothing answers 500;
* anonymous is sent to the login page (unless the page is public);
* the outsider gets 404 and learns nothing of the workspace;
* a role the page refuses gets 403 on the product's error page (404 for an object its role
  cannot see at all), and its refused request writes nothing to the audit log;
* a read-only page answers POST with 405, a write-only URL answers GET with 405;
* every query parameter the page reads (recorded while it runs) is tried with bad values (a
  date past the year 9999, an id beyond 64 bits, a null byte...): 200 or 400, never 500;
* an id beyond the database's integer range in the path is a 404.

A new pattern must be declared in :data:`PAGES` (who may GET it, who may POST to it); the
probe fails, naming it, until it is. Third-party pages (allauth, the admin) without arguments
are opened too, by anonymous, a member and a staff user: never a 500.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from django.core.handlers.wsgi import WSGIRequest
from django.http import QueryDict
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils.functional import cached_property
from django.utils.http import urlencode

from portevoix.core import actions as core_actions
from portevoix.core.context_processors import NAVIGATION
from portevoix.core.models import AuditEntry, Member
from portevoix.core.permissions import Role, can
from tests.conftest import ALL_ROLES, Team, make_user

# --- what each page allows ------------------------------------------------------------------

PUBLIC = "public"  # anyone, anonymous included
LOGIN = "login"  # anyone logged in, in no particular workspace
STAFF = "staff"  # staff users only (the ops pages)
ANY = "any member"  # any active member of the workspace
NOT_ALLOWED = "405"  # this method is not served
#: A machine's way in (a network's webhook): anyone may call it, and a request without the
#: signature or the verify token is refused with 4xx and writes nothing. Its own tests send
#: the signed requests (docs/ways-in.md).
SIGNED = "signed"


@dataclass(frozen=True)
class Page:
    """Who may GET and who may POST: one of the constants above, an action code, or a tuple
    of action codes of which one is enough. ``hidden``: a role that may not see the object
    gets 404 (the row is outside its ``visible_to``), not 403."""

    get: str | tuple[str, ...]
    post: str | tuple[str, ...]
    owner: str | None = None  # the object is this role's own: every other member gets 404
    hidden: str | None = None
    #: A link that works in the first browser that opens it: the cookie (by prefix) that
    #: browser gets is given to every prober, who plays that one browser.
    one_browser: str = ""


#: The inbox's pages: who sees conversations at all (agents only their department's).
INBOX = ("inbox.view_all", "inbox.view_assigned")

PAGES: dict[str, Page] = {
    "healthz": Page(get=PUBLIC, post=PUBLIC),
    "meta_webhook": Page(get=SIGNED, post=SIGNED),
    "ops_work": Page(get=STAFF, post=STAFF),
    "home": Page(get=LOGIN, post=LOGIN),
    "set_language": Page(get=NOT_ALLOWED, post=PUBLIC),
    "profile": Page(get=LOGIN, post=LOGIN),
    "workspace_create": Page(get=LOGIN, post=LOGIN),
    "invitation_accept": Page(get=PUBLIC, post=PUBLIC),
    "workspace_home": Page(get=ANY, post=NOT_ALLOWED),
    "team": Page(get="member.view", post=NOT_ALLOWED),
    "member_detail": Page(get="member.view", post="member.change_role", hidden="member.view"),
    "member_deactivate": Page(get=NOT_ALLOWED, post="member.deactivate", hidden="member.view"),
    "member_reactivate": Page(get=NOT_ALLOWED, post="member.deactivate", hidden="member.view"),
    "invitations": Page(get="member.invite", post="member.invite"),
    "invitation_revoke": Page(get=NOT_ALLOWED, post="member.invite", hidden="member.invite"),
    "invitation_resend": Page(get=NOT_ALLOWED, post="member.invite", hidden="member.invite"),
    "roles": Page(get="member.view", post=NOT_ALLOWED),
    "departments": Page(get=ANY, post="department.manage"),
    "department_edit": Page(get="department.manage", post="department.manage"),
    "workspace_settings": Page(get=ANY, post="workspace.settings"),
    "audit_log": Page(get="audit.view", post=NOT_ALLOWED),
    "audit_export": Page(get="audit.view", post=NOT_ALLOWED),
    "channel_list": Page(get="channel.view", post=NOT_ALLOWED),
    "channel_connect_choose": Page(get="channel.manage", post=NOT_ALLOWED),
    "channel_connect": Page(get="channel.manage", post="channel.manage"),
    "channel_oauth_start": Page(get="channel.manage", post="channel.manage"),
    "channel_oauth_callback": Page(get="channel.manage", post="channel.manage"),
    "channel_detail": Page(get="channel.view", post="channel.manage", hidden="channel.view"),
    "channel_check": Page(get=NOT_ALLOWED, post="channel.manage", hidden="channel.view"),
    "channel_quick_post": Page(get="post.create", post="post.create", hidden="channel.view"),
    "inbox": Page(get=INBOX, post=NOT_ALLOWED),
    "inbox_list_part": Page(get=INBOX, post=NOT_ALLOWED),
    "inbox_bulk": Page(get=NOT_ALLOWED, post="inbox.reply"),
    "inbox_conversation": Page(get=INBOX, post=NOT_ALLOWED),
    "inbox_thread_part": Page(get=INBOX, post=NOT_ALLOWED),
    "inbox_reply": Page(get=NOT_ALLOWED, post="inbox.reply"),
    "inbox_state": Page(get=NOT_ALLOWED, post="inbox.reply"),
    # An agent may only take a conversation for themselves (tests/inbox); an empty form
    # (nobody assigned) needs inbox.route.
    "inbox_assign": Page(get=NOT_ALLOWED, post="inbox.route"),
    "inbox_priority": Page(get=NOT_ALLOWED, post="inbox.route"),
    "inbox_labels": Page(get=NOT_ALLOWED, post="inbox.route"),
    "inbox_note": Page(get=NOT_ALLOWED, post="inbox.reply"),
    "inbox_hand_off": Page(get=NOT_ALLOWED, post="inbox.route"),
    "inbox_reply_send": Page(get=NOT_ALLOWED, post="inbox.reply"),
    "inbox_reply_discard": Page(get=NOT_ALLOWED, post="inbox.reply"),
    "inbox_handoff_take_over": Page(get=NOT_ALLOWED, post="inbox.reply"),
    "inbox_handoff_close": Page(get=NOT_ALLOWED, post="inbox.route"),
    "inbox_handoff_link_make": Page(get=NOT_ALLOWED, post="inbox.route"),
    "inbox_handoff_link_revoke": Page(get=NOT_ALLOWED, post="inbox.route"),
    # Without an account, through its token (tests/inbox/test_handoff_links.py).
    "inbox_handoff_link": Page(get=PUBLIC, post=PUBLIC, one_browser="pv_handoff_"),
    "inbox_customer": Page(get=INBOX, post=INBOX),
    "privacy": Page(get="privacy.manage", post=NOT_ALLOWED),
    "privacy_export": Page(get="privacy.manage", post=NOT_ALLOWED),
    "privacy_erase": Page(get=NOT_ALLOWED, post="privacy.manage"),
    "privacy_retention": Page(get=NOT_ALLOWED, post="privacy.manage"),
    "inbox_setup": Page(get="inbox.manage", post=NOT_ALLOWED),
    "inbox_setup_canned": Page(get=NOT_ALLOWED, post="inbox.manage"),
    "inbox_setup_offer": Page(get=NOT_ALLOWED, post="inbox.manage"),
    "inbox_setup_label": Page(get=NOT_ALLOWED, post="inbox.manage"),
    "inbox_setup_rule": Page(get=NOT_ALLOWED, post="inbox.manage"),
    "calendar": Page(get="post.view", post=NOT_ALLOWED),
    # The content plan (issue 9 §1-4).
    "compose": Page(get="post.create", post="post.create"),
    "compose_checks": Page(get=NOT_ALLOWED, post="post.create"),
    "compose_autosave": Page(get=NOT_ALLOWED, post="post.create"),
    "compose_tiktok": Page(get=NOT_ALLOWED, post="post.create"),
    "post_edit": Page(get="post.view", post="post.create"),
    "post_move": Page(get=NOT_ALLOWED, post="post.create"),
    "campaigns": Page(get="post.view", post=NOT_ALLOWED),
    "campaign_new": Page(get="plan.manage", post="plan.manage"),
    "campaign_edit": Page(get="plan.manage", post="plan.manage"),
    "ideas": Page(get="idea.propose", post="idea.propose"),
    "idea_decide": Page(get=NOT_ALLOWED, post="idea.decide", hidden="idea.propose"),
    "creative_requests": Page(get="post.view", post=NOT_ALLOWED),
    "creative_request_new": Page(get="post.create", post="post.create"),
    "creative_request": Page(get="post.view", post="creative.deliver", hidden="post.view"),
    "plan_settings": Page(get="post.view", post="plan.manage"),
    "plan_import": Page(get="post.create", post="post.create"),
    "plan_export": Page(get="post.view", post=NOT_ALLOWED),
    "plan_feeds": Page(get="post.view", post="post.view"),
    "ical_feed": Page(get=PUBLIC, post=NOT_ALLOWED),
    # A network (Instagram) fetches the media itself: signed, expiring, no login.
    "public_media": Page(get=PUBLIC, post=NOT_ALLOWED),
    "media_library": Page(get="post.view", post=NOT_ALLOWED),
    "media_upload": Page(get=NOT_ALLOWED, post="post.create"),
    "media_item": Page(get="post.view", post="post.create", hidden="post.view"),
    "media_file": Page(get="post.view", post=NOT_ALLOWED, hidden="post.view"),
    "attention": Page(get="post.view", post=NOT_ALLOWED),
    "publication_retry": Page(get=NOT_ALLOWED, post="post.resolve", hidden="post.view"),
    "publication_send_late": Page(get=NOT_ALLOWED, post="post.resolve", hidden="post.view"),
    "publication_cancel": Page(get=NOT_ALLOWED, post="post.resolve", hidden="post.view"),
    "publication_mark_published": Page(get=NOT_ALLOWED, post="post.resolve", hidden="post.view"),
    # Manual channels (docs/manual-channels.md). The sample channel has no owner, so only the
    # roles with post.publish_by_hand may act (the owner's right: tests/publishing/test_manual).
    "publication_by_hand": Page(get="post.view", post=NOT_ALLOWED, hidden="post.view"),
    "publication_by_hand_media": Page(get="post.view", post=NOT_ALLOWED, hidden="post.view"),
    "publication_by_hand_published": Page(
        get=NOT_ALLOWED, post="post.publish_by_hand", hidden="post.view"
    ),
    "publication_by_hand_not_published": Page(
        get=NOT_ALLOWED, post="post.publish_by_hand", hidden="post.view"
    ),
    "publication_results": Page(get=NOT_ALLOWED, post="post.publish_by_hand", hidden="post.view"),
    "manual_results_import": Page(get="post.publish_by_hand", post="post.publish_by_hand"),
    "notifications": Page(get=ANY, post=NOT_ALLOWED),
    "notification_read_all": Page(get=NOT_ALLOWED, post=ANY),
    "notification_preferences": Page(get=ANY, post=ANY),
    # Each person's own notifications: someone else's is a 404, whatever the role.
    "notification_open": Page(get=NOT_ALLOWED, post=ANY, owner="admin"),
    "notification_read": Page(get=NOT_ALLOWED, post=ANY, owner="admin"),
    # Polled by every page; without a membership it answers 286 (htmx stops polling), no data.
    "notification_bell_poll": Page(get=PUBLIC, post=NOT_ALLOWED),
    # The admin's password change is the account's (allauth, with its reauthentication).
    "admin:password_change": Page(get=PUBLIC, post=PUBLIC),
    # One variant per module; see VARIANTS.
    "section": Page(get=ANY, post=NOT_ALLOWED),
    # Analytics (docs/analytics.md).
    "analytics": Page(get="analytics.view", post=NOT_ALLOWED),
    "analytics_csv": Page(get="analytics.view", post=NOT_ALLOWED),
    "analytics_insight": Page(get=NOT_ALLOWED, post="analytics.report"),
    "analytics_slots": Page(get=NOT_ALLOWED, post="plan.manage"),
    "analytics_experiment": Page(get=NOT_ALLOWED, post="post.create"),
    "analytics_reports": Page(get="analytics.view", post=NOT_ALLOWED),
    "analytics_report_create": Page(get=NOT_ALLOWED, post="analytics.report"),
    "analytics_report_toggle": Page(get=NOT_ALLOWED, post="analytics.report"),
    "analytics_report_send": Page(get=NOT_ALLOWED, post="analytics.report"),
    "analytics_report_preview": Page(get="analytics.report", post=NOT_ALLOWED),
    "analytics_report_pdf": Page(get="analytics.view", post=NOT_ALLOWED),
    "analytics_report_csv": Page(get="analytics.view", post=NOT_ALLOWED),
    # Approvals, compliance, pause (publishing.approvals; docs/approvals.md). The sample post
    # waits for approval and is written by a member who is not a prober.
    "approvals": Page(get=("post.view", "post.approve_compliance"), post=NOT_ALLOWED),
    "approval_review": Page(get="post.view", post=NOT_ALLOWED, hidden="post.view"),
    "approval_approve": Page(get=NOT_ALLOWED, post="post.approve", hidden="post.view"),
    "approval_changes": Page(get=NOT_ALLOWED, post="post.approve", hidden="post.view"),
    "approval_reject": Page(get=NOT_ALLOWED, post="post.approve", hidden="post.view"),
    "approval_withdraw": Page(get=NOT_ALLOWED, post="approval.manage", hidden="post.view"),
    "approval_resubmit": Page(get=NOT_ALLOWED, post="post.create", hidden="post.view"),
    "compliance_check": Page(get=NOT_ALLOWED, post=("post.create", "inbox.reply")),
    "approval_settings": Page(get="post.view", post="approval.manage"),
    "approval_trust": Page(get=NOT_ALLOWED, post="approval.manage"),
    "approval_route_create": Page(get="post.view", post="approval.manage"),
    "approval_route": Page(get="post.view", post="approval.manage"),
    "approval_route_delete": Page(get=NOT_ALLOWED, post="approval.manage"),
    "compliance_rules": Page(get="post.view", post="approval.manage"),
    "compliance_rule": Page(get="post.view", post="approval.manage"),
    "compliance_rule_delete": Page(get=NOT_ALLOWED, post="approval.manage"),
    "pause": Page(get="post.view", post=NOT_ALLOWED),
    "pause_start": Page(get=NOT_ALLOWED, post="post.pause"),
    "pause_resume": Page(get=NOT_ALLOWED, post="post.pause"),
    "campaign_cancel": Page(get=NOT_ALLOWED, post="post.pause"),
    # Webcare: the inbox's people read it; the social team reads the rules, hours, SLA and
    # metrics; admins and managers change them.
    "care_overview": Page(get=INBOX, post="inbox.configure"),
    "care_on_duty": Page(get=INBOX, post=NOT_ALLOWED),
    "care_agent_update": Page(get=NOT_ALLOWED, post="inbox.configure"),
    "care_rules": Page(get="inbox.view_all", post="inbox.configure"),
    "care_rule_try": Page(get="inbox.view_all", post="inbox.view_all"),
    "care_rule_edit": Page(get="inbox.view_all", post="inbox.configure"),
    "care_rule_move": Page(get=NOT_ALLOWED, post="inbox.configure"),
    "care_rule_delete": Page(get=NOT_ALLOWED, post="inbox.configure"),
    "care_vip_add": Page(get=NOT_ALLOWED, post="inbox.configure"),
    "care_vip_remove": Page(get=NOT_ALLOWED, post="inbox.configure"),
    "care_calendars": Page(get="inbox.view_all", post="inbox.configure"),
    "care_calendar": Page(get="inbox.view_all", post="inbox.configure"),
    "care_holiday_remove": Page(get=NOT_ALLOWED, post="inbox.configure"),
    "care_policies": Page(get="inbox.view_all", post="inbox.configure"),
    "care_policy_edit": Page(get="inbox.view_all", post="inbox.configure"),
    "care_rota": Page(get=INBOX, post="inbox.configure"),
    "care_shift_delete": Page(get=NOT_ALLOWED, post="inbox.configure"),
    # Asking or answering a swap: the form or the action says no to someone not concerned.
    "care_swap_request": Page(get=NOT_ALLOWED, post=INBOX),
    "care_swap_answer": Page(get=NOT_ALLOWED, post=INBOX),
    "care_metrics": Page(get="inbox.view_all", post=NOT_ALLOWED),
    "care_correct": Page(get=NOT_ALLOWED, post="inbox.route"),
    # Strategy (issue 13): the team reads it, managers change it; the policy is everyone's.
    "strategy": Page(get="strategy.view", post=NOT_ALLOWED),
    "strategy_canvas": Page(get="strategy.manage", post="strategy.manage"),
    "strategy_history": Page(get="strategy.view", post=NOT_ALLOWED),
    "strategy_review": Page(get=NOT_ALLOWED, post="strategy.manage"),
    "strategy_goals": Page(get=NOT_ALLOWED, post="strategy.manage"),
    "strategy_channel": Page(get=NOT_ALLOWED, post="strategy.manage"),
    "strategy_kpi_add": Page(get=NOT_ALLOWED, post="strategy.manage"),
    "strategy_kpi_delete": Page(get=NOT_ALLOWED, post="strategy.manage"),
    "strategy_pillar_add": Page(get=NOT_ALLOWED, post="strategy.manage"),
    "strategy_pillar_targets": Page(get=NOT_ALLOWED, post="strategy.manage"),
    "strategy_pillar_delete": Page(get=NOT_ALLOWED, post="strategy.manage"),
    "strategy_post_pillars": Page(get="strategy.view", post="post.create"),
    "strategy_matrix": Page(get="strategy.view", post="strategy.manage"),
    "strategy_matrix_roles": Page(get=NOT_ALLOWED, post="strategy.manage"),
    "strategy_policy": Page(get=ANY, post=ANY),
    "strategy_policy_manage": Page(get="strategy.manage", post="strategy.manage"),
    "strategy_policy_employees": Page(get=NOT_ALLOWED, post="strategy.manage"),
    "strategy_policy_send": Page(get=NOT_ALLOWED, post="strategy.manage"),
    "strategy_policy_link": Page(get=NOT_ALLOWED, post="strategy.manage"),
    # Team presets and ambassadors (docs/strategy.md); a share request is the ambassador's own.
    "strategy_presets": Page(get="strategy.manage", post="strategy.manage"),
    "strategy_ambassadors": Page(get="ambassador.manage", post="ambassador.manage"),
    "strategy_ambassador_remove": Page(
        get=NOT_ALLOWED, post="ambassador.manage", hidden="ambassador.manage"
    ),
    "strategy_share_suggest": Page(get=NOT_ALLOWED, post="ambassador.manage"),
    "strategy_share": Page(get="ambassador.share", post=NOT_ALLOWED),
    "strategy_share_mark": Page(
        get=NOT_ALLOWED, post="ambassador.share", owner="ambassador", hidden="ambassador.share"
    ),
    "strategy_share_unmark": Page(
        get=NOT_ALLOWED, post="ambassador.share", owner="ambassador", hidden="ambassador.share"
    ),
    # Without an account, through their tokens (tests/strategy/test_policy.py).
    "strategy_policy_public": Page(get=PUBLIC, post=NOT_ALLOWED),
    "strategy_policy_ack_link": Page(get=PUBLIC, post=PUBLIC),
    # API tokens (one's own; an admin sees and revokes all) and webhooks (docs/api.md,
    # docs/webhooks.md). The sample token is the admin's.
    "api_tokens": Page(get=ANY, post=ANY),
    "api_token_revoke": Page(
        get=NOT_ALLOWED, post="workspace.settings", hidden="workspace.settings"
    ),
    "api_webhooks": Page(get="integration.manage", post="integration.manage"),
    "api_webhook_change": Page(get=NOT_ALLOWED, post="integration.manage"),
    "api_webhook_deliveries": Page(get="integration.manage", post="integration.manage"),
    # CRM and helpdesk integrations (docs/integrations.md); the hand-off from a conversation;
    # the signed inbound webhook (a way in: unsigned, it answers 401).
    "api_integrations": Page(get="integration.manage", post="integration.manage"),
    "api_integration": Page(get="integration.manage", post="integration.manage"),
    "api_integration_preview": Page(get=NOT_ALLOWED, post="integration.manage"),
    "api_integration_test": Page(get=NOT_ALLOWED, post="integration.manage"),
    "api_integration_connect": Page(get=NOT_ALLOWED, post="integration.manage"),
    "api_integration_oauth_callback": Page(get="integration.manage", post=NOT_ALLOWED),
    "api_conversation_crm": Page(get=NOT_ALLOWED, post="inbox.route"),
    "api_crm_inbound": Page(get=NOT_ALLOWED, post=SIGNED),
    "crisis_home": Page(get="crisis.view", post="crisis.declare"),
    "crisis_alert": Page(get="crisis.view", post="crisis.declare"),
    "crisis_alert_dismiss": Page(get=NOT_ALLOWED, post="crisis.declare"),
    "crisis_incident": Page(get="crisis.view", post=NOT_ALLOWED),
    "crisis_incident_pause": Page(get=NOT_ALLOWED, post="post.pause"),
    "crisis_incident_terms": Page(get=NOT_ALLOWED, post="crisis.declare"),
    "crisis_incident_note": Page(get=NOT_ALLOWED, post="crisis.view"),
    "crisis_incident_close": Page(get=NOT_ALLOWED, post="crisis.declare"),
    # A department's list: the action says no (in words) to members of another department.
    "crisis_task": Page(get=NOT_ALLOWED, post="crisis.view"),
    "crisis_playbook": Page(get="crisis.view", post="crisis.declare"),
    "crisis_incident_report": Page(get="crisis.view", post=NOT_ALLOWED),
    "crisis_stage": Page(get=NOT_ALLOWED, post="crisis.declare"),
    "crisis_calm": Page(get=NOT_ALLOWED, post="crisis.declare"),
    "crisis_statement": Page(get="crisis.view", post="post.create"),
    "crisis_surge": Page(get="crisis.view", post=NOT_ALLOWED),
    "crisis_surge_refresh": Page(get=NOT_ALLOWED, post="crisis.view"),
    "crisis_surge_reply": Page(get=NOT_ALLOWED, post="inbox.reply"),
    "crisis_surge_duty": Page(get=NOT_ALLOWED, post="crisis.declare"),
    "crisis_lockdown": Page(get="crisis.view", post=NOT_ALLOWED),
    "crisis_lockdown_act": Page(get=NOT_ALLOWED, post=("member.deactivate", "channel.manage")),
    "crisis_custody": Page(get="channel.manage", post="channel.manage", hidden="channel.view"),
    "crisis_drills": Page(get="crisis.view", post="crisis.declare"),
    "crisis_drill": Page(get="crisis.view", post=NOT_ALLOWED),
    "crisis_drill_end": Page(get=NOT_ALLOWED, post="crisis.declare"),
    "crisis_impact": Page(get="crisis.view", post=NOT_ALLOWED),
    "training": Page(get=ANY, post=NOT_ALLOWED),
    # The sample is the admin's own record: managers read everyone's, others only their own.
    "training_member": Page(get="strategy.manage", post=NOT_ALLOWED),
    "training_compliance": Page(get=NOT_ALLOWED, post=ANY),
    "listening_trend_idea": Page(get=NOT_ALLOWED, post="idea.propose", hidden="listening.view"),
    # Listening (issue 12 §1-3): reading needs listening.view, queries listening.manage; a
    # mention goes to the inbox with inbox.reply, to the ideas backlog with idea.propose.
    "listening": Page(get="listening.view", post=NOT_ALLOWED),
    "listening_queries": Page(get="listening.view", post="listening.manage"),
    "listening_query_check": Page(get=NOT_ALLOWED, post="listening.manage"),
    "listening_query_edit": Page(
        get="listening.view", post="listening.manage", hidden="listening.view"
    ),
    "listening_query_delete": Page(
        get="listening.manage", post="listening.manage", hidden="listening.view"
    ),
    "listening_mention_inbox": Page(get=NOT_ALLOWED, post="inbox.reply", hidden="listening.view"),
    "listening_mention_idea": Page(get=NOT_ALLOWED, post="idea.propose", hidden="listening.view"),
    # Listening's sources and competitors side by side (issue 12 §2-3).
    "listening_sources": Page(get="listening.view", post="listening.manage"),
    "listening_source_pause": Page(get=NOT_ALLOWED, post="listening.manage"),
    "listening_source_resume": Page(get=NOT_ALLOWED, post="listening.manage"),
    "listening_source_delete": Page(get=NOT_ALLOWED, post="listening.manage"),
    "listening_competitors": Page(get="listening.view", post="listening.manage"),
    "listening_account_unfollow": Page(
        get=NOT_ALLOWED, post="listening.manage", hidden="listening.view"
    ),
    "listening_account_collect": Page(
        get=NOT_ALLOWED, post="listening.manage", hidden="listening.view"
    ),
    # Money: leads and deals, spend, budgets, short links (docs/analytics.md, Return on
    # investment).
    "roi_leads": Page(get="money.view", post=NOT_ALLOWED),
    "roi_lead_add": Page(get=NOT_ALLOWED, post="lead.record"),
    "roi_lead_import": Page(get=NOT_ALLOWED, post="lead.record"),
    "roi_lead_template": Page(get="money.view", post=NOT_ALLOWED),
    "roi_lead_delete": Page(get=NOT_ALLOWED, post="lead.record", hidden="money.view"),
    "roi_lead_edit": Page(get="lead.record", post="lead.record", hidden="money.view"),
    "roi_spend": Page(get="money.view", post=NOT_ALLOWED),
    "roi_spend_add": Page(get=NOT_ALLOWED, post="money.spend"),
    "roi_spend_import": Page(get=NOT_ALLOWED, post="money.spend"),
    "roi_spend_template": Page(get="money.view", post=NOT_ALLOWED),
    "roi_spend_edit": Page(get="money.spend", post="money.spend", hidden="money.view"),
    "roi_spend_delete": Page(get=NOT_ALLOWED, post="money.spend", hidden="money.view"),
    "roi_budgets": Page(get="money.view", post=NOT_ALLOWED),
    "roi_budget_add": Page(get=NOT_ALLOWED, post="budget.manage"),
    "roi_budget_delete": Page(get=NOT_ALLOWED, post="budget.manage", hidden="money.view"),
    "roi_settings": Page(get="money.view", post="budget.manage"),
    # A short link in a published post, for whoever clicks it (docs/ways-in.md).
    "roi_short_link": Page(get=PUBLIC, post=NOT_ALLOWED),
}

#: Values that broke pages before (issue 8): far dates, huge ids, odd characters.
BAD_VALUES = [
    "9999-12-25",
    "0001-01-01",
    "99999999999999999999",
    "-1",
    "٣",
    "x" * 1000,
    "\x00",
    "' OR 1=1 --",
]
TOO_BIG_ID = 2**63  # one beyond BigAutoField


# --- the project's URL patterns, from the URLconf -------------------------------------------


@dataclass(frozen=True)
class Pattern:
    name: str
    route: str
    module: str
    arguments: tuple[str, ...]


def _walk(
    patterns: list[Any], prefix: str = "", namespace: str = "", outer: tuple[str, ...] = ()
) -> Iterator[Pattern]:
    for entry in patterns:
        own = tuple(entry.pattern.regex.groupindex)
        if isinstance(entry, URLResolver):
            inner = namespace
            if entry.namespace:
                inner = f"{namespace}:{entry.namespace}" if namespace else entry.namespace
            yield from _walk(entry.url_patterns, prefix + str(entry.pattern), inner, outer + own)
        elif isinstance(entry, URLPattern):
            module = getattr(entry.callback, "__module__", "") or ""
            name = entry.name or ""
            full = f"{namespace}:{name}" if namespace and name else name
            yield Pattern(full, prefix + str(entry.pattern), module, outer + own)


ALL_PATTERNS = list(_walk(get_resolver().url_patterns))
PROJECT = [p for p in ALL_PATTERNS if p.module.startswith("portevoix.")]
THIRD_PARTY = [
    p for p in ALL_PATTERNS if not p.module.startswith("portevoix.") and not p.arguments and p.name
]


def test_every_project_page_is_declared() -> None:
    missing = sorted({p.name or p.route for p in PROJECT} - set(PAGES))
    assert not missing, (
        f"new pages {missing}: declare in tests/core/test_probe.py PAGES who may GET and POST "
        "them (and, for an argument the probe cannot fill, how in Sample.kwargs)"
    )
    stale = sorted(set(PAGES) - {p.name for p in PROJECT})
    assert not stale, f"declared pages that no longer exist: {stale}"


CONVERSATION_PAGES = (
    "inbox_conversation",
    "inbox_thread_part",
    "inbox_reply",
    "inbox_state",
    "inbox_assign",
    "inbox_priority",
    "inbox_labels",
    "inbox_note",
    "inbox_hand_off",
)

# --- the world the probe walks in -------------------------------------------------------------


@dataclass
class World:
    team: Team
    clients: dict[str, Client] = field(default_factory=dict)
    _cache: dict[str, Any] = field(default_factory=dict)

    def once(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    @property
    def target(self) -> Member:
        """A member whom the writes may change without changing any prober."""

        def make() -> Member:
            user = make_user("target@acme.test", "Tara Target")
            return Member.objects.create(workspace=self.team.workspace, user=user, role="viewer")

        member: Member = self.once("target", make)
        return member

    @property
    def invitation(self) -> tuple[Any, str]:
        def make() -> tuple[Any, str]:
            return core_actions.invite(
                self.team.workspace, by=self.team["admin"], email="new@acme.test", role="viewer"
            )

        made: tuple[Any, str] = self.once("invitation", make)
        return made

    @property
    def channel(self) -> Any:
        def make() -> Any:
            from portevoix.channels import actions
            from portevoix.sandbox import service

            account = service.create_account("acme-probe", workspace=self.team.workspace)
            return actions.connect_channel(
                self.team.workspace,
                by=self.team["admin"],
                network="sandbox",
                credentials=service.credentials_for(account),
                name="Probe",
            )

        return self.once("channel", make)

    def public_media_url(self) -> str:
        """The signed address a network would fetch the by-hand post's media at."""
        from portevoix.media.public import media_url

        return media_url(self.by_hand.post.media.get())

    def plan(self, kind: str) -> Any:
        """Sample objects of the content plan, made through the actions by the admin."""
        import datetime as dt
        import io

        from django.utils import timezone
        from PIL import Image

        from portevoix.media import actions as media_actions
        from portevoix.publishing import actions as publishing
        from portevoix.publishing import exchange

        admin, ws = self.team["admin"], self.team.workspace

        def make() -> Any:
            if kind == "post":
                return publishing.schedule_post(
                    ws,
                    by=admin,
                    text="Sonde",
                    channels=[self.channel],
                    at=timezone.now() + dt.timedelta(days=3),
                )
            if kind == "campaign":
                return publishing.save_campaign(ws, by=admin, name="Sonde")
            if kind == "idea":
                return publishing.propose_idea(ws, by=admin, title="Sonde")
            if kind == "request":
                return publishing.request_creative(
                    ws,
                    by=admin,
                    title="Sonde",
                    brief="Un visuel",
                    channels=[self.channel],
                    deadline=timezone.now() + dt.timedelta(days=2),
                )
            if kind == "asset":
                buffer = io.BytesIO()
                Image.new("RGB", (40, 30), (200, 30, 90)).save(buffer, "PNG")
                return media_actions.upload(
                    ws, by=admin, filename="sonde.png", data=buffer.getvalue()
                )
            if kind == "feed":
                return exchange.issue_feed(by=admin)[1]
            raise KeyError(kind)

        return self.once(f"plan:{kind}", make)

    @property
    def inbox_objects(self) -> tuple[Any, Any, Any]:
        """A private conversation in the agent's department (sales), a draft answer in it
        and its open hand-off."""

        def make() -> tuple[Any, Any, Any]:
            from django.utils import timezone

            from portevoix.inbox import actions as inbox_actions
            from portevoix.inbox.ingest import ingest
            from portevoix.inbox.models import Conversation
            from portevoix.networks.types import Author, InboundItem, InboundKind

            ingest(
                self.channel,
                [
                    InboundItem(
                        network="sandbox",
                        message_id="probe-dm",
                        kind=InboundKind.DM,
                        author=Author(id="id-probe", handle="probe", display_name="Probe"),
                        text="Bonjour, quel est le prix du coffret ?",
                        created_at=timezone.now(),
                        thread_id="probe-thread",
                    )
                ],
            )
            conversation = Conversation.objects.get(channel=self.channel)
            handoff = inbox_actions.hand_off(
                conversation, by=self.team["admin"], department=self.team.department("sales")
            )
            draft = inbox_actions.answer_handoff(handoff, by=self.team["agent"], text="Bonjour !")
            conversation.refresh_from_db()
            return conversation, draft, handoff

        made: tuple[Any, Any, Any] = self.once("inbox", make)
        return made

    @property
    def handoff_link(self) -> tuple[Any, str]:
        def make() -> tuple[Any, str]:
            from portevoix.inbox import actions as inbox_actions

            return inbox_actions.issue_handoff_link(
                self.inbox_objects[2], by=self.team["admin"], days=3
            )

        made: tuple[Any, str] = self.once("handoff_link", make)
        return made

    @property
    def conversation(self) -> Any:
        return self.inbox_objects[0]

    @property
    def publication(self) -> Any:
        """A post that failed: every decision of the attention page applies to it."""

        def make() -> Any:
            import datetime as dt

            from django.utils import timezone

            from portevoix.publishing import actions

            post = actions.schedule_post(
                self.team.workspace,
                by=self.team["admin"],
                text="Probe",
                channels=[self.channel],
                at=timezone.now() + dt.timedelta(hours=1),
            )
            publication = post.publications.get()
            publication.transition("failed", problem="probe")
            return publication

        return self.once("publication", make)

    @property
    def by_hand(self) -> Any:
        """A post of a manual channel (no owner) with an image, waiting to be published by
        hand, as the worker leaves it."""

        def make() -> Any:
            import datetime as dt

            from django.utils import timezone

            from portevoix.channels import actions as channel_actions
            from portevoix.publishing import actions
            from portevoix.publishing.actions import Upload
            from tests.images import image_bytes

            channel = channel_actions.connect_channel(
                self.team.workspace,
                by=self.team["admin"],
                network="manual",
                credentials={"label": "Snapchat"},
                name="Probe by hand",
            )
            post = actions.schedule_post(
                self.team.workspace,
                by=self.team["admin"],
                text="Probe by hand",
                channels=[channel],
                at=timezone.now() + dt.timedelta(hours=1),
                uploads=[Upload(filename="probe.png", data=image_bytes(), alt_text="")],
            )
            publication = post.publications.get()
            publication.transition("waiting_manual")
            return publication

        return self.once("by_hand", make)

    @property
    def notification(self) -> Any:
        """The admin's own notification (see Page.owner)."""

        def make() -> Any:
            from portevoix.notifications.models import Notification
            from portevoix.publishing.notices import FAILED

            return Notification.objects.create(
                workspace=self.team.workspace, recipient=self.team["admin"], kind=FAILED
            )

        return self.once("notification", make)

    @property
    def author(self) -> Member:
        """A creative content marketer who is not a prober: their post waits for approval."""

        def make() -> Member:
            user = make_user("author@acme.test", "Alex Author")
            return Member.objects.create(
                workspace=self.team.workspace, user=user, role=Role.CREATIVE
            )

        member: Member = self.once("author", make)
        return member

    @property
    def post(self) -> Any:
        def make() -> Any:
            import datetime as dt

            from django.utils import timezone

            from portevoix.publishing import actions

            return actions.schedule_post(
                self.team.workspace,
                by=self.author,
                text="Le sérum Velours arrive lundi",
                channels=[self.channel],
                at=timezone.now() + dt.timedelta(hours=2),
            )

        return self.once("post", make)

    @property
    def step(self) -> Any:
        return self.once("step", lambda: self.post.approval_steps.get())

    @property
    def route(self) -> Any:
        def make() -> Any:
            from portevoix.publishing.approvals import actions

            return actions.save_route(
                self.team.workspace,
                by=self.team["admin"],
                name="Finance",
                department=self.team.department("legal"),
                words="crédit",
            )

        return self.once("route", make)

    @property
    def rule(self) -> Any:
        def make() -> Any:
            from portevoix.publishing import compliance

            return compliance.create_rule(
                self.team.workspace,
                by=self.team["admin"],
                name="Promesses",
                kind="banned",
                values="garanti",
            )

        return self.once("rule", make)

    @property
    def pause(self) -> Any:
        def make() -> Any:
            from portevoix.publishing import pause

            return pause.pause(self.channel, by=self.team["admin"], reason="Probe")

        return self.once("pause", make)

    @property
    def care(self) -> dict[str, Any]:
        """Webcare's objects: a rule, a VIP, a calendar with a holiday, a policy, a shift of a
        member who is not a prober with a swap offered to another, a sales conversation."""

        def make() -> dict[str, Any]:
            import datetime as dt

            from django.utils import timezone

            from portevoix.care import actions
            from portevoix.inbox.ingest import ingest
            from portevoix.inbox.models import Conversation
            from portevoix.networks.types import Author, InboundItem, InboundKind

            ws, admin = self.team.workspace, self.team["admin"]
            rota = [
                Member.objects.create(
                    workspace=ws, user=make_user(f"rota{n}@acme.test", f"Rota {n}"), role="content"
                )
                for n in (1, 2)
            ]
            calendar = actions.create_calendar(
                ws, by=admin, name="Bureau", time_zone="Europe/Paris",
                week=actions.parse_week(["09:00-18:00"] * 5 + ["", ""]),
            )  # fmt: skip
            holiday = actions.add_holiday(
                calendar, by=admin, date=dt.date(2030, 12, 25), name="Noël", every_year=True
            )
            start = timezone.now() + dt.timedelta(days=2)
            (shift,) = actions.create_shifts(
                ws, by=admin, member=rota[0], starts_at=start, ends_at=start + dt.timedelta(hours=4)
            )
            item = InboundItem(
                network="sandbox",
                message_id="probe-1",
                kind=InboundKind.COMMENT,
                author=Author(id="probe", handle="probe"),
                text="Combien coûte le coffret ?",
                created_at=timezone.now(),
            )
            ingest(self.channel, [item])
            conversation = Conversation.objects.get(channel=self.channel)
            conversation.department = self.team.department("sales")
            conversation.save(update_fields=["department"])
            return {
                "rule": actions.create_rule(
                    ws, by=admin, name="Prix", condition="intent is pricing",
                    actions={"priority": "high"},
                ),
                "vip": actions.add_vip(ws, by=admin, handle="clara", note=""),
                "calendar": calendar,
                "holiday": holiday,
                "policy": actions.create_policy(ws, by=admin, name="Std", first_response_minutes=60),
                "shift": shift,
                "swap": actions.request_swap(shift, by=rota[0], offered_to=rota[1], message=""),
                "conversation": conversation,
            }  # fmt: skip

        made: dict[str, Any] = self.once("care", make)
        return made

    @property
    def strategy(self) -> dict[str, Any]:
        """A KPI, a pillar, and the two policy links (public page, one employee's)."""

        def make() -> dict[str, Any]:
            from portevoix.core.actions import issue_access_token
            from portevoix.strategy import actions as strategy
            from portevoix.strategy.models import Employee, EmployeeAcknowledgement

            ws, admin = self.team.workspace, self.team["admin"]
            (goal,) = strategy.set_goals(ws, by=admin, codes=["leads"])
            version = strategy.publish_policy(ws, by=admin, text="Sonde")
            employee = Employee.objects.create(workspace=ws, name="Eve", email="eve@acme.test")
            request = EmployeeAcknowledgement.objects.create(
                workspace=ws, version=version, employee=employee
            )
            return {
                "kpi": strategy.add_kpi(goal, by=admin, metric="leads", target=1, period="week"),
                "pillar": strategy.add_pillar(ws, by=admin, name="Sonde"),
                "page": issue_access_token(strategy.POLICY_PAGE_PURPOSE, ws, by=admin)[1],
                "ack": issue_access_token(strategy.POLICY_ACK_PURPOSE, request, by=admin)[1],
            }

        made: dict[str, Any] = self.once("strategy", make)
        return made

    @property
    def ambassadors(self) -> dict[str, Any]:
        """The team's ambassador, named, with one published post suggested to them."""

        def make() -> dict[str, Any]:
            from django.utils import timezone

            from portevoix.publishing.models import Post, Publication
            from portevoix.strategy import ambassadors

            ws, admin = self.team.workspace, self.team["admin"]
            row = ambassadors.name_ambassador(self.team["ambassador"], by=admin, subject="Sonde")
            post = Post.objects.create(workspace=ws, text="Sonde", author=admin.user)
            publication = Publication.objects.create(
                post=post,
                channel=self.channel,
                scheduled_at=timezone.now(),
                state="published",
                published_at=timezone.now(),
                url="https://sandbox.example/p/probe",
            )
            suggestion = ambassadors.suggest_share(publication, by=admin)
            return {"ambassador": row, "request": suggestion.requests.get()}

        made: dict[str, Any] = self.once("ambassadors", make)
        return made

    @property
    def api_objects(self) -> dict[str, Any]:
        """The admin's API token and a webhook subscription with one delivery."""

        def make() -> dict[str, Any]:
            from portevoix.api import actions, webhooks

            admin = self.team["admin"]
            token, _secret = actions.create_token(
                admin, by=admin, name="Probe", scopes=["posts:read"]
            )
            subscription, _whsec = actions.create_subscription(
                self.team.workspace,
                by=admin,
                url="https://hooks.example.com/pv",
                events=["post.failed"],
            )
            webhooks.emit(self.team.workspace.pk, "post.failed", "probe", {"post_id": 0})
            # By e-mail: its test button sends nothing over the network.
            integration, _in = actions.create_integration(
                self.team.workspace,
                by=admin,
                name="Helpdesk",
                kind="email",
                record_kind="case",
                email="support@helpdesk.example.com",
            )
            return {"token": token, "subscription": subscription, "integration": integration}

        made: dict[str, Any] = self.once("api", make)
        return made

    @property
    def crisis(self) -> dict[str, Any]:
        """An alert (left open) and an incident with its checklists."""

        def make() -> dict[str, Any]:
            import datetime as dt

            from django.utils import timezone

            from portevoix.crisis import actions
            from portevoix.crisis.models import Alert

            now = timezone.now()
            alert = Alert.objects.create(
                workspace=self.team.workspace, window_start=now - dt.timedelta(hours=1),
                window_end=now, observed=8, expected=0.5, p_value=1e-6, network="sandbox",
                terms=["retard"], messages=[],
            )  # fmt: skip
            incident = actions.open_incident(
                self.team.workspace, by=self.team["admin"], title="Probe"
            )
            return {"alert": alert, "incident": incident, "task": incident.tasks.first()}

        made: dict[str, Any] = self.once("crisis", make)
        return made

    @property
    def reports(self) -> dict[str, Any]:
        """A weekly report (key figures only) and one period of it, sent."""

        def make() -> dict[str, Any]:
            import datetime as dt

            from django.utils import timezone

            from portevoix.analytics import actions
            from portevoix.analytics.models import ReportFile, ReportRun

            report = actions.create_report(
                self.team.workspace, by=self.team["admin"], name="Hebdo", frequency="weekly",
                sections=["overview"], channels=[], recipients=[self.team["admin"]],
            )  # fmt: skip
            today = timezone.now().date()
            run = ReportRun.objects.create(
                report=report, period_start=today - dt.timedelta(days=13),
                period_end=today - dt.timedelta(days=7), state="sent", next_attempt_at=None,
                produced_at=timezone.now(), csv="report,Hebdo\n",
            )  # fmt: skip
            for language in ("fr", "en"):
                ReportFile.objects.create(run=run, language=language, pdf=b"%PDF-1.7 probe")
            return {"report": report, "run": run}

        made: dict[str, Any] = self.once("reports", make)
        return made

    @property
    def drill(self) -> Any:
        """A running drill (the probe's own: nothing is staged on a world)."""

        def make() -> Any:
            import datetime as dt

            from django.utils import timezone

            from portevoix.crisis.models import Drill

            return Drill.objects.create(
                workspace=self.team.workspace, kind="evening", intensity=3.0,
                ends_at=timezone.now() + dt.timedelta(hours=1),
            )  # fmt: skip

        return self.once("drill", make)

    @property
    def listening(self) -> dict[str, Any]:
        """A listening query and a fresh mention it found (through the pipeline)."""

        def make() -> dict[str, Any]:
            from django.utils import timezone

            from portevoix.listening import actions, pipeline, sources

            assert self.channel  # the inbox needs a sandbox channel to take the mention
            query = actions.create_query(
                self.team.workspace, by=self.team["admin"], name="Marque", kind="brand",
                text='"acme" OR #acme',
            )  # fmt: skip
            post = pipeline.PublicPost(
                external_id="probe-mention", network="sandbox", text="J'adore Acme !",
                posted_at=timezone.now(), author_handle="clara",
            )  # fmt: skip
            pipeline.ingest(sources.sandbox_source(), [post])
            return {"query": query, "mention": query.mentions.get()}

        made: dict[str, Any] = self.once("listening", make)
        return made

    @property
    def listening_sources(self) -> dict[str, Any]:
        """A source this workspace added, and an account it follows."""

        def make() -> dict[str, Any]:
            from portevoix.listening import actions

            source = actions.add_source(
                self.team.workspace, by=self.team["admin"], kind="mastodon-tag",
                url="mastodon.example", target="probe",
            )  # fmt: skip
            account = actions.follow_account(
                self.team.workspace, by=self.team["admin"], label="Probe", network="sandbox",
                handle="probe-rival", side="competitor",
            )  # fmt: skip
            return {"source": source, "account": account}

        made: dict[str, Any] = self.once("listening_sources", make)
        return made

    @property
    def money(self) -> dict[str, Any]:
        """A lead (money: leads, spend, budgets, short links)."""

        def make() -> dict[str, Any]:
            from portevoix.roi import actions

            ws, admin = self.team.workspace, self.team["admin"]
            lead = actions.record_lead(ws, by=admin, source="manual", name="Sonde", value="10")
            channel = self.channel
            boost = actions.record_boost(
                ws, by=admin, channel=channel, spent="5", start_on=dt.date(2026, 1, 5)
            ).boost
            budget = actions.set_budget(
                ws,
                by=admin,
                channel=channel,
                planned="100",
                start_on=dt.date(2026, 1, 1),
                end_on=dt.date(2026, 1, 31),
            )
            from portevoix.roi.models import ShortLink
            from portevoix.roi.shortlinks import new_code

            link = ShortLink.objects.create(
                workspace=ws, code=new_code(), target="https://acme.example/probe"
            )
            return {"lead": lead.lead, "boost": boost, "budget": budget, "link": link}

        made: dict[str, Any] = self.once("money", make)
        return made

    def kwargs(self, name: str, variant: dict[str, str]) -> dict[str, Any]:
        """The arguments of ``name``'s URL in this world."""
        ws = self.team.workspace.slug
        pk: dict[str, Callable[[], int]] = {
            "member_detail": lambda: self.target.pk,
            "member_deactivate": lambda: self.target.pk,
            "member_reactivate": lambda: self.target.pk,
            "invitation_revoke": lambda: self.invitation[0].pk,
            "invitation_resend": lambda: self.invitation[0].pk,
            "department_edit": lambda: self.team.department("legal").pk,
            "channel_detail": lambda: self.channel.pk,
            "channel_check": lambda: self.channel.pk,
            "channel_quick_post": lambda: self.channel.pk,
            "compose_tiktok": lambda: self.channel.pk,
            **{name: lambda: self.conversation.pk for name in CONVERSATION_PAGES},
            "inbox_customer": lambda: self.conversation.customer_id,
            "inbox_reply_send": lambda: self.inbox_objects[1].pk,
            "inbox_reply_discard": lambda: self.inbox_objects[1].pk,
            "inbox_handoff_take_over": lambda: self.inbox_objects[2].pk,
            "inbox_handoff_close": lambda: self.inbox_objects[2].pk,
            "inbox_handoff_link_make": lambda: self.inbox_objects[2].pk,
            "inbox_handoff_link_revoke": lambda: self.handoff_link[0].pk,
            "post_edit": lambda: self.plan("post").pk,
            "post_move": lambda: self.plan("post").pk,
            "campaign_edit": lambda: self.plan("campaign").pk,
            "idea_decide": lambda: self.plan("idea").pk,
            "creative_request": lambda: self.plan("request").pk,
            "media_item": lambda: self.plan("asset").pk,
            "media_file": lambda: self.plan("asset").pk,
            "publication_retry": lambda: self.publication.pk,
            "publication_send_late": lambda: self.publication.pk,
            "publication_cancel": lambda: self.publication.pk,
            "publication_mark_published": lambda: self.publication.pk,
            "publication_by_hand": lambda: self.by_hand.pk,
            "publication_by_hand_media": lambda: self.by_hand.pk,
            "publication_by_hand_published": lambda: self.by_hand.pk,
            "publication_by_hand_not_published": lambda: self.by_hand.pk,
            "publication_results": lambda: self.by_hand.pk,
            "manual_results_import": lambda: self.by_hand.channel_id,
            "notification_open": lambda: self.notification.pk,
            "notification_read": lambda: self.notification.pk,
            "approval_review": lambda: self.post.pk,
            "approval_withdraw": lambda: self.post.pk,
            "approval_resubmit": lambda: self.post.pk,
            "approval_approve": lambda: self.step.pk,
            "approval_changes": lambda: self.step.pk,
            "approval_reject": lambda: self.step.pk,
            "approval_trust": lambda: self.author.pk,
            "approval_route": lambda: self.route.pk,
            "approval_route_delete": lambda: self.route.pk,
            "compliance_rule": lambda: self.rule.pk,
            "compliance_rule_delete": lambda: self.rule.pk,
            "pause_resume": lambda: self.pause.pk,
            "care_agent_update": lambda: self.target.pk,
            "care_rule_edit": lambda: self.care["rule"].pk,
            "care_rule_move": lambda: self.care["rule"].pk,
            "care_rule_delete": lambda: self.care["rule"].pk,
            "care_vip_remove": lambda: self.care["vip"].pk,
            "care_calendar": lambda: self.care["calendar"].pk,
            "care_holiday_remove": lambda: self.care["holiday"].pk,
            "care_policy_edit": lambda: self.care["policy"].pk,
            "care_shift_delete": lambda: self.care["shift"].pk,
            "care_swap_request": lambda: self.care["shift"].pk,
            "care_swap_answer": lambda: self.care["swap"].pk,
            "care_correct": lambda: self.care["conversation"].pk,
            "strategy_channel": lambda: self.channel.pk,
            "strategy_kpi_delete": lambda: self.strategy["kpi"].pk,
            "strategy_pillar_delete": lambda: self.strategy["pillar"].pk,
            "strategy_ambassador_remove": lambda: self.ambassadors["ambassador"].pk,
            "strategy_share_mark": lambda: self.ambassadors["request"].pk,
            "strategy_share_unmark": lambda: self.ambassadors["request"].pk,
            "analytics_slots": lambda: self.channel.pk,
            "analytics_report_toggle": lambda: self.reports["report"].pk,
            "analytics_report_send": lambda: self.reports["report"].pk,
            "analytics_report_preview": lambda: self.reports["report"].pk,
            "analytics_report_pdf": lambda: self.reports["run"].pk,
            "analytics_report_csv": lambda: self.reports["run"].pk,
            "api_token_revoke": lambda: self.api_objects["token"].pk,
            "api_webhook_change": lambda: self.api_objects["subscription"].pk,
            "api_webhook_deliveries": lambda: self.api_objects["subscription"].pk,
            **{
                name: lambda: self.api_objects["integration"].pk
                for name in (
                    "api_integration",
                    "api_integration_preview",
                    "api_integration_test",
                    "api_integration_connect",
                    "api_crm_inbound",
                )
            },
            "api_conversation_crm": lambda: self.conversation.pk,
            "crisis_alert": lambda: self.crisis["alert"].pk,
            "crisis_alert_dismiss": lambda: self.crisis["alert"].pk,
            "crisis_incident": lambda: self.crisis["incident"].pk,
            "crisis_incident_pause": lambda: self.crisis["incident"].pk,
            "crisis_incident_terms": lambda: self.crisis["incident"].pk,
            "crisis_incident_note": lambda: self.crisis["incident"].pk,
            "crisis_incident_close": lambda: self.crisis["incident"].pk,
            "crisis_incident_report": lambda: self.crisis["incident"].pk,
            "crisis_task": lambda: self.crisis["task"].pk,
            "crisis_statement": lambda: self.crisis["incident"].pk,
            "crisis_surge": lambda: self.crisis["incident"].pk,
            "crisis_surge_refresh": lambda: self.crisis["incident"].pk,
            "crisis_surge_reply": lambda: self.crisis["incident"].pk,
            "crisis_surge_duty": lambda: self.crisis["incident"].pk,
            "crisis_lockdown": lambda: self.crisis["incident"].pk,
            "crisis_lockdown_act": lambda: self.crisis["incident"].pk,
            "crisis_custody": lambda: self.channel.pk,
            "crisis_drill": lambda: self.drill.pk,
            "crisis_drill_end": lambda: self.drill.pk,
            "crisis_impact": lambda: self.crisis["incident"].pk,
            "training_member": lambda: self.team["admin"].pk,
            "listening_query_edit": lambda: self.listening["query"].pk,
            "listening_query_delete": lambda: self.listening["query"].pk,
            "listening_mention_inbox": lambda: self.listening["mention"].pk,
            "listening_mention_idea": lambda: self.listening["mention"].pk,
            "listening_source_pause": lambda: self.listening_sources["source"].pk,
            "listening_source_resume": lambda: self.listening_sources["source"].pk,
            "listening_source_delete": lambda: self.listening_sources["source"].pk,
            "listening_account_unfollow": lambda: self.listening_sources["account"].pk,
            "listening_account_collect": lambda: self.listening_sources["account"].pk,
            "roi_lead_delete": lambda: self.money["lead"].pk,
            "roi_lead_edit": lambda: self.money["lead"].pk,
            "roi_spend_edit": lambda: self.money["boost"].pk,
            "roi_spend_delete": lambda: self.money["boost"].pk,
            "roi_budget_delete": lambda: self.money["budget"].pk,
        }
        values: dict[str, Callable[[], Any]] = {
            "ws": lambda: ws,
            "workspace": lambda: ws,
            "pk": lambda: pk[name](),
            "token": lambda: (
                self.handoff_link[1]
                if name == "inbox_handoff_link"
                else self.plan("feed")
                if name == "ical_feed"
                else self.public_media_url().split("/")[-2]
                if name == "public_media"
                else self.strategy["page"]
                if name == "strategy_policy_public"
                else self.strategy["ack"]
                if name == "strategy_policy_ack_link"
                else self.invitation[1]
            ),
            "name": lambda: self.public_media_url().rsplit("/", 1)[1],
            "network": lambda: {"channel_oauth_start": "mastodon"}.get(name, "sandbox"),
            "media": lambda: self.by_hand.post.media.get().pk,
            "chart": lambda: "daily",
            "code": lambda: self.money["link"].code,
        }
        pattern = next(p for p in PROJECT if p.name == name)
        out: dict[str, Any] = {}
        for argument in pattern.arguments:
            if argument in variant:
                out[argument] = variant[argument]
                continue
            assert argument in values, (
                f"the probe cannot fill <{argument}> of {name}: teach World.kwargs how"
            )
            try:
                out[argument] = values[argument]()
            except KeyError:
                pytest.fail(f"the probe has no sample object for {name}: add it to World.kwargs")
        return out


APPROVERS = ("post.view", "post.approve_compliance")

#: Pages with several variants: each section of the navigation, with the action it needs.
VARIANTS: dict[str, list[tuple[dict[str, str], str | tuple[str, ...]]]] = {
    "section": [
        # Approvals: whoever sees posts, or approves a compliance step (not ambassadors).
        ({"key": key}, action or (APPROVERS if key == "approvals" else ANY))
        for key, _, action in NAVIGATION
        if key
        not in {
            "team",
            "settings",
            "inbox",
            "calendar",
            "attention",
            "channels",
            "strategy",
            "crisis",
            "listening",
        }
    ],
}


def _cases() -> Iterator[Any]:
    for pattern in PROJECT:
        page = PAGES.get(pattern.name)
        if page is None:
            continue  # test_every_project_page_is_declared names it
        for variant, action in VARIANTS.get(pattern.name, [({}, page.get)]):
            label = pattern.name + "".join(f"[{v}]" for v in variant.values())
            yield pytest.param(pattern.name, variant, action, id=label)


# --- recording which query parameters a page reads ------------------------------------------


class RecordingQueryDict(QueryDict):
    """A ``request.GET`` that notes every key the page reads."""

    read: set[str] = set()

    def __getitem__(self, key: str) -> Any:
        RecordingQueryDict.read.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        RecordingQueryDict.read.add(key)
        return super().get(key, default)

    def getlist(self, key: str, default: Any = None) -> Any:
        RecordingQueryDict.read.add(key)
        return super().getlist(key, default)

    def __contains__(self, key: object) -> bool:
        if isinstance(key, str):
            RecordingQueryDict.read.add(key)
        return super().__contains__(key)


@pytest.fixture
def recording(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    def get(self: WSGIRequest) -> QueryDict:
        from django.core.handlers.wsgi import get_bytes_from_wsgi

        raw = get_bytes_from_wsgi(self.environ, "QUERY_STRING", "")
        return RecordingQueryDict(raw, encoding=self._encoding)

    prop = cached_property(get)
    prop.__set_name__(WSGIRequest, "GET")
    monkeypatch.setattr(WSGIRequest, "GET", prop)
    RecordingQueryDict.read = set()
    return RecordingQueryDict.read


# --- the expectations --------------------------------------------------------------------------


def _allowed(rule: str | tuple[str, ...], member: Member | None, staff: bool = False) -> bool:
    if rule in (NOT_ALLOWED, SIGNED):
        return False
    if rule == PUBLIC:
        return True
    if rule in (LOGIN, STAFF):
        return member is not None and (rule == LOGIN or staff)
    if member is None:
        return False
    if rule == ANY:
        return True
    rules = rule if isinstance(rule, tuple) else (rule,)
    return any(can(member, r) for r in rules)


def _check(
    response: Any,
    *,
    who: str,
    method: str,
    rule: str | tuple[str, ...],
    member: Member | None,
    workspace_page: bool,
    hidden: str | None,
    owner: str | None,
    where: str,
) -> bool:
    """Assert what ``who`` got; True when the request was refused (nothing may be written)."""
    status = response.status_code
    context = f"{method} {where} as {who}: {status}"
    assert status < 500, context
    if rule == SIGNED:
        assert 400 <= status < 500, f"{context}: an unsigned request must be refused"
        return True
    if rule == NOT_ALLOWED:
        if who == "anonymous" and workspace_page:
            assert status == 302 and "/accounts/login/" in response["Location"], context
        elif who == "outsider" and workspace_page:
            assert status == 404, context
        else:
            assert status == 405, context
        return True
    if who == "anonymous" and rule != PUBLIC:
        assert status == 302 and "/accounts/login/" in response["Location"], context
        return True
    if who == "outsider" and workspace_page:
        assert status == 404, context
        assert b"Acme" not in response.content, context
        return True
    if owner and member is not None and who != owner and _allowed(rule, member):
        assert status == 404, f"{context}: someone else's own object"
        return True
    if _allowed(rule, member, staff=False) and not (
        hidden and member is not None and not can(member, hidden)
    ):
        assert status not in (403, 404, 405), context
        return False
    expected = 404 if hidden and member is not None and not can(member, hidden) else 403
    assert status == expected, context
    if status == 403:
        assert b'data-status="403"' in response.content, f"{context}: not the product's page"
    return True


def _clients(team: Team) -> dict[str, tuple[Client, Member | None]]:
    clients: dict[str, tuple[Client, Member | None]] = {}
    for who, member in [*((r, team[r]) for r in ALL_ROLES), ("outsider", team.outsider)]:
        client = Client()
        client.force_login(member.user, backend="django.contrib.auth.backends.ModelBackend")
        clients[who] = (client, member)
    clients["anonymous"] = (Client(), None)
    return clients


# --- the probe ------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "variant", "get_rule"), list(_cases()))
def test_probe(team: Team, recording: set[str], name: str, variant: dict[str, str], get_rule):
    page = PAGES[name]
    world = World(team)
    kwargs = world.kwargs(name, variant)
    url = reverse(name, kwargs=kwargs)
    workspace_page = "ws" in kwargs
    clients = _clients(team)

    # Every role, the outsider and anonymous: GET, then POST (least privileged first, so that
    # the admin's writes come last). Outside a workspace the role plays no part: one member.
    order = ["anonymous", "outsider", *(reversed(ALL_ROLES) if workspace_page else ["admin"])]
    for method, rule in (("GET", get_rule), ("POST", page.post)):
        for who in order:
            client, member = clients[who]
            before = AuditEntry.objects.count()
            if page.one_browser:
                for other, _ in clients.values():
                    for key, morsel in other.cookies.items():
                        if key.startswith(page.one_browser):
                            client.cookies[key] = morsel.value
            response = client.get(url) if method == "GET" else client.post(url, {})
            refused = _check(
                response,
                who=who,
                method=method,
                rule=rule,
                member=member,
                workspace_page=workspace_page,
                hidden=page.hidden,
                owner=page.owner,
                where=url,
            )
            if refused:
                assert AuditEntry.objects.count() == before, f"{method} {url} as {who} wrote"

    # The outsider in their own workspace, asking for this workspace's objects by id.
    if workspace_page and "pk" in kwargs:
        client, _ = clients["outsider"]
        theirs = reverse(name, kwargs={**kwargs, "ws": team.outsider.workspace.slug})
        for method in ("GET", "POST"):
            response = client.get(theirs) if method == "GET" else client.post(theirs, {})
            assert response.status_code in (404, 405), f"{method} {theirs}: cross-workspace id"

    # An id beyond the database's integer range in the path.
    admin, _ = clients["admin"]
    if "pk" in kwargs:
        huge = reverse(name, kwargs={**kwargs, "pk": TOO_BIG_ID})
        assert admin.get(huge).status_code in (404, 405), huge

    # Bad values for every query parameter the page reads.
    if get_rule != NOT_ALLOWED and _allowed(get_rule, team["admin"]):
        recording.clear()
        assert admin.get(url).status_code < 500
        for parameter in sorted(recording):
            for value in BAD_VALUES:
                query = urlencode({parameter: value})
                response = admin.get(f"{url}?{query}")
                where = f"GET {url}?{query}"
                assert response.status_code in (200, 302, 400), f"{where}: {response.status_code}"
                if response.status_code == 400:
                    assert b'data-status="400"' in response.content or b'class="error' in (
                        response.content
                    ), f"{where}: a 400 without its reason"


def test_the_probe_reads_the_query_parameters(team, client_for, recording) -> None:
    """The recorder sees what a page reads; without it the bad-value loop would test nothing."""
    client_for(team["admin"]).get(reverse("calendar", kwargs={"ws": team.workspace.slug}))
    assert {"from", "channel"} <= recording


# --- third-party pages --------------------------------------------------------------------------


@pytest.mark.parametrize("pattern", THIRD_PARTY, ids=[p.name for p in THIRD_PARTY])
def test_third_party_pages_never_fail(team: Team, pattern: Pattern) -> None:
    staff = make_user("staff@acme.test", "Sam Staff")
    staff.is_staff = staff.is_superuser = True
    staff.save()
    url = reverse(pattern.name)
    for user in (None, team["admin"].user, staff):
        client = Client()
        if user is not None:
            client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
        response = client.get(url)
        assert response.status_code < 500, (url, user, response.status_code)


def test_the_probe_walks_every_kind_of_page() -> None:
    names = {p.name for p in PROJECT}
    assert {"calendar", "audit_export", "channel_quick_post", "invitation_accept"} <= names
    assert any(p.name.startswith("admin:") for p in THIRD_PARTY)
    assert any(p.name == "account_login" for p in THIRD_PARTY)
    assert Role.ADMIN.value in ALL_ROLES
