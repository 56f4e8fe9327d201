from django.urls import path

from portevoix.api import views
from portevoix.api.endpoints import api

urlpatterns = [
    path("api/", api.urls),
    path("w/<slug:ws>/settings/api/tokens/", views.tokens, name="api_tokens"),
    path(
        "w/<slug:ws>/settings/api/tokens/<int:pk>/revoke/",
        views.token_revoke,
        name="api_token_revoke",
    ),
]
