from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter

from web.api import views
from web.api.reports import ReportViewSet
from web.api.tokens import ThrottledTokenView, TokenViewSet

router = DefaultRouter()
router.register("patients", views.PatientViewSet)
router.register("orders", views.OrderViewSet)
router.register("steps", views.StepViewSet)
router.register("procedures", views.ProcedureViewSet)
router.register("rooms", views.RoomViewSet)
router.register("bookings", views.BookingViewSet)
router.register("messages", views.MessageViewSet)
router.register("reports", ReportViewSet, basename="report")
router.register("tokens", TokenViewSet, basename="token")

urlpatterns = [
    path("", include(router.urls)),
    path("token/", ThrottledTokenView.as_view(), name="api_token"),
    path("schema/", SpectacularAPIView.as_view(), name="api_schema"),
]
