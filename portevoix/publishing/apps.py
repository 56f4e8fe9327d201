from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

#: What the audit log calls the publishing actions (added to core's labels).
AUDIT_LABELS = {
    "post.save": gettext_noop("Post saved"),
    "post.withdraw": gettext_noop("Post withdrawn from approval"),
    "approval.request": gettext_noop("Approval requested"),
    "approval.remind": gettext_noop("Approvers reminded"),
    "approval.lapse": gettext_noop("Approval request lapsed"),
    "approval.route_save": gettext_noop("Approval route saved"),
    "approval.route_delete": gettext_noop("Approval route deleted"),
    "approval.settings": gettext_noop("Approval settings changed"),
    "approval.trust": gettext_noop("Member's direct publishing changed"),
    "brand_guide.update": gettext_noop("Brand guide changed"),
    "compliance.rule_create": gettext_noop("Compliance rule added"),
    "compliance.rule_update": gettext_noop("Compliance rule changed"),
    "compliance.rule_delete": gettext_noop("Compliance rule deleted"),
    "campaign.cancel": gettext_noop("Campaign cancelled"),
    "publishing.pause": gettext_noop("Publishing paused"),
    "publishing.resume": gettext_noop("Publishing resumed"),
    "post.submit": gettext_noop("Post submitted"),
    "post.choices": gettext_noop("Post's network choices set"),
    "post.reschedule": gettext_noop("Post moved"),
    "post.cancel": gettext_noop("Post cancelled"),
    "campaign.save": gettext_noop("Campaign saved"),
    "idea.propose": gettext_noop("Idea proposed"),
    "idea.accept": gettext_noop("Idea accepted"),
    "idea.decline": gettext_noop("Idea declined"),
    "idea.use": gettext_noop("Idea written"),
    "slot.add": gettext_noop("Posting slot added"),
    "slot.remove": gettext_noop("Posting slot removed"),
    "recurring_date.add": gettext_noop("Recurring date added"),
    "recurring_date.remove": gettext_noop("Recurring date removed"),
    "creative.request": gettext_noop("Visual requested"),
    "creative.deliver": gettext_noop("Visual delivered"),
    "creative.cancel": gettext_noop("Visual request cancelled"),
    "media.upload": gettext_noop("Media uploaded"),
    "media.update": gettext_noop("Media changed"),
    "media.archive": gettext_noop("Media archived"),
    "media.restore": gettext_noop("Media restored"),
    "plan.import": gettext_noop("Plan imported"),
    "publication.published_by_hand": gettext_noop("Published by hand"),
    "publication.not_published": gettext_noop("Not published by hand"),
    "publication.results": gettext_noop("Results entered"),
}


class PublishingConfig(AppConfig):
    name = "portevoix.publishing"
    label = "publishing"
    verbose_name = _("Publishing")

    def ready(self) -> None:
        from portevoix.core.actions import AUDIT_ACTION_LABELS
        from portevoix.publishing.approvals.actions import send_reminders
        from portevoix.publishing.approvals.notices import register_kinds as editorial_kinds

        for code, label in AUDIT_LABELS.items():
            AUDIT_ACTION_LABELS.setdefault(code, label)
        _register_audit_names()

        from portevoix.publishing.exchange import register_feed_purpose
        from portevoix.publishing.notices import register_kinds
        from portevoix.worker import housekeeping

        register_kinds()
        editorial_kinds()
        housekeeping.register("approval-reminders", 600, send_reminders)
        # The iCal feed is a way in without a login, on core's access tokens (docs/ways-in.md).
        register_feed_purpose()


def _register_audit_names() -> None:
    """How the audit log reads an approval request's entry (recorded on its post): the step's
    kind, its approver and why it was asked for, in the reader's language."""
    from portevoix.core import audit
    from portevoix.publishing.approvals.models import StepKind, why_text
    from portevoix.publishing.models import PostKind

    audit.KEY_LABELS.update(
        {
            "step": _("approval step"),
            "kind": _("kind"),
            "approver": _("approver"),
            "why": _("why"),
        }
    )
    kinds = {**dict(PostKind.choices), **dict(StepKind.choices)}
    audit.VALUE_NAMES[("publishing.post", "kind")] = lambda code: str(kinds.get(code, code))
    audit.VALUE_NAMES[("publishing.post", "why")] = why_text
