from django.contrib import admin
from django.urls import path

from ris import views

urlpatterns = [
    path("", views.home, name="home"),
    path("modalities/", views.modalities, name="modalities"),
    path("admin/", admin.site.urls),
]
