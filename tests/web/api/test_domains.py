"""``/api/v1/domains``: add (records to publish, never a private key), list, check over DNS
(the sandbox's DNS server on loopback)."""

from __future__ import annotations

from sqlalchemy import select
from starlette.testclient import TestClient

from sendwell.app import App
from sendwell.sandbox import DnsRecord
from sendwell.store.schema_content import sending_domains
from sendwell.web.app import create_app
from tests.web.conftest import sandboxed, token_for

SETTINGS = {"spf_sources": "203.0.113.9", "bounce_domain": ""}


def test_add_list_and_records_never_show_a_private_key(client: TestClient, app: App) -> None:
    auth = token_for(app, "domains:write")
    r = client.post(
        "/api/v1/domains", json={"domain": "News.Example.COM", "selector": "s1", "ed25519": True},
        headers=auth,
    )  # fmt: skip
    assert r.status_code == 201, r.text
    body = r.json()
    assert (body["domain"], body["selector"], body["ed25519_selector"]) == (
        "news.example.com", "s1", "s1e",
    )  # fmt: skip
    kinds = [(x["name"], x["type"]) for x in body["records"]]
    assert ("s1._domainkey.news.example.com", "TXT") in kinds
    assert ("s1e._domainkey.news.example.com", "TXT") in kinds
    assert ("_dmarc.news.example.com", "TXT") in kinds
    dkim = next(x for x in body["records"] if x["name"].startswith("s1._domainkey"))
    assert dkim["value"].startswith("v=DKIM1; k=rsa; p=")
    assert dkim["zone_line"].startswith('s1._domainkey.news.example.com. IN TXT "v=DKIM1')
    with app.engine.connect() as conn:
        sealed = conn.execute(select(sending_domains.c.private_key)).scalar_one()
    for response in (r, client.get("/api/v1/domains/news.example.com", headers=auth),
                     client.get("/api/v1/domains", headers=auth)):  # fmt: skip
        assert "PRIVATE" not in response.text and sealed[:40] not in response.text
    listed = client.get("/api/v1/domains", headers=auth).json()
    assert [d["domain"] for d in listed["items"]] == ["news.example.com"]
    assert client.post("/api/v1/domains", json={"domain": "news.example.com"},
                       headers=auth).status_code == 409  # fmt: skip
    bad = client.post("/api/v1/domains", json={"domain": "exa mple"}, headers=auth)
    assert bad.status_code == 422
    assert client.get("/api/v1/domains/other.example", headers=auth).status_code == 404
    assert client.post("/api/v1/domains", json={"domain": "x.example"},
                       headers=token_for(app, "domains:read")).status_code == 403  # fmt: skip


def test_check_over_dns(app: App) -> None:
    auth = token_for(app, "domains:write")
    base = app.settings.replace(**SETTINGS)
    app = App(settings=base, engine=app.engine, clock=app.clock)
    with TestClient(create_app(app), base_url="https://t") as client:
        published = client.post("/api/v1/domains", json={"domain": "example.com"},
                                headers=auth).json()["records"]  # fmt: skip
    # The zone exists but nothing is published yet: the checks fail and say how to fix it.
    zone = (DnsRecord("example.com", "A", "203.0.113.9"),)
    with sandboxed(app, zone) as (a, _), TestClient(create_app(a), base_url="https://t") as client:
        bare = client.get("/api/v1/domains/example.com/check", headers=auth).json()
    assert bare["ok"] is False
    assert {f["check"] for f in bare["findings"] if not f["ok"]} == {"SPF", "DKIM", "DMARC"}
    assert all(f["fix"] for f in bare["findings"] if not f["ok"])

    # Publish exactly what the API said to publish: every check passes.
    records = tuple(DnsRecord(x["name"], x["type"], x["value"]) for x in published)
    with sandboxed(app, records) as (a, _), TestClient(create_app(a), base_url="https://t") as c:
        good = c.get("/api/v1/domains/example.com/check", headers=auth).json()
    assert good["ok"] is True, good
    assert {f["check"] for f in good["findings"]} >= {"SPF", "DKIM", "DMARC"}

    # DNS that cannot answer is not a failed check but an unavailable one.
    faults = {"example.com": "servfail", "_dmarc.example.com": "servfail"}
    with sandboxed(app, records, faults) as (a, _), TestClient(create_app(a)) as c:
        down = c.get("/api/v1/domains/example.com/check", headers=auth)
    assert down.status_code == 502
    assert down.json()["error"]["code"] == "dns_unavailable"
    assert "example.com" in down.json()["error"]["message"]
