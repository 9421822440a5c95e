"""The DNS records a sending domain needs, as zone-file lines."""

from __future__ import annotations

import re

from sendwell.domains.records import DnsRecordSpec


def test_zone_lines_split_long_txt_values() -> None:
    value = "v=DKIM1; k=rsa; p=" + "A" * 400
    line = DnsRecordSpec("s1._domainkey.example.com", "TXT", value, "DKIM").zone_line
    name, _, rest = line.partition(" IN TXT ")
    assert name == "s1._domainkey.example.com."
    strings = re.findall(r'"([^"]*)"', rest)
    assert [len(s) for s in strings] == [255, len(value) - 255]
    assert "".join(strings) == value
    mx = DnsRecordSpec("bounces.example.com", "MX", "10 mail.example.com.", "bounces")
    assert mx.zone_line == "bounces.example.com. IN MX 10 mail.example.com."
