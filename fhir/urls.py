from django.urls import path

from fhir import views

app_name = "fhir"
urlpatterns = [
    path("metadata", views.MetadataView.as_view(), name="metadata"),
    path("<str:kind>", views.SearchView.as_view(), name="search"),
    path("<str:kind>/<str:resource_id>", views.ReadView.as_view(), name="read"),
]
