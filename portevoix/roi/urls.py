from django.urls import path

from portevoix.roi import views

urlpatterns = [
    path("leads/", views.leads_page, name="roi_leads"),
    path("leads/add/", views.lead_add, name="roi_lead_add"),
    path("leads/import/", views.lead_import, name="roi_lead_import"),
    path("leads/template.csv", views.lead_template, name="roi_lead_template"),
    path("leads/<int:pk>/delete/", views.lead_delete, name="roi_lead_delete"),
]
