"""The DNS records a sending domain needs, as text to publish (pure; no DNS queries).

For ``example.com`` with selector ``s1``:

* DKIM: ``s1._domainkey.example.com TXT "v=DKIM1; k=rsa; p=..."`` (and the Ed25519 one);
* SPF: ``example.com TXT "v=spf1 <sources> ~all"`` from the ``spf_sources`` setting
  (``~all`` rather than ``-all`` so a forgotten source soft-fails while the owner checks);
* DMARC: ``_dmarc.example.com TXT "v=DMARC1; p=none; rua=mailto:dmarc@example.com;
  adkim=r; aspf=r"`` — a monitoring start; tighten to quarantine/reject once reports are
  clean;
* return path: when the VERP domain differs from the From domain, an MX for it (pointing
  at this host, which receives bounces) and its own SPF, so bounces come back and SPF
  passes for the envelope domain.

Limit: SPF records merge badly by hand; when the domain already publishes one, the owner
adds our mechanisms to it rather than a second record (two SPF records is a permerror).
"""

from __future__ import annotations

from dataclasses import dataclass

from sendwell.compose.dkim import dns_txt_value


@dataclass(frozen=True)
class DnsRecordSpec:
    """One record to publish: owner name, type, value and why."""

    name: str
    rtype: str
    value: str
    purpose: str

    @property
    def zone_value(self) -> str:
        """The value as a zone file writes it: a TXT value as quoted strings of at most
        255 bytes each (the most one TXT string holds)."""
        if self.rtype != "TXT":
            return self.value
        return " ".join(f'"{self.value[i : i + 255]}"' for i in range(0, len(self.value), 255))

    @property
    def zone_line(self) -> str:
        """One line to paste into a zone file as it is."""
        return f"{self.name}. IN {self.rtype} {self.zone_value}"


def spf_mechanisms(sources: list[str]) -> list[str]:
    """``spf_sources`` entries as SPF mechanisms (``ip4:``, ``ip6:``, ``include:``)."""
    out = []
    for source in sources:
        if source.startswith(("include:", "ip4:", "ip6:", "a", "mx")):
            out.append(source)
        elif ":" in source:
            out.append(f"ip6:{source}")
        else:
            out.append(f"ip4:{source}")
    return out


def parse_sources(setting: str) -> list[str]:
    return [s.strip() for s in setting.replace(";", ",").split(",") if s.strip()]


def required_records(
    *,
    domain: str,
    selector: str,
    private_pem: bytes,
    ed25519_selector: str | None,
    ed25519_pem: bytes | None,
    spf_sources: list[str],
    bounce_domain: str,
    mail_host: str,
) -> list[DnsRecordSpec]:
    records = [
        DnsRecordSpec(
            f"{selector}._domainkey.{domain}",
            "TXT",
            dns_txt_value(private_pem),
            "DKIM public key (RSA-2048)",
        )
    ]
    if ed25519_selector and ed25519_pem:
        records.append(
            DnsRecordSpec(
                f"{ed25519_selector}._domainkey.{domain}",
                "TXT",
                dns_txt_value(ed25519_pem),
                "DKIM public key (Ed25519, RFC 8463)",
            )
        )
    mechanisms = " ".join(spf_mechanisms(spf_sources)) or "a mx"
    records.append(
        DnsRecordSpec(domain, "TXT", f"v=spf1 {mechanisms} ~all", "SPF: who may send for it")
    )
    records.append(
        DnsRecordSpec(
            f"_dmarc.{domain}",
            "TXT",
            f"v=DMARC1; p=none; rua=mailto:dmarc@{domain}; adkim=r; aspf=r",
            "DMARC policy (start with p=none, tighten once reports are clean)",
        )
    )
    if bounce_domain and bounce_domain != domain:
        records.append(
            DnsRecordSpec(bounce_domain, "MX", f"10 {mail_host}.", "return path: bounces")
        )
        records.append(
            DnsRecordSpec(bounce_domain, "TXT", f"v=spf1 {mechanisms} -all", "return path: SPF")
        )
    return records
