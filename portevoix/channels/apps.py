from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChannelsConfig(AppConfig):
    name = "portevoix.channels"
    label = "channels"
    verbose_name = _("Channels")

    def ready(self) -> None:
        from django.conf import settings

        from portevoix.channels.actions import connected_channels_block_archiving
        from portevoix.core.actions import register_archive_check
        from portevoix.networks import http, meta

        # The network modules stay plain Python: the setting reaches them as a switch.
        http.allow_private_networks(getattr(settings, "PORTEVOIX_ALLOW_PRIVATE_NETWORKS", False))
        app_id, app_secret, graph_url, dialog_url = getattr(
            settings, "PORTEVOIX_META_APP", ("", "", "", "")
        )
        meta.configure(
            app_id=app_id, app_secret=app_secret, graph_url=graph_url, dialog_url=dialog_url
        )
        from portevoix.channels.models import purge_publish_journal
        from portevoix.worker import housekeeping

        housekeeping.register("purge-publish-journal", 24 * 3600, purge_publish_journal)
        # An archived workspace publishes nothing: its channels are disconnected first.
        register_archive_check(connected_channels_block_archiving)
