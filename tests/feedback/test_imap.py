"""IMAP polling against a real Dovecot on loopback, configured and run by the test."""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from sendwell.audience.addresses import normalize
from sendwell.audience.suppressions import is_suppressed
from sendwell.clock import FrozenClock
from sendwell.feedback.imap import parse_mailbox_urls, poll_once
from sendwell.feedback.ingest import Ingestor
from sendwell.feedback.policy import FeedbackPolicy
from tests.feedback.helpers import KEY, dsn, make_campaign, verp
from tests.feedback.postfix import free_port

DOVECOT = "/usr/sbin/dovecot"
pytestmark = pytest.mark.skipif(
    not os.path.exists(DOVECOT) or os.geteuid() != 0,
    reason="needs root and Dovecot (Debian package `dovecot-imapd`)",
)

_CONF = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
mail_location = maildir:{root}/mail/%u
default_internal_user = dovecot
default_login_user = dovenull
passdb {{
  driver = static
  args = password=secret
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


@pytest.fixture
def dovecot() -> Iterator[int]:
    root = Path(tempfile.mkdtemp(prefix="sendwell-dovecot-"))
    os.chmod(root, 0o755)
    nobody = pwd.getpwnam("nobody")
    (root / "mail").mkdir()
    shutil.chown(root / "mail", nobody.pw_uid, nobody.pw_gid)
    port = free_port()
    conf = root / "dovecot.conf"
    conf.write_text(_CONF.format(root=root, uid=nobody.pw_uid, gid=nobody.pw_gid, port=port))
    proc = subprocess.Popen([DOVECOT, "-F", "-c", str(conf)])
    try:
        deadline = time.monotonic() + 20
        while True:  # wait until it listens (a readiness probe, not a sleep for ordering)
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    log = (
                        (root / "dovecot.log").read_text()
                        if (root / "dovecot.log").exists()
                        else ""
                    )
                    pytest.fail(f"dovecot did not start: {log}")
                time.sleep(0.05)
        yield port
    finally:
        proc.terminate()
        proc.wait(20)
        shutil.rmtree(root, ignore_errors=True)


def test_poll_ingests_unseen_bounces_and_marks_them_seen(
    dovecot: int, sqlite_engine: Engine, clock: FrozenClock
) -> None:
    world = make_campaign(sqlite_engine, ["imap-gone@example.net"], clock.now())
    row = world.rows["imap-gone@example.net"]
    client = imaplib.IMAP4("127.0.0.1", dovecot)
    client.login("bounces", "secret")
    raw = dsn(verp(row), "imap-gone@example.net", "5.1.1", "550 5.1.1 user unknown")
    client.append("INBOX", "", imaplib.Time2Internaldate(time.time()), raw)
    client.append(
        "INBOX", "", imaplib.Time2Internaldate(time.time()), b"Subject: hi\r\n\r\nhello\r\n"
    )
    client.logout()

    ingestor = Ingestor(engine=sqlite_engine, key=KEY, policy=FeedbackPolicy(), clock=clock)
    boxes = parse_mailbox_urls(f"imap://bounces:secret@127.0.0.1:{dovecot}/INBOX")
    first = list(poll_once(boxes, ingestor))
    second = list(poll_once(boxes, ingestor))
    assert sorted(d.report.kind for d in first) == ["bounce", "unknown"]
    assert second == []  # everything was flagged \\Seen
    with sqlite_engine.connect() as conn:
        assert is_suppressed(conn, normalize("imap-gone@example.net").hash, now=clock.now())


def test_mailbox_urls_hide_passwords() -> None:
    (box,) = parse_mailbox_urls("imaps://u%40x:p%3Ass@mail.example.net/Bounces")
    assert (box.user, box.password, box.port, box.mailbox, box.tls) == (
        "u@x",
        "p:ss",
        993,
        "Bounces",
        True,
    )
    assert "p:ss" not in repr(box)
