from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CareConfig(AppConfig):
    name = "portevoix.care"
    label = "care"
    verbose_name = _("Webcare rules")
    default_auto_field = "django.db.models.BigAutoField"
