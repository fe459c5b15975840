"""docs/openapi.yaml is what drf-spectacular generates now, and a valid OpenAPI document.

To refresh it: python manage.py spectacular --file docs/openapi.yaml --validate
"""

from pathlib import Path

import yaml
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiYamlRenderer
from openapi_spec_validator import validate

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"


def generated() -> str:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return OpenApiYamlRenderer().render(schema, renderer_context={}).decode()


def test_committed_schema_is_the_generated_one():
    assert COMMITTED.read_text() == generated(), "run: python manage.py spectacular --file docs/openapi.yaml"


def test_committed_schema_is_valid_openapi():
    validate(yaml.safe_load(COMMITTED.read_text()))
