"""The OpenAPI document tells every error a route can answer, with the body we send."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from domain.errors import DomainError
from infra.http.contract import RENAMED, camel_case
from infra.http.openapi import api_routes, codes_by_status

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
ERROR_REF = {"$ref": "#/components/schemas/Error"}
# Every place a stable code is written: a class's `code = "..."` or a raise's `code="..."`.
CODE_LITERAL = re.compile(r"\bcode\s*=\s*\"([a-z_]+)\"")
OPERATION_ID = re.compile(r"[a-z]+\.[a-z][a-zA-Z]*")  # `<tag>.<verb>`, camelCase
DEFAULT_TITLE = re.compile(r"\"title\": \"Response [^\"]* (?:Get|Post|Put|Patch|Delete)\"")


@pytest.fixture(params=["embedded"])
def profile(request: pytest.FixtureRequest) -> str:
    """The document and the body parsing are the same on both profiles: one is enough."""
    return str(request.param)


def document(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, methods in doc["paths"].items()
        for method, operation in methods.items()
    ]


def test_every_error_response_has_the_error_schema(client: TestClient) -> None:
    doc = document(client)
    for method, path, operation in operations(doc):
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                schema = response["content"]["application/json"]["schema"]
                assert schema == ERROR_REF, f"{method} {path} {status}"
                assert "Codes: `" in response["description"], f"{method} {path} {status}"
    schemas = doc["components"]["schemas"]
    assert "HTTPValidationError" not in schemas
    assert schemas["Error"]["required"] == ["error"]


def test_routes_document_what_they_answer(client: TestClient) -> None:
    doc = document(client)
    responses = {(m, path): set(operation["responses"]) for m, path, operation in operations(doc)}
    # Authentication, a path naming an object, a JSON body, a command, `wait_for`, a limit.
    assert {"401", "403", "404", "400", "413", "422", "409"} <= responses[
        ("PATCH", "/v1/models/{model_id}")
    ]
    assert {"401", "403", "422", "503"} <= responses[("GET", "/v1/admin/users")]
    assert {"400", "401", "422", "429"} <= responses[("POST", "/v1/auth/login")]
    assert not {"403", "404"} & responses[("POST", "/v1/auth/login")]
    assert responses[("GET", "/v1/health")] == {"200"}


def test_schema_names_are_unique_and_free_of_module_paths(client: TestClient) -> None:
    doc = document(client)
    names = doc["components"]["schemas"]
    assert not [name for name in names if "__" in name or name.endswith(("-Input", "-Output"))]
    # FastAPI's titles made from a path ("Response Health V1 Health Get") become class names.
    assert not DEFAULT_TITLE.findall(json.dumps(doc))


def test_operation_ids_are_the_published_ones(client: TestClient) -> None:
    """Generated clients name their methods after these: tests/integration/operation_ids.txt."""
    lines = (HERE / "operation_ids.txt").read_text().splitlines()
    published = [line for line in lines if line and not line.startswith("#")]
    served = sorted(
        f"{op['operationId']} {m} {path}" for m, path, op in operations(document(client))
    )
    assert served == published


def test_each_operation_has_one_described_tag(client: TestClient) -> None:
    doc = document(client)
    described = [tag["name"] for tag in doc["tags"]]
    used = [op["tags"] for _, _, op in operations(doc)]
    assert all(len(tags) == 1 and tags[0] in described for tags in used), used
    assert set(described) == {tags[0] for tags in used}
    ids = [op["operationId"] for *_, op in operations(doc)]
    assert [name for name in ids if not OPERATION_ID.fullmatch(name)] == []


def test_every_renamed_operation_id_names_a_route(client: TestClient) -> None:
    routes = api_routes(client.app.routes)  # type: ignore[attr-defined]
    derived = {f"{route.tags[0]}.{camel_case(route.name)}" for route in routes}
    assert set(RENAMED) - derived == set()


def test_every_stable_code_in_the_code_is_documented(client: TestClient) -> None:
    document(client)  # the app imported every module that raises
    documented = {code for codes in codes_by_status().values() for code in codes}
    written = {
        code
        for package in ("domain", "commands", "queries", "infra", "workers")
        for source in (ROOT / package).rglob("*.py")
        if "services" not in source.parts
        for code in CODE_LITERAL.findall(source.read_text())
    }
    # The base class's own code: every error raised is of a subclass or names its code.
    assert written - documented - {DomainError.code} == set()


@pytest.mark.parametrize("body", [b'{"email": "\xff\xfe"}', b"\xc3\x28", b"\xff"])
def test_a_body_that_is_not_utf8_is_malformed_json(client: TestClient, body: bytes) -> None:
    response = client.post(
        "/v1/auth/register", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"]["code"] == "malformed_json"


def test_a_created_object_links_to_the_operations_on_it(client: TestClient) -> None:
    paths = document(client)["paths"]
    created = paths["/v1/models/{model_id}/uploads"]["post"]["responses"]["201"]["links"]
    targets = {link["operationId"]: link["parameters"] for link in created.values()}
    status = paths["/v1/uploads/{upload_id}"]["get"]["operationId"]
    assert targets[status] == {"upload_id": "$response.body#/upload_id"}
    assert len(targets) == 3  # status, a part, complete


def test_every_route_is_matched_by_the_app_itself(client: TestClient) -> None:
    """No router node between the app and a route: a node is matched route by route and
    then again to handle the request, twice the matching on every call."""
    from fastapi.routing import APIRoute
    from starlette.routing import Route

    app_routes = client.app.routes  # type: ignore[attr-defined]
    assert all(isinstance(route, Route) for route in app_routes)
    documented = {(m, r.path) for r in app_routes if isinstance(r, APIRoute) for m in r.methods}
    assert {(m, p) for m, p, _ in operations(document(client))} <= documented
