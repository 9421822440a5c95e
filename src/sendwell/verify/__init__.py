"""Address verification: a verdict for every address before any campaign goes out.

Layers (each reported as reason codes, see ``records.Reason``): syntax and normalization
(``syntax``), provider folding for duplicate hints (``folding``), domain and MX checks over
DNS (``domains``), disposable / role / free-mail lists (``lists``), typo suggestions
(``typos``), the optional SMTP mailbox probe (``probe``) and sendwell's own bounce and
complaint history (``service``). ``verdict`` turns findings into valid / risky / invalid /
unknown with a score and decides what a campaign policy excludes; ``bulk`` runs everything
over batches with bounded concurrency; ``service`` stores results and answers campaign
queries. No third-party verification service is involved.
"""

from __future__ import annotations

from sendwell.dnsclient import MxHost
from sendwell.verify.bulk import Verifier
from sendwell.verify.domains import DomainChecker, DomainReport
from sendwell.verify.lists import ReferenceLists
from sendwell.verify.probe import ProbeConfig, Prober
from sendwell.verify.records import (
    CHECKS,
    DEFAULT_CHECKS,
    VERDICTS,
    Check,
    Finding,
    Reason,
    Verdict,
    Verification,
)
from sendwell.verify.verdict import Policy, decide, excluded_by_policy

__all__ = [
    "CHECKS",
    "DEFAULT_CHECKS",
    "VERDICTS",
    "Check",
    "DomainChecker",
    "DomainReport",
    "Finding",
    "MxHost",
    "Policy",
    "ProbeConfig",
    "Prober",
    "Reason",
    "ReferenceLists",
    "Verdict",
    "Verification",
    "Verifier",
    "decide",
    "excluded_by_policy",
]
