"""Test helpers for the JSON API: a client that checks every answer against the OpenAPI document."""

from __future__ import annotations

import json
import re
from functools import lru_cache
from typing import Any

from jsonschema import Draft202012Validator

from schoolbridge.accounts.actions import create_api_token


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    from schoolbridge.api import api

    # Round-trip through JSON so the document is exactly what /openapi.json serves.
    return json.loads(json.dumps(api.get_openapi_schema()))


def _route(doc: dict[str, Any], path: str) -> tuple[str, dict[str, Any]] | None:
    path = path.split("?", 1)[0]
    for template, item in doc["paths"].items():
        pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, path):
            return template, item
    return None


class ContractError(AssertionError):
    pass


def check_contract(method: str, path: str, status: int, body: Any) -> None:
    """Raise ContractError unless the answer is declared in the OpenAPI document and matches its schema."""
    doc = openapi_document()
    found = _route(doc, path)
    if found is None:
        # Undocumented paths must still answer in the error shape.
        schema: dict[str, Any] = {"$ref": "#/components/schemas/ErrorOut"}
        where = f"{method} {path} (no such endpoint)"
    else:
        template, item = found
        op = item.get(method.lower())
        where = f"{method} {template} -> {status}"
        if op is None:
            raise ContractError(f"{where}: method not in the OpenAPI document")
        declared = op.get("responses", {}).get(str(status))
        if declared is None:
            raise ContractError(f"{where}: status not declared (declared: {sorted(op.get('responses', {}))})")
        schema = declared.get("content", {}).get("application/json", {}).get("schema")
        if schema is None:
            return
    root = {**schema, "components": doc.get("components", {})}
    errors = sorted(Draft202012Validator(root).iter_errors(body), key=lambda e: list(e.path))
    if errors:
        details = "; ".join(f"{list(e.path)}: {e.message}" for e in errors[:5])
        raise ContractError(f"{where}: body does not match the schema: {details}")


class ApiClient:
    """Wraps a Django test client: JSON in, JSON out, every answer checked against the contract."""

    prefix = "/api/v1"

    def __init__(self, client: Any, token: str | None = None, **headers: str) -> None:
        self.client = client
        self.headers = dict(headers)
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.calls: list[tuple[str, str, int]] = []

    def request(self, method: str, path: str, data: Any = None, **headers: str) -> Any:
        url = self.prefix + path
        all_headers = {**self.headers, **headers}
        if method == "GET":
            response = self.client.get(url, data=data, headers=all_headers)
        else:
            body = data if isinstance(data, str | bytes) else json.dumps(data if data is not None else {})
            response = self.client.generic(
                method, url, body, content_type="application/json", headers=all_headers
            )
        assert response["Content-Type"].startswith("application/json"), (
            url,
            response.status_code,
            response.content[:200],
        )
        response.data = response.json()
        check_contract(method, url, response.status_code, response.data)
        self.calls.append((method, url, response.status_code))
        return response

    def get(self, path: str, data: Any = None, **headers: str) -> Any:
        return self.request("GET", path, data, **headers)

    def post(self, path: str, data: Any = None, **headers: str) -> Any:
        return self.request("POST", path, data, **headers)

    def post_multipart(self, path: str, data: dict[str, Any], **headers: str) -> Any:
        """A multipart form (fields and uploaded files), the answer checked against the contract."""
        url = self.prefix + path
        response = self.client.post(url, data, headers={**self.headers, **headers})
        assert response["Content-Type"].startswith("application/json"), (url, response.status_code)
        response.data = response.json()
        check_contract("POST", url, response.status_code, response.data)
        self.calls.append(("POST", url, response.status_code))
        return response


def token_for(user: Any) -> str:
    _token, raw = create_api_token(user, "tests")
    return raw
