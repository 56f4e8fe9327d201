from django.urls import path

from portevoix.analytics import views

urlpatterns = [
    path("", views.dashboard_page, name="analytics"),
    path("csv/<slug:chart>/", views.csv_download, name="analytics_csv"),
    path("insights/", views.insight_write, name="analytics_insight"),
    path("slots/<int:pk>/", views.slots_add, name="analytics_slots"),
    path("experiments/", views.experiment_start, name="analytics_experiment"),
]

from portevoix.analytics import report_views  # noqa: E402

urlpatterns += [
    path("reports/", report_views.reports_page, name="analytics_reports"),
    path("reports/new/", report_views.report_create, name="analytics_report_create"),
    path("reports/<int:pk>/toggle/", report_views.report_toggle, name="analytics_report_toggle"),
    path("reports/<int:pk>/send/", report_views.report_send, name="analytics_report_send"),
    path("reports/<int:pk>/preview/", report_views.report_preview, name="analytics_report_preview"),
    path("reports/runs/<int:pk>/pdf/", report_views.run_pdf, name="analytics_report_pdf"),
    path("reports/runs/<int:pk>/csv/", report_views.run_csv, name="analytics_report_csv"),
]
