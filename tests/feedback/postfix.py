"""A private Postfix instance on loopback, configured, started and stopped by a test.

It accepts mail for ``postfix-local.example.net`` whatever the local part
(``local_recipient_maps`` empty), so unknown users are bounced *after* acceptance by
Postfix's local delivery agent: Postfix writes its own RFC 3464 DSN and sends it to the
envelope sender. The ``known`` addresses are virtual aliases of the system user
``nobody`` and are delivered to its maildir inside the instance's directory, so a test
can see what arrived. Mail for the bounce domain is routed to sendwell's inbound server
by a transport map; DNS is never used. Everything lives in a temporary directory
(config, queue, mail spool, log); nothing of the system's Postfix is touched.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

POSTFIX = "/usr/sbin/postfix"
POSTQUEUE = "/usr/sbin/postqueue"
LOCAL_DOMAIN = "postfix-local.example.net"
# The system user the known addresses are delivered to (present on every Debian system;
# local(8) needs a real account, and this one owns nothing else).
MAILBOX_USER = "nobody"

_MASTER = """\
{smtpd_port} inet n - n - - smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
postlog   unix-dgram n  -       n       -       1       postlogd
"""

_MAIN = """\
compatibility_level = 3.6
queue_directory = {root}/queue
data_directory = {root}/data
mail_owner = postfix
setgid_group = postdrop
myhostname = mta.example.test
mydomain = example.test
myorigin = $myhostname
mydestination = {local_domain}
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
local_recipient_maps =
alias_maps =
alias_database =
virtual_alias_maps = {virtual}
mail_spool_directory = {root}/mail/
transport_maps = inline:{{ {bounce_domain}=smtp:[127.0.0.1]:{inbound_port} }}
smtp_dns_support_level = disabled
smtp_tls_security_level = none
maillog_file_prefixes = {root}
maillog_file = {root}/maillog
delay_warning_time = 0
biff = no
"""


def unavailable() -> str | None:
    """Why this machine cannot run the Postfix test, or None."""
    if not os.path.exists(POSTFIX):
        return "Postfix is not installed (Debian package `postfix`)"
    if os.geteuid() != 0:
        return "starting a Postfix instance needs root"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostfixInstance:
    def __init__(
        self,
        *,
        bounce_domain: str,
        inbound_port: int,
        known: Sequence[str] = (),
        smtpd_port: int | None = None,
    ) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="sendwell-postfix-"))
        os.chmod(self.root, 0o755)
        self.smtpd_port = smtpd_port or free_port()
        (self.root / "queue").mkdir()
        (self.root / "data").mkdir()
        shutil.chown(self.root / "data", "postfix", "postfix")
        # local(8) creates each maildir with the recipient's privileges, like /var/mail.
        (self.root / "mail").mkdir()
        os.chmod(self.root / "mail", 0o1777)
        aliases = ", ".join(f"{a}={MAILBOX_USER}@{LOCAL_DOMAIN}" for a in known)
        virtual = f"inline:{{ {aliases} }}" if known else ""
        (self.root / "master.cf").write_text(_MASTER.format(smtpd_port=self.smtpd_port))
        (self.root / "main.cf").write_text(
            _MAIN.format(
                root=self.root,
                local_domain=LOCAL_DOMAIN,
                bounce_domain=bounce_domain,
                inbound_port=inbound_port,
                virtual=virtual,
            )
        )

    def _postfix(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [POSTFIX, "-c", str(self.root), *args],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    def start(self) -> None:
        done = self._postfix("start")
        if done.returncode != 0:
            raise RuntimeError(f"postfix start failed: {done.stderr}{self.log()}")

    def stop(self) -> None:
        pid_file = self.root / "queue" / "pid" / "master.pid"
        try:
            pid = int(pid_file.read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pid = 0
        self._postfix("stop")
        # `postfix stop` only signals the master; its queue must outlive it.
        deadline = time.monotonic() + 20
        while pid and time.monotonic() < deadline:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        shutil.rmtree(self.root, ignore_errors=True)

    def queue_is_empty(self) -> bool:
        """Whether Postfix holds no message at all: every delivery and every DSN is done.

        A DSN leaves the queue only once sendwell's inbound server answered 250, which it
        does after recording the feedback, so an empty queue means everything is recorded.
        """
        done = subprocess.run(
            [POSTQUEUE, "-c", str(self.root), "-j"],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        if done.returncode != 0:
            raise RuntimeError(f"postqueue failed: {done.stderr}")
        return not done.stdout.strip()

    def mailbox(self) -> list[bytes]:
        """The messages delivered to the known addresses (the maildir of ``nobody``)."""
        new = self.root / "mail" / MAILBOX_USER / "new"
        return [p.read_bytes() for p in sorted(new.iterdir())] if new.is_dir() else []

    def log(self) -> str:
        try:
            return (self.root / "maillog").read_text()
        except OSError:
            return ""
