from django.urls import path

from ris.reporting import views

app_name = "reporting"
urlpatterns = [
    path("", views.worklist, name="worklist"),
    path("procedures/<int:procedure_id>/", views.editor, name="editor"),
]
