from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "portevoix.reports"
    label = "reports"
    verbose_name = "Reports"
