from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrisisConfig(AppConfig):
    name = "portevoix.crisis"
    label = "crisis"
    verbose_name = _("Crisis")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from portevoix.crisis import jobs, notices

        notices.register()
        jobs.register()
        from portevoix.crisis import statements

        statements.register()
        from portevoix.crisis import drills
        from portevoix.inbox.ingest import on_ingested

        # The sandbox conversations that start during a drill are labelled "Drill".
        on_ingested(drills.label_conversations)
