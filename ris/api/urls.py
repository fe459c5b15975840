from rest_framework.routers import SimpleRouter

from ris.api.reports import ReportViewSet

router = SimpleRouter()
router.register("reports", ReportViewSet, basename="report")
urlpatterns = router.urls
