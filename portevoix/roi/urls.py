from django.urls import path

from portevoix.roi import views

urlpatterns = [
    path("leads/", views.leads_page, name="roi_leads"),
    path("leads/add/", views.lead_add, name="roi_lead_add"),
    path("leads/import/", views.lead_import, name="roi_lead_import"),
    path("leads/template.csv", views.lead_template, name="roi_lead_template"),
    path("leads/<int:pk>/delete/", views.lead_delete, name="roi_lead_delete"),
    path("leads/<int:pk>/edit/", views.lead_edit, name="roi_lead_edit"),
    path("spend/", views.spend_page, name="roi_spend"),
    path("spend/add/", views.spend_add, name="roi_spend_add"),
    path("spend/import/", views.spend_import, name="roi_spend_import"),
    path("spend/template.csv", views.spend_template, name="roi_spend_template"),
    path("spend/<int:pk>/edit/", views.spend_edit, name="roi_spend_edit"),
    path("spend/<int:pk>/delete/", views.spend_delete, name="roi_spend_delete"),
    path("budgets/", views.budgets_page, name="roi_budgets"),
    path("budgets/add/", views.budget_add, name="roi_budget_add"),
    path("budgets/<int:pk>/delete/", views.budget_delete, name="roi_budget_delete"),
    path("settings/", views.money_settings_page, name="roi_settings"),
]
