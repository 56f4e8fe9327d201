from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PublishingConfig(AppConfig):
    name = "portevoix.publishing"
    label = "publishing"
    verbose_name = _("Publishing")

    def ready(self) -> None:
        from portevoix.publishing.notices import register_kinds

        register_kinds()
