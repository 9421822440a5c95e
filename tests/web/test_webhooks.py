"""Provider webhooks over HTTP: signature-verified, applied once, errors in the one shape."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import Engine, select
from starlette.testclient import TestClient

from sendwell.app import App
from sendwell.audience.addresses import address_hash
from sendwell.clock import FrozenClock
from sendwell.store.schema import suppressions
from sendwell.web.app import create_app
from tests.web.conftest import make_settings


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:
    """SQLite only: this module tests the web layer; its database work is covered on both
    backends by test_api.py, test_auth.py and the capabilities' own tests."""
    return sqlite_engine


MAILGUN_KEY = "mailgun-signing-key"
POSTMARK = "hook:s3cret-pass"


@pytest.fixture
def hooked(engine: Engine, clock: FrozenClock, tmp_path: Path) -> tuple[App, TestClient, str]:
    key = ec.generate_private_key(ec.SECP256R1())
    public = base64.b64encode(
        key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).decode()
    settings = make_settings(
        tmp_path, mailgun_webhook_signing_key=MAILGUN_KEY, postmark_webhook_credentials=POSTMARK,
        sendgrid_webhook_public_key=public, ses_topic_arns="arn:aws:sns:eu-west-1:1:ses",
    )  # fmt: skip
    app = App(settings=settings, engine=engine, clock=clock)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()  # fmt: skip
    return app, TestClient(create_app(app), base_url="https://testserver"), pem


def _suppressed(app: App, email: str) -> list[str]:
    with app.engine.connect() as conn:
        return list(
            conn.execute(
                select(suppressions.c.reason).where(
                    suppressions.c.email_hash == address_hash(email)
                )
            ).scalars()
        )


def _mailgun_body(clock: FrozenClock, key: str = MAILGUN_KEY) -> bytes:
    timestamp, token = str(int(clock.now().timestamp())), "tok123"
    signature = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return json.dumps({
        "signature": {"timestamp": timestamp, "token": token, "signature": signature},
        "event-data": {"id": "evt-1", "event": "complained", "recipient": "ann@example.org"},
    }).encode()  # fmt: skip


def test_mailgun_complaint_is_applied_once(
    hooked: tuple[App, TestClient, str], clock: FrozenClock
) -> None:
    app, client, _ = hooked
    body = _mailgun_body(clock)
    r = client.post("/webhooks/mailgun", content=body)
    assert r.status_code == 200, r.text
    assert r.json()["applied"] >= 1
    assert _suppressed(app, "ann@example.org") == ["complaint"]
    again = client.post("/webhooks/mailgun", content=body)
    assert again.json() == {"applied": 0}


def test_a_bad_signature_applies_nothing(
    hooked: tuple[App, TestClient, str], clock: FrozenClock
) -> None:
    app, client, _ = hooked
    r = client.post("/webhooks/mailgun", content=_mailgun_body(clock, key="wrong"))
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_input"
    assert "signature" in r.json()["error"]["message"]
    assert _suppressed(app, "ann@example.org") == []
    not_json = client.post("/webhooks/postmark", content=b"{", headers={"Authorization": "x"})
    assert not_json.status_code == 422
    ses = client.post("/webhooks/ses", content=json.dumps({"TopicArn": "arn:other"}).encode())
    assert ses.status_code == 422
    assert "topic" in ses.json()["error"]["message"]


def test_postmark_basic_auth(hooked: tuple[App, TestClient, str]) -> None:
    app, client, _ = hooked
    doc = {"RecordType": "SpamComplaint", "ID": 42, "Email": "bob@example.org"}
    auth = "Basic " + base64.b64encode(POSTMARK.encode()).decode()
    bad = client.post("/webhooks/postmark", json=doc, headers={"Authorization": "Basic eDp5"})
    assert bad.status_code == 422
    r = client.post("/webhooks/postmark", json=doc, headers={"Authorization": auth})
    assert r.status_code == 200
    assert _suppressed(app, "bob@example.org") == ["complaint"]


def test_sendgrid_signed_events(hooked: tuple[App, TestClient, str], clock: FrozenClock) -> None:
    app, client, pem = hooked
    key = serialization.load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    body = json.dumps([
        {"sg_event_id": "sg-1", "event": "bounce", "email": "cy@example.org",
         "status": "5.1.1", "reason": "550 5.1.1 user unknown", "type": "bounce"},
    ]).encode()  # fmt: skip
    timestamp = str(int(clock.now().timestamp()))
    signature = base64.b64encode(
        key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
    ).decode()
    headers = {
        "X-Twilio-Email-Event-Webhook-Signature": signature,
        "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
    }
    r = client.post("/webhooks/sendgrid", content=body, headers=headers)
    assert r.status_code == 200, r.text
    assert _suppressed(app, "cy@example.org") == ["hard_bounce"]
    tampered = client.post("/webhooks/sendgrid", content=body + b" ", headers=headers)
    assert tampered.status_code == 422


def test_unconfigured_providers_refuse(client: TestClient) -> None:
    r = client.post("/webhooks/mailgun", content=b'{"signature": {}}')
    assert r.status_code == 422
    assert r.json()["error"]["code"] == "invalid_input"
