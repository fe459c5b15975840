"""A client that knows only docs/openapi.yaml drafts and signs a report over HTTP.

It finds each operation by its operationId, builds the request body from the
operation's requestBody schema (its required properties, types and enums)
and the test's data, authenticates as the securitySchemes say, and validates
every answer against the response schema declared for its status.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.factories import PASSWORD, placed_order, user_with_role

pytestmark = pytest.mark.slow

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "openapi.yaml"
JSON = "application/json"


class SchemaClient:
    """Calls operations by operationId, with only what the OpenAPI document says."""

    def __init__(self, document: dict[str, Any], base_url: str) -> None:
        self.document, self.base_url = document, base_url
        self.credentials: dict[str, str] = {}

    def call(self, operation_id: str, data: dict[str, Any], **path: Any) -> tuple[int, Any]:
        """Send the operation with a body built from `data`; the answer's status and decoded body."""
        url_path, method, operation = self.operation(operation_id)
        body = self.body_for(operation, data) if "requestBody" in operation else None
        status, answer = self.send(method, url_path.format(**path), body, self.headers_for(operation))
        jsonschema.validate(answer, self.response_schema(operation, status))
        return status, answer

    def operation(self, operation_id: str) -> tuple[str, str, dict[str, Any]]:
        for url_path, methods in self.document["paths"].items():
            for method, operation in methods.items():
                if operation.get("operationId") == operation_id:
                    return url_path, method.upper(), operation
        raise LookupError(f"no operation {operation_id} in the schema")

    def request_schema(self, operation: dict[str, Any]) -> dict[str, Any]:
        schema: dict[str, Any] = self.resolve(operation["requestBody"]["content"][JSON]["schema"])
        return schema

    def response_schema(self, operation: dict[str, Any], status: int) -> dict[str, Any]:
        declared = operation["responses"]
        assert str(status) in declared, f"{status} is not a declared answer of {operation['operationId']}"
        schema: dict[str, Any] = as_json_schema(self.resolve(declared[str(status)]["content"][JSON]["schema"]))
        return schema

    def body_for(self, operation: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
        """The required properties, and those the test has data for, each as its schema allows."""
        schema = self.request_schema(operation)
        properties = schema["properties"]
        names = [name for name in properties if name in data or name in schema.get("required", [])]
        body = {name: value_for(properties[name], data.get(name)) for name in names}
        jsonschema.validate(body, as_json_schema(schema))
        return body

    def headers_for(self, operation: dict[str, Any]) -> dict[str, str]:
        """The first security scheme of the operation the client holds credentials for."""
        schemes = self.document["components"]["securitySchemes"]
        for requirement in operation.get("security", []):
            for name in requirement:
                scheme = schemes[name]
                if scheme["type"] == "apiKey" and scheme["in"] == "header" and name in self.credentials:
                    return {scheme["name"]: self.credentials[name]}
        return {}

    def log_in_with_token(self, token: str) -> None:
        """Keep the token for every scheme that is an API key in a header with a prefix."""
        for name, scheme in self.document["components"]["securitySchemes"].items():
            prefix = re.search(r'prefix "(\w+)"', scheme.get("description", ""))
            if scheme["type"] == "apiKey" and scheme["in"] == "header" and prefix:
                self.credentials[name] = f"{prefix.group(1)} {token}"

    def send(self, method: str, url_path: str, body: Any, headers: dict[str, str]) -> tuple[int, Any]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base_url + url_path,
            data=data,
            method=method,
            headers={"Content-Type": JSON, "Accept": JSON, **headers},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as refused:
            return refused.code, json.loads(refused.read())

    def resolve(self, node: Any) -> Any:
        """The schema with every $ref replaced by what it points at."""
        if isinstance(node, list):
            return [self.resolve(item) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:
            target: Any = self.document
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            return self.resolve(target)
        return {key: self.resolve(value) for key, value in node.items()}


def value_for(schema: dict[str, Any], given: Any) -> Any:
    """The test's value where it gave one, else the first the schema allows."""
    if given is not None:
        return given
    if "enum" in schema:
        return schema["enum"][0]
    return {"string": "x", "integer": 1, "number": 1, "boolean": False, "array": [], "object": {}}[schema["type"]]


def as_json_schema(node: Any) -> Any:
    """OpenAPI 3.0's `nullable` in JSON Schema's words (a null type or value)."""
    if isinstance(node, list):
        return [as_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    schema = {key: as_json_schema(value) for key, value in node.items() if key != "nullable"}
    if not node.get("nullable"):
        return schema
    if "enum" in schema:
        schema["enum"] = [*schema["enum"], None]
    if "type" in schema:
        return {**schema, "type": [schema["type"], "null"]}
    return {"anyOf": [schema, {"type": "null"}]}


def enum_of(client: SchemaClient, operation_id: str, name: str) -> list[Any]:
    _, _, operation = client.operation(operation_id)
    values: list[Any] = client.request_schema(operation)["properties"][name]["enum"]
    return values


@pytest.fixture
def client(live_server: Any) -> SchemaClient:
    return SchemaClient(yaml.safe_load(SCHEMA.read_text()), live_server.url)


def test_a_client_built_from_the_schema_drafts_and_signs_a_final_report(client: SchemaClient) -> None:
    placed_order(accession="ACC8001")
    user = user_with_role("radiologist")

    status, answer = client.call("token_create", {"username": user.username, "password": PASSWORD})
    assert status == 200
    client.log_in_with_token(answer["token"])

    status, draft = client.call("reports_create", {"accession_number": "ACC8001", "findings": "Lungs clear."})
    assert (status, draft["status"], draft["accession_number"]) == (201, "DRAFT", "ACC8001")

    assert "final" in enum_of(client, "reports_sign_create", "status")
    status, signed = client.call("reports_sign_create", {"status": "final"}, id=draft["id"])
    assert (status, signed["status"]) == (200, "FINAL")

    status, read = client.call("reports_retrieve", {}, id=draft["id"])
    assert (status, read["status"], read["versions"][-1]["findings"]) == (200, "FINAL", "Lungs clear.")


def test_the_refusals_a_client_meets_are_the_declared_ones(client: SchemaClient) -> None:
    placed_order(accession="ACC8002")
    user = user_with_role("radiologist")
    client.log_in_with_token(client.call("token_create", {"username": user.username, "password": PASSWORD})[1]["token"])

    status, refused = client.call("reports_create", {"accession_number": "NOPE"})
    assert (status, refused["error"]) == (404, "NotFound")

    status, draft = client.call("reports_create", {"accession_number": "ACC8002"})
    status, invalid = client.call("reports_sign_create", {"status": "final"}, id=draft["id"])
    assert status == 400 and "findings" in invalid  # nothing written yet

    client.call("reports_create", {"accession_number": "ACC8002", "findings": "Normal."})
    client.call("reports_sign_create", {"status": "final"}, id=draft["id"])
    status, conflict = client.call("reports_sign_create", {"status": "final"}, id=draft["id"])
    assert (status, conflict["error"]) == (409, "IllegalTransition")
