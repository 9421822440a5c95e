"""Provider webhooks: real signatures made with real keys, idempotent application."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from sqlalchemy import Engine

from sendwell.audience.addresses import normalize
from sendwell.audience.suppressions import is_suppressed, unsuppress
from sendwell.clock import FrozenClock
from sendwell.compose.reference import reference_token
from sendwell.errors import InvalidInput
from sendwell.feedback import webhooks as wh
from sendwell.feedback.policy import FeedbackPolicy
from tests.feedback.helpers import KEY, make_campaign

POLICY = FeedbackPolicy(breaker_min_sample=10**6)
TOPIC = "arn:aws:sns:eu-west-1:123456789012:ses-feedback"
CERT_URL = "https://sns.eu-west-1.amazonaws.com/SimpleNotificationService-abc.pem"


@pytest.fixture(scope="module")
def rsa_cert() -> tuple[rsa.RSAPrivateKey, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM)


def _sns(
    key: rsa.RSAPrivateKey, message: Mapping[str, object], now: datetime, version: str = "2"
) -> bytes:
    msg = {
        "Type": "Notification",
        "MessageId": "m-1",
        "TopicArn": TOPIC,
        "Message": json.dumps(message),
        "Timestamp": now.isoformat().replace("+00:00", "Z"),
        "SignatureVersion": version,
        "SigningCertURL": CERT_URL,
    }
    algo = hashes.SHA256() if version == "2" else hashes.SHA1()
    sig = key.sign(wh.sns_string_to_sign(msg), padding.PKCS1v15(), algo)
    msg["Signature"] = base64.b64encode(sig).decode()
    return json.dumps(msg).encode()


def _suppressed(engine: Engine, email: str, now: datetime) -> bool:
    with engine.connect() as conn:
        return is_suppressed(conn, normalize(email).hash, now=now)


@pytest.mark.parametrize("version", ["1", "2"])
def test_ses_bounce_via_sns_is_verified_and_applied_once(
    engine: Engine, clock: FrozenClock, rsa_cert: tuple[rsa.RSAPrivateKey, bytes], version: str
) -> None:
    key, pem = rsa_cert
    now = clock.now()
    w = make_campaign(engine, ["ses@example.net"], now)
    note = {
        "notificationType": "Bounce",
        "bounce": {
            "feedbackId": "fb-1",
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [
                {
                    "emailAddress": "ses@example.net",
                    "status": "5.1.1",
                    "diagnosticCode": "smtp; 550 5.1.1 user unknown",
                }
            ],
        },
        "mail": {
            "headers": [
                {"name": "X-Sendwell-Ref", "value": reference_token(w.rows["ses@example.net"], KEY)}
            ]
        },
    }
    body = _sns(key, note, now, version)
    msg = wh.verify_sns(
        body, allowed_topics=[TOPIC], cert_loader=lambda url: pem, now=now, max_age=600
    )
    events = wh.ses_events(msg, KEY)
    assert events[0].report.outbox_id == w.rows["ses@example.net"]
    with engine.begin() as conn:
        first = wh.process_events(conn, events, now=now, policy=POLICY)
    with engine.begin() as conn:
        replay = wh.process_events(conn, wh.ses_events(msg, KEY), now=now, policy=POLICY)
    assert [a.kind for a in first] == ["bounce_hard", "suppressed"]
    assert replay == []
    assert _suppressed(engine, "ses@example.net", now)


def test_sns_forgeries_are_refused(
    clock: FrozenClock, rsa_cert: tuple[rsa.RSAPrivateKey, bytes]
) -> None:
    key, pem = rsa_cert
    now = clock.now()
    body = _sns(key, {"notificationType": "Complaint"}, now)
    tampered = body.replace(b"Complaint", b"Bounce")

    def verify(b: bytes, **kw: object) -> object:
        args: dict[str, object] = {
            "allowed_topics": [TOPIC],
            "cert_loader": lambda u: pem,
            "now": now,
            "max_age": 600,
        }
        args.update(kw)
        return wh.verify_sns(b, **args)  # type: ignore[arg-type]

    with pytest.raises(InvalidInput, match="signature"):
        verify(tampered)
    with pytest.raises(InvalidInput, match="topic"):
        verify(body, allowed_topics=["arn:aws:sns:eu-west-1:1:other"])
    with pytest.raises(InvalidInput, match="URL"):
        verify(body.replace(b"sns.eu-west-1.amazonaws.com", b"evil.example.com"))
    with pytest.raises(InvalidInput, match="replay"):
        verify(body, now=now + timedelta(hours=2))
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(InvalidInput, match="signature"):
        verify(_sns(other, {"notificationType": "Complaint"}, now))
    with pytest.raises(InvalidInput):
        verify(b"not json")


def test_a_replayed_event_acts_once_even_after_an_operator_lifted_its_suppression(
    engine: Engine, clock: FrozenClock
) -> None:
    """Receipts outlive suppressions: an operator who lifts a suppression by hand is not
    overruled by an old event replayed (or re-delivered) later."""
    now = clock.now()
    make_campaign(engine, ["pm@example.net"], now)
    doc = {"RecordType": "Bounce", "ID": 7, "Type": "HardBounce", "Email": "pm@example.net",
           "Details": "smtp;550 5.1.1 The email account does not exist"}  # fmt: skip
    with engine.begin() as conn:
        first = wh.process_events(conn, wh.postmark_events(doc, KEY), now=now, policy=POLICY)
    assert [a.kind for a in first] == ["bounce_hard", "suppressed"]
    with engine.begin() as conn:
        assert unsuppress(conn, "pm@example.net") == 1
    later = now + timedelta(days=3)
    with engine.begin() as conn:
        replay = wh.process_events(conn, wh.postmark_events(doc, KEY), now=later, policy=POLICY)
    assert replay == []
    assert not _suppressed(engine, "pm@example.net", later)


def test_sendgrid_signed_events(engine: Engine, clock: FrozenClock) -> None:
    now = clock.now()
    make_campaign(engine, ["sg@example.net", "blocked@example.net"], now)
    private = ec.generate_private_key(ec.SECP256R1())
    public = base64.b64encode(
        private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).decode()
    body = json.dumps(
        [
            {"email": "sg@example.net", "event": "spamreport", "sg_event_id": "e1"},
            {
                "email": "blocked@example.net",
                "event": "bounce",
                "type": "blocked",
                "sg_event_id": "e2",
                "status": "5.7.1",
                "reason": "550 5.7.1 IP listed on Spamhaus",
            },
            {"email": "x@example.net", "event": "delivered", "sg_event_id": "e3"},
        ]
    ).encode()
    ts = str(int(now.timestamp()))
    sig = base64.b64encode(private.sign(ts.encode() + body, ec.ECDSA(hashes.SHA256()))).decode()
    events = wh.verify_sendgrid(
        body, signature=sig, timestamp=ts, public_key=public, now=now, max_age=600
    )
    with engine.begin() as conn:
        actions = wh.process_events(conn, wh.sendgrid_events(events, KEY), now=now, policy=POLICY)
    kinds = [a.kind for a in actions]
    assert kinds == ["complaint", "suppressed", "unsubscribe", "bounce_block"]
    assert not _suppressed(engine, "blocked@example.net", now)
    with pytest.raises(InvalidInput):
        wh.verify_sendgrid(
            body + b" ", signature=sig, timestamp=ts, public_key=public, now=now, max_age=600
        )


def test_mailgun_hmac_and_replay(engine: Engine, clock: FrozenClock) -> None:
    now = clock.now()
    make_campaign(engine, ["mg@example.net"], now)
    signing = b"mailgun-key"
    ts, token = str(int(now.timestamp())), "tok-1"
    signature = hmac.new(signing, (ts + token).encode(), hashlib.sha256).hexdigest()
    doc = {
        "signature": {"timestamp": ts, "token": token, "signature": signature},
        "event-data": {
            "id": "mg-1",
            "event": "failed",
            "severity": "permanent",
            "recipient": "mg@example.net",
            "delivery-status": {"code": 550, "message": "5.1.1 mailbox does not exist"},
        },
    }
    body = json.dumps(doc).encode()
    data = wh.verify_mailgun(body, signing_key=signing, now=now, max_age=600)
    for _ in range(2):
        with engine.begin() as conn:
            wh.process_events(conn, wh.mailgun_events(data, KEY), now=now, policy=POLICY)
    assert _suppressed(engine, "mg@example.net", now)
    with pytest.raises(InvalidInput):
        wh.verify_mailgun(body, signing_key=b"wrong", now=now, max_age=600)
    with pytest.raises(InvalidInput, match="replay"):
        wh.verify_mailgun(body, signing_key=signing, now=now + timedelta(hours=1), max_age=600)


def test_postmark_basic_auth(engine: Engine, clock: FrozenClock) -> None:
    now = clock.now()
    make_campaign(engine, ["pm@example.net"], now)
    body = json.dumps(
        {
            "RecordType": "Bounce",
            "ID": 42,
            "Type": "SoftBounce",
            "Email": "pm@example.net",
            "Details": "mailbox full",
        }
    ).encode()
    auth = "Basic " + base64.b64encode(b"hook:secret").decode()
    doc = wh.verify_postmark(body, authorization=auth, credentials="hook:secret")
    with engine.begin() as conn:
        actions = wh.process_events(conn, wh.postmark_events(doc, KEY), now=now, policy=POLICY)
    assert [a.kind for a in actions] == ["bounce_soft"]
    with pytest.raises(InvalidInput):
        wh.verify_postmark(
            body,
            authorization="Basic " + base64.b64encode(b"hook:no").decode(),
            credentials="hook:secret",
        )
    with pytest.raises(InvalidInput):
        wh.verify_postmark(body, authorization="", credentials="")
