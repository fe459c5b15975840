"""The project's URLs: the web door's pages and API, the DICOM door's DICOMweb
services, and the health endpoints."""

from django.urls import include, path

from config import health

urlpatterns = [
    path("", include("web.urls")),
    path("dicomweb/", include("worklist.stow_urls")),  # STOW-RS for dose reports: studies, studies/{uid}
    path("dicomweb/", include("worklist.dicomweb.urls")),
    path("health/live", health.live, name="health-live"),
    path("health/ready", health.ready, name="health-ready"),
    path("metrics", health.metrics, name="metrics"),
]
