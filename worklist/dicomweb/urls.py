"""The DICOMweb worklist services, included at /dicomweb/ (config/urls.py)."""

from django.urls import path

from worklist.dicomweb import views

app_name = "dicomweb"
urlpatterns = [
    path("", views.CapabilitiesView.as_view(), name="capabilities"),
    path("modality-scheduled-procedure-steps", views.ScheduledStepsView.as_view(), name="mwl-search"),
    path("modality-performed-procedure-steps", views.PerformedStepsView.as_view(), name="mpps"),
    path("modality-performed-procedure-steps/<str:uid>", views.PerformedStepView.as_view(), name="mpps-instance"),
]
