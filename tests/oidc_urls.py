"""The project's URLs with the OpenID Connect routes, as RIS_OIDC_ENABLED routes them."""

from django.urls import include, path

from config.urls import urlpatterns as project

urlpatterns = [path("oidc/", include("mozilla_django_oidc.urls")), *project]
