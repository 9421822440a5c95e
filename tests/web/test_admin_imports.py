"""The admin import pages: upload, column mapping (with previews), progress, errors."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from sendwell.app import App
from sendwell.store.schema import subscribers
from tests.web.conftest import busy, runner_of, seed, sign_in

CSV = "Adresse;Name\n".replace(";", ",") + "ann@example.net,Ann\nbroken,X\nbo@example.net,Bo\n"


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:
    """SQLite only: the import itself runs on both backends in the API tests."""
    return sqlite_engine


def upload(client: TestClient, csrf: str, list_id: int, body: bytes, name: str = "crm.csv",
           encoding: str = "utf-8"):  # type: ignore[no-untyped-def]  # fmt: skip
    return client.post(
        "/admin/imports", files={"file": (name, body, "text/csv")},
        data={"list_id": str(list_id), "encoding": encoding, "csrf_token": csrf},
        follow_redirects=False,
    )  # fmt: skip


def test_upload_map_and_import(client: TestClient, app: App) -> None:
    list_id, _ = seed(app, people=1)
    csrf = sign_in(client, app)
    assert "Upload and map columns" in client.get("/admin/imports").text
    r = upload(client, csrf, list_id, CSV.encode())
    assert r.status_code == 303, r.text
    mapping_url = r.headers["location"]
    import_id = int(mapping_url.split("/")[3])
    page = client.get(mapping_url)
    assert page.status_code == 200
    assert "Adresse" in page.text and "ann@example.net" in page.text
    # No column looks like an email column yet: starting says so, keeps the choices.
    form = {"csrf_token": csrf, "map": ["attribute", "first_name"], "basis": "consent",
            "mode": "upsert", "encoding": "utf-8", "action": "start"}  # fmt: skip
    refused = client.post(f"/admin/imports/{import_id}/start", data=form)
    assert refused.status_code == 422
    assert "exactly one column to email" in refused.text
    no_basis = client.post(
        f"/admin/imports/{import_id}/start", data={**form, "map": ["email", "first_name"],
                                                   "basis": ""},
    )  # fmt: skip
    assert no_basis.status_code == 422
    assert "lawful basis" in no_basis.text
    ok = client.post(
        f"/admin/imports/{import_id}/start", data={**form, "map": ["email", "first_name"]},
        follow_redirects=False,
    )  # fmt: skip
    assert ok.status_code == 303, ok.text
    assert ok.headers["location"] == f"/admin/imports/{import_id}"
    runner_of(client).wait(import_id)
    progress = client.get(f"/admin/imports/{import_id}/progress.json").json()
    assert progress["state"] == "finished" and progress["percent"] == 100
    assert progress["counts"] == {"added": 2, "updated": 0, "skipped": 0, "rejected": 1}
    assert progress["errors_url"] == f"/admin/imports/{import_id}/errors.csv"
    detail = client.get(f"/admin/imports/{import_id}").text
    assert "Download the rows not imported" in detail
    errors = client.get(progress["errors_url"])
    assert errors.status_code == 200 and "broken" in errors.text
    with app.engine.connect() as conn:
        names = dict(conn.execute(select(subscribers.c.email, subscribers.c.first_name)).all())
    assert names["ann@example.net"] == "Ann"
    # A started import has no mapping page any more, and cannot be started twice.
    assert client.get(mapping_url, follow_redirects=False).status_code == 303
    again = client.post(f"/admin/imports/{import_id}/start",
                        data={**form, "map": ["email", "first_name"]})  # fmt: skip
    assert again.status_code == 409
    assert f"#{import_id}" in client.get("/admin/imports").text


def test_encoding_preview_and_refused_uploads(client: TestClient, app: App) -> None:
    list_id, _ = seed(app, people=1)
    csrf = sign_in(client, app)
    body = "email,Stadt\nann@example.net,Zürich\n".encode("cp1252")
    r = upload(client, csrf, list_id, body)
    import_id = int(r.headers["location"].split("/")[3])
    assert "Zürich" not in client.get(r.headers["location"]).text
    preview = client.post(
        f"/admin/imports/{import_id}/start",
        data={"csrf_token": csrf, "map": ["email", "attribute"], "encoding": "cp1252",
              "action": "preview"},
    )  # fmt: skip
    assert preview.status_code == 200
    assert "Zürich" in preview.text
    assert 'value="cp1252" selected' in preview.text

    empty = upload(client, csrf, list_id, b"")
    assert empty.status_code == 422 and "empty" in empty.text
    nowhere = upload(client, csrf, 4242, b"email\na@b.c\n")
    assert nowhere.status_code == 422 and "no list" in nowhere.text
    forged = client.post(
        "/admin/imports", files={"file": ("x.csv", b"email\n", "text/csv")},
        data={"list_id": str(list_id), "csrf_token": "forged"},
    )  # fmt: skip
    assert forged.status_code == 403


def test_cancel_a_queued_import_from_its_page(client: TestClient, app: App) -> None:
    list_id, _ = seed(app, people=1)
    csrf = sign_in(client, app)
    r = upload(client, csrf, list_id, CSV.encode())
    import_id = int(r.headers["location"].split("/")[3])
    form = {"csrf_token": csrf, "map": ["email", "first_name"], "basis": "consent"}
    with busy(runner_of(client)):
        client.post(f"/admin/imports/{import_id}/start", data=form)
        page = client.get(f"/admin/imports/{import_id}").text
        assert "Cancel the import" in page and 'data-url="/admin/imports/' in page
        done = client.post(f"/admin/imports/{import_id}/cancel", data={"csrf_token": csrf},
                           follow_redirects=False)  # fmt: skip
        assert done.status_code == 303
    assert client.get(f"/admin/imports/{import_id}/progress.json").json()["state"] == "cancelled"
    assert "Cancel the import" not in client.get(f"/admin/imports/{import_id}").text
    forged = client.post(f"/admin/imports/{import_id}/cancel", data={"csrf_token": "x"})
    assert forged.status_code == 403
