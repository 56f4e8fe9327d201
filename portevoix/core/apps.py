import logging

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CoreConfig(AppConfig):
    name = "portevoix.core"
    label = "core"
    verbose_name = _("Team")

    def ready(self) -> None:
        from django.conf import settings

        from portevoix.core import logs

        # Every process that serves or works (gunicorn's workers load Django through
        # portevoix.wsgi) masks secrets in URLs before they reach a log line.
        logs.install()
        config = settings.CONFIG
        if config.mode == "production" and config.email.file_path:
            logging.getLogger("portevoix").warning(
                "e-mail is not sent: each message is written to a file in %s "
                "(PORTEVOIX_EMAIL_URL=file:...); invitation links are there",
                config.email.file_path,
            )
