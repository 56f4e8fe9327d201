from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

#: What the audit log calls the crisis actions (added to core's labels).
AUDIT_LABELS = {
    "crisis.alert": gettext_noop("Crisis alert raised"),
    "crisis.alert_dismiss": gettext_noop("Crisis alert dismissed"),
    "crisis.open": gettext_noop("Incident opened"),
    "crisis.close": gettext_noop("Incident closed"),
    "crisis.note": gettext_noop("Note added to the incident"),
    "crisis.terms": gettext_noop("Crisis terms changed"),
    "crisis.task_done": gettext_noop("Checklist task ticked"),
    "crisis.playbook": gettext_noop("Crisis playbook changed"),
    "crisis.stage": gettext_noop("Sandbox storm started"),
    "crisis.calm": gettext_noop("Sandbox storm calmed"),
    "crisis.drill_start": gettext_noop("Drill started"),
    "crisis.drill_end": gettext_noop("Drill ended"),
    "crisis.statement_submit": gettext_noop("Holding statement submitted"),
    "crisis.statement_media": gettext_noop("Holding statement's media changed"),
    "crisis.bulk_reply": gettext_noop("Bulk reply with the holding statement"),
    "crisis.call_on_duty": gettext_noop("Members called on duty"),
    "crisis.label_conversations": gettext_noop("Crisis conversations labelled"),
    "channel.custody": gettext_noop("Channel's login custody changed"),
    "member.end_sessions": gettext_noop("Member's sessions ended"),
}


class CrisisConfig(AppConfig):
    name = "portevoix.crisis"
    label = "crisis"
    verbose_name = _("Crisis")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from portevoix.core.actions import AUDIT_ACTION_LABELS
        from portevoix.crisis import jobs, notices

        AUDIT_ACTION_LABELS.update(AUDIT_LABELS)
        notices.register()
        jobs.register()
        from portevoix.crisis import statements

        statements.register()
        from portevoix.crisis import drills
        from portevoix.inbox.ingest import on_ingested

        # The sandbox conversations that start during a drill are labelled "Drill".
        on_ingested(drills.label_conversations)
