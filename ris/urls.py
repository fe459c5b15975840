from django.contrib import admin
from django.urls import include, path

from ris import health, views

urlpatterns = [
    path("", views.home, name="home"),
    path("admin/", admin.site.urls),
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    path("metrics", health.metrics, name="metrics"),
    path("fhir/", include("fhir.urls")),
    path("api/", include("ris.api.urls")),
    path("reporting/", include("ris.reporting.urls")),
]
