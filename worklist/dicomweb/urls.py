"""The DICOMweb worklist services, included at /dicomweb/ (config/urls.py)."""

from django.urls import path

from worklist.dicomweb import views

app_name = "dicomweb"
urlpatterns = [
    path("", views.CapabilitiesView.as_view(), name="capabilities"),
    path("modality-scheduled-procedure-steps", views.ScheduledStepsView.as_view(), name="mwl-search"),
    path("modality-performed-procedure-steps", views.PerformedStepsView.as_view(), name="mpps"),
    path("modality-performed-procedure-steps/<str:uid>", views.PerformedStepView.as_view(), name="mpps-instance"),
    path("workitems", views.WorkitemsView.as_view(), name="workitems"),
    path("workitems/<str:uid>", views.WorkitemView.as_view(), name="workitem"),
    path("workitems/<str:uid>/state", views.WorkitemStateView.as_view(), name="workitem-state"),
    path("workitems/<str:uid>/cancelrequest", views.WorkitemCancelView.as_view(), name="workitem-cancel"),
    path(
        "workitems/<str:uid>/subscribers/<str:ae_title>", views.SubscriptionView.as_view(), name="workitem-subscriber"
    ),
    path("workitems/<str:uid>/subscribers/<str:ae_title>/suspend", views.SuspendView.as_view(), name="suspend"),
]
