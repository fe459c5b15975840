"""STOW-RS for dose reports, included from config/urls.py under dicomweb/."""

from django.urls import path

from worklist.stow import StowView

app_name = "stow"
urlpatterns = [
    path("studies", StowView.as_view(), name="studies"),
    path("studies/<str:study>", StowView.as_view(), name="study"),
]
