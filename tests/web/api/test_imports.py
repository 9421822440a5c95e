"""``/api/v1/imports``: upload, background import, progress, error file, refusals, cancel."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from sqlalchemy import func, select
from starlette.testclient import TestClient

from sendwell.app import App
from sendwell.audience.addresses import normalize
from sendwell.audience.consent import history
from sendwell.store.schema import subscribers
from sendwell.store.schema_web import web_jobs
from sendwell.web.app import create_app
from tests.web.conftest import busy, make_settings, runner_of, seed, token_for

CSV = (
    "E-Mail Adresse,Vorname,Plan,Notes\n"
    "ann@example.net,Ann,pro,likes cats\n"
    "not-an-address,X,free,\n"
    "bob@example.net,Bob,free,\n"
    "ann@example.net,Ann again,pro,\n"
)
MAPPING = '{"E-Mail Adresse": "email", "Vorname": "first_name", "Notes": "ignore"}'


def upload(client: TestClient, auth: dict[str, str], list_id: int, body: str = CSV,
           name: str = "people.csv", **fields: str):  # type: ignore[no-untyped-def]  # fmt: skip
    data = {"list_id": str(list_id), "basis": "consent", "mapping": MAPPING,
            "wording": "Yes, send me news", **fields}  # fmt: skip
    return client.post(
        "/api/v1/imports", files={"file": (name, body.encode(), "text/csv")}, data=data,
        headers=auth,
    )  # fmt: skip


def test_an_upload_is_imported_in_the_background(client: TestClient, app: App) -> None:
    list_id, _ = seed(app, people=1)
    auth = token_for(app, "subscribers:write")
    r = upload(client, auth, list_id)
    assert r.status_code == 202, r.text
    queued = r.json()
    assert queued["state"] in ("queued", "running", "finished")
    assert queued["file_name"] == "people.csv"
    assert queued["bytes_total"] == len(CSV.encode())
    assert queued["mapping"]["E-Mail Adresse"] == "email"
    runner_of(client).wait(queued["id"])

    done = client.get(f"/api/v1/imports/{queued['id']}", headers=auth).json()
    assert done["state"] == "finished", done
    assert done["percent"] == 100
    assert done["bytes_read"] == done["bytes_total"]
    assert done["counts"] == {"rows": 4, "added": 2, "updated": 0, "skipped": 0, "rejected": 2}
    with app.engine.connect() as conn:
        ann = conn.execute(
            select(subscribers).where(subscribers.c.email == "ann@example.net")
        ).one()
        log = history(conn, normalize("ann@example.net"))
    assert ann.first_name == "Ann"
    assert ann.attributes == {"Plan": "pro"}  # Notes were mapped to ignore
    assert [(e.action, e.evidence.lawful_basis, e.evidence.wording) for e in log] == [
        ("import", "consent", "Yes, send me news")
    ]

    errors = client.get(done["errors_url"], headers=auth)
    assert errors.status_code == 200
    assert errors.headers["content-type"].startswith("text/csv")
    assert "attachment" in errors.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(errors.text)))
    assert rows[0] == ["line", "reason", "values"]
    assert [r[0] for r in rows[1:]] == ["3", "5"]  # the bad address, the duplicate
    # The upload itself is not kept once imported; the error file is.
    uploads = app.settings.data_dir / "uploads" / f"job-{queued['id']}"
    assert sorted(p.name for p in uploads.iterdir()) == ["errors.csv"]

    listed = client.get(f"/api/v1/imports?list_id={list_id}", headers=auth).json()
    assert [i["id"] for i in listed["items"]] == [queued["id"]]
    assert client.get("/api/v1/imports?state=failed", headers=auth).json()["items"] == []
    read_only = token_for(app, "subscribers:read")
    assert client.get(f"/api/v1/imports/{queued['id']}", headers=read_only).status_code == 200
    assert upload(client, read_only, list_id).status_code == 403


def test_json_lines_by_file_name(client: TestClient, app: App) -> None:
    list_id, _ = seed(app, people=1)
    auth = token_for(app, "subscribers:write")
    body = '{"email": "cy@example.net", "city": "Oslo"}\n{"email": "bad"}\n'
    r = upload(client, auth, list_id, body=body, name="people.jsonl", mapping="")
    assert r.status_code == 202, r.text
    assert r.json()["format"] == "jsonl"
    runner_of(client).wait(r.json()["id"])
    done = client.get(f"/api/v1/imports/{r.json()['id']}", headers=auth).json()
    assert (done["state"], done["counts"]["added"], done["counts"]["rejected"]) == (
        "finished", 1, 1,
    )  # fmt: skip


def test_refused_uploads_leave_nothing_behind(client: TestClient, app: App) -> None:
    list_id, _ = seed(app, people=1)
    auth = token_for(app, "subscribers:write")
    cases = [
        ({"basis": "soft_opt_in"}, CSV, "purchase"),
        ({"mapping": '{"E-Mail Adresse": "emial"}'}, CSV, "emial"),
        ({"mapping": '{"Nope": "email"}'}, CSV, "Nope"),
        ({"mapping": "[1]"}, CSV, "JSON object"),
        ({"mapping": "{"}, CSV, "not valid JSON"),
        ({"mapping": ""}, "name,city\nAnn,Oslo\n", "email"),
        ({}, "", "empty"),
        ({"encoding": "klingon"}, CSV, "encoding"),
        ({"basis": "consent", "implied_by": "purchase"}, CSV, "soft_opt_in"),
    ]
    for fields, body, word in cases:
        r = upload(client, auth, list_id, body=body, **fields)
        assert r.status_code == 422, (fields, r.text)
        assert r.json()["error"]["code"] == "invalid_input", r.text
        assert word in r.json()["error"]["message"], (fields, r.json())
    r = upload(client, auth, list_id, basis="")
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "validation_error"
    assert "basis" in r.json()["error"]["message"]
    assert upload(client, auth, 4242).status_code == 404
    with app.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(web_jobs)).scalar_one() == 0
    uploads = app.settings.data_dir / "uploads"
    assert not uploads.exists() or list(uploads.iterdir()) == []


def test_uploads_over_the_limit_are_refused(app: App, tmp_path: Path) -> None:
    small = App(
        settings=make_settings(tmp_path, web_max_upload_bytes=2000, web_max_body_bytes=100),
        engine=app.engine, clock=app.clock,
    )  # fmt: skip
    list_id, _ = seed(small, people=1)
    auth = token_for(small, "subscribers:write")
    with TestClient(create_app(small), base_url="https://testserver") as client:
        # Over the ordinary body limit but under the upload limit: accepted.
        assert upload(client, auth, list_id).status_code == 202
        big = "email\n" + "someone@example.net\n" * 200
        r = upload(client, auth, list_id, body=big)
        assert r.status_code == 413
        assert r.json()["error"]["code"] == "payload_too_large"
        # The upload limit applies to the upload route only.
        r = client.post("/api/v1/lists", content=b"x" * 500, headers=auth)
        assert r.status_code == 413


def test_a_queued_import_can_be_cancelled(client: TestClient, app: App) -> None:
    list_id, _ = seed(app, people=1)
    auth = token_for(app, "subscribers:write")
    runner = runner_of(client)
    with busy(runner):
        r = upload(client, auth, list_id)
        assert r.json()["state"] == "queued"
        cancelled = client.post(f"/api/v1/imports/{r.json()['id']}/cancel", headers=auth)
        assert cancelled.status_code == 200
        assert cancelled.json()["state"] == "cancelled"
    runner.wait(r.json()["id"])
    after = client.get(f"/api/v1/imports/{r.json()['id']}", headers=auth).json()
    assert after["state"] == "cancelled"
    assert after["counts"]["added"] == 0
    # A cancelled import keeps no copy of the uploaded file.
    assert not (app.settings.data_dir / "uploads" / f"job-{after['id']}" / "upload").exists()
    again = client.post(f"/api/v1/imports/{r.json()['id']}/cancel", headers=auth)
    assert again.status_code == 409
    assert client.get("/api/v1/imports/999", headers=auth).status_code == 404
    assert client.get("/api/v1/imports/999/errors", headers=auth).status_code == 404


def test_a_stopping_server_takes_no_new_import(client: TestClient, app: App) -> None:
    list_id, _ = seed(app, people=1)
    auth = token_for(app, "subscribers:write")
    runner_of(client).close()
    r = upload(client, auth, list_id)
    assert r.status_code == 409
    assert "stopping" in r.json()["error"]["message"]
    assert client.get("/api/v1/imports", headers=auth).json()["items"] == []
