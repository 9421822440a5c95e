"""``/api/v1/verification``: one address now, a whole list in the background, results.

DNS and the mailbox probe go to the sandbox on loopback, never to the internet.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from starlette.testclient import TestClient

from sendwell.app import App
from sendwell.audience.lists import create_list
from sendwell.audience.records import NewSubscriber
from sendwell.audience.subscribers import add_subscribers
from sendwell.web.app import create_app
from sendwell.web.runner import JobRunner
from tests.web.conftest import sandboxed, token_for

# Sandbox domains: gmail.sandbox and the like look like typos of the real providers.
PEOPLE = [
    "ann@example-corp.sandbox", "info@example-corp.sandbox", "zed@nullmx.sandbox",
    "bo@example-corp2.sandbox",
]  # fmt: skip


@pytest.fixture
def world(app: App) -> Iterator[tuple[App, TestClient]]:
    with sandboxed(app) as (a, _), TestClient(create_app(a), base_url="https://t") as client:
        yield a, client


def test_one_address_is_verified_now(world: tuple[App, TestClient]) -> None:
    a, client = world
    auth = token_for(a, "verification:write")

    def check(email: str, **extra: object) -> dict[str, object]:
        r = client.post("/api/v1/verification/check", json={"email": email, **extra}, headers=auth)
        assert r.status_code == 200, r.text
        return dict(r.json())

    ann = check(" Ann@Example-Corp.Sandbox ")
    assert (ann["verdict"], ann["normalized"]) == ("valid", "ann@example-corp.sandbox")
    assert check("info@example-corp.sandbox")["role"] is True
    assert check("zed@nullmx.sandbox")["reasons"] == ["null_mx"]
    assert check("ann@gmail.sandbox")["suggestion"] == "ann@gmail.com"
    broken = check("not an address")
    assert (broken["verdict"], broken["syntax_valid"]) == ("invalid", False)
    # The probe asks the sandbox's MX about the mailbox: this one accepts any address.
    assert check("nobody-77@example-corp.sandbox", probe=True)["reasons"] == ["catch_all"]
    assert check("nobody-77@example-corp.sandbox", probe=False)["reasons"] == []
    read_only = token_for(a, "verification:read")
    denied = client.post("/api/v1/verification/check", json={"email": "a@b.c"}, headers=read_only)
    assert denied.status_code == 403


def test_a_list_is_verified_in_the_background(world: tuple[App, TestClient]) -> None:
    a, client = world
    with a.engine.begin() as conn:
        ml = create_list(conn, "News", now=a.clock.now())
        add_subscribers(conn, [NewSubscriber(e) for e in PEOPLE], mailing_list=ml,
                        now=a.clock.now())  # fmt: skip
    auth = token_for(a, "verification:write", "subscribers:read")
    before = client.get(f"/api/v1/verification/summary?list_id={ml.id}", headers=auth).json()
    assert before["verdicts"]["unverified"] == 4
    r = client.post("/api/v1/verification/runs", json={"list_id": ml.id}, headers=auth)
    assert r.status_code == 202, r.text
    run = r.json()
    assert (run["total"], run["probe"]) == (4, False)
    runner: JobRunner = client.app.state.sendwell_jobs  # type: ignore[attr-defined]
    runner.wait(run["id"])

    done = client.get(f"/api/v1/verification/runs/{run['id']}", headers=auth).json()
    assert (done["state"], done["checked"], done["percent"]) == ("finished", 4, 100)
    assert done["verdicts"] == {"valid": 2, "risky": 1, "invalid": 1, "unknown": 0}
    results = client.get(f"/api/v1/verification/results?list_id={ml.id}", headers=auth).json()
    assert [r["email"] for r in results["items"]] == PEOPLE
    assert results["items"][1]["verification"]["reasons"] == ["role"]
    invalid = client.get(
        f"/api/v1/verification/results?list_id={ml.id}&verdict=invalid", headers=auth
    ).json()
    assert [r["email"] for r in invalid["items"]] == ["zed@nullmx.sandbox"]
    after = client.get(f"/api/v1/verification/summary?list_id={ml.id}", headers=auth).json()
    assert after["verdicts"] == {"valid": 2, "risky": 1, "invalid": 1, "unknown": 0,
                                 "unverified": 0}  # fmt: skip
    runs = client.get(f"/api/v1/verification/runs?list_id={ml.id}", headers=auth).json()
    assert [x["id"] for x in runs["items"]] == [run["id"]]
    assert client.post(
        f"/api/v1/verification/runs/{run['id']}/cancel", headers=auth
    ).status_code == 409  # fmt: skip
    assert client.post(
        "/api/v1/verification/runs", json={"list_id": 4242}, headers=auth
    ).status_code == 404  # fmt: skip
    assert client.get(
        "/api/v1/verification/results?list_id=4242", headers=auth
    ).status_code == 404  # fmt: skip
    no_people = token_for(a, "verification:read")
    assert client.get(
        f"/api/v1/verification/results?list_id={ml.id}", headers=no_people
    ).status_code == 403  # fmt: skip
