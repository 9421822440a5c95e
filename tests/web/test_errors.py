"""One error format: sendwell errors, validation errors and HTTP refusals alike."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from sendwell import errors
from sendwell.app import App
from sendwell.domains.check import DnsCheckError
from sendwell.web.errors import classify
from tests.web.conftest import token_for


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:
    """SQLite only: this module tests the web layer; its database work is covered on both
    backends by test_api.py, test_auth.py and the capabilities' own tests."""
    return sqlite_engine


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (errors.NotFound("x"), 404, "not_found"),
        (errors.InvalidInput("x"), 422, "invalid_input"),
        (errors.TemplateError("x"), 422, "template_error"),
        (errors.ConflictError("x"), 409, "conflict"),
        (errors.StorageError("x"), 503, "storage_unavailable"),
        (errors.ConfigError("x"), 500, "config_error"),
        (errors.TemporaryFailure(421, "busy"), 502, "delivery_error"),
        (DnsCheckError("DNS lookup failed"), 502, "dns_unavailable"),
    ],
)
def test_every_error_class_has_a_status(
    error: errors.SendwellError, status: int, code: str
) -> None:
    assert classify(error) == (status, code)


def _shape(body: object) -> tuple[str, str]:
    assert isinstance(body, dict)
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    return body["error"]["code"], body["error"]["message"]


def test_not_found_conflict_validation_and_auth_share_one_shape(
    client: TestClient, app: App
) -> None:
    auth = token_for(app, "all")
    r = client.get("/api/v1/lists/99", headers=auth)
    assert r.status_code == 404
    assert _shape(r.json()) == ("not_found", "no list with id 99")

    assert client.post("/api/v1/lists", json={"name": "A"}, headers=auth).status_code == 201
    r = client.post("/api/v1/lists", json={"name": "A"}, headers=auth)
    assert r.status_code == 409
    assert _shape(r.json())[0] == "conflict"

    r = client.post("/api/v1/lists", json={"name": ""}, headers=auth)
    assert r.status_code == 422
    code, message = _shape(r.json())
    assert code == "validation_error"
    assert "name" in message

    r = client.get("/api/v1/lists/notanumber", headers=auth)
    assert r.status_code == 422
    assert _shape(r.json())[0] == "validation_error"

    r = client.get("/api/v1/lists")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"
    assert _shape(r.json())[0] == "unauthorized"

    r = client.get("/api/v1/nothing-here", headers=auth)
    assert r.status_code == 404
    assert _shape(r.json())[0] == "not_found"


def test_browsers_get_an_escaped_html_error_page(client: TestClient) -> None:
    r = client.get("/subscribe/424242", headers={"Accept": "text/html"})
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("text/html")
    assert "no list with id 424242" in r.text


def test_oversized_bodies_are_refused(client: TestClient, app: App) -> None:
    limit = app.settings.web_max_body_bytes
    r = client.post("/api/v1/lists", content=b"x" * (limit + 1), headers=token_for(app, "all"))
    assert r.status_code == 413
    assert _shape(r.json())[0] == "payload_too_large"

    def chunks():  # no Content-Length: counted as it arrives
        for _ in range(limit // 65536 + 2):
            yield b"y" * 65536

    r = client.post("/webhooks/mailgun", content=chunks())
    assert r.status_code == 413
    assert _shape(r.json())[0] == "payload_too_large"


def test_security_headers_on_every_response(client: TestClient) -> None:
    r = client.get("/admin/login")
    assert r.headers["x-frame-options"] == "DENY"
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-content-type-options"] == "nosniff"
