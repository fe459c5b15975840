from django.contrib import admin
from django.urls import include, path

from ris import views

urlpatterns = [
    path("", views.home, name="home"),
    path("admin/", admin.site.urls),
    path("fhir/", include("fhir.urls")),
    path("api/", include("ris.api.urls")),
    path("reporting/", include("ris.reporting.urls")),
]
