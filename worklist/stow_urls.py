"""STOW-RS for dose reports, included from config/urls.py at dicomweb/studies."""

from django.urls import path

from worklist.stow import StowView

app_name = "stow"
urlpatterns = [
    path("", StowView.as_view(), name="studies"),
    path("/<str:study>", StowView.as_view(), name="study"),
]
