def test_fhir_resources_imports_beside_the_projects_fhir_package():
    import fhir
    import fhir.apps
    import fhir.resources
    from fhir.resources.R4B.diagnosticreport import DiagnosticReport

    assert DiagnosticReport.__name__ == "DiagnosticReport"
    assert any(path.endswith("site-packages/fhir") for path in fhir.__path__)


def test_hl7_app_is_the_projects_package():
    from django.apps import apps

    assert apps.get_app_config("hl7").path.endswith("/hl7")
