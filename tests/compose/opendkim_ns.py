"""Helper run inside a private network + mount namespace by ``test_dkim.py``.

OpenDKIM's ``opendkim-testmsg`` looks keys up through the C library's resolver, which only
reads ``/etc/resolv.conf`` and only speaks to port 53. The test therefore runs this script
under ``unshare --net --mount`` with a private resolv.conf bind-mounted over the real one:
the sandbox DNS server answers on 127.0.0.1:53 of a network that nothing else can reach.

Usage: ``python opendkim_ns.py RECORDS.json MESSAGE.eml`` — prints the exit status of
``opendkim-testmsg`` and its output.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from sendwell.sandbox import DnsRecord, DnsServer


async def main(records_file: str, message_file: str) -> None:
    records = json.loads(Path(records_file).read_text())
    server = DnsServer(
        [DnsRecord(name, "TXT", value) for name, value in records.items()],
        host="127.0.0.1",
        port=53,
    )
    async with server:
        with Path(message_file).open("rb") as message:
            proc = await asyncio.create_subprocess_exec(
                "opendkim-testmsg",
                stdin=message,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            out, _ = await proc.communicate()
    print(proc.returncode, out.decode().strip())


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2]))
