"""Micro-benchmark: DKIM signing cost per message, sendwell's signer against dkimpy.

Signs the same composed campaign message (a ~6 KB newsletter, eight signed headers) N
times with: sendwell's RSA-2048 signer, its Ed25519 signer, and the naive pipeline
(``dkim.sign`` from dkimpy over the same bytes) as the baseline. Prints a table, then one
JSON line last: ``{"benchmark": "dkim_sign", "metrics": {...}, "baseline": {...}}``.

Limits: single thread, wall-clock time per message (best of three runs); key generation
and signer set-up are outside the timed loop, as they are per campaign in the engine.

    .venv/bin/python benchmarks/dkim_sign.py [--messages 2000]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from datetime import UTC, datetime

import dkim

from sendwell.compose.dkim import DkimKey, DkimSigner, generate_ed25519_pem, generate_rsa_pem
from sendwell.compose.message import MessageParts, build_message

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _message() -> bytes:
    paragraph = "<p>Here is what happened this week at Example, with a few links.</p>\n"
    return build_message(
        MessageParts(
            from_name="Example News",
            from_email="news@example.com",
            to_email="ann@example.org",
            subject="This week at Example",
            html=paragraph * 60,
            text="Here is what happened this week at Example.\n" * 60,
            message_id="<1.42.0123456789ab@example.com>",
            date=NOW,
            extra_headers=[
                ("List-Unsubscribe", "<https://example.com/u/42-abc>, <mailto:u@example.com>"),
                ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
                ("Feedback-ID", "1:1:news:sendwell"),
            ],
        )
    )


def _us_per_call(fn: Callable[[], object], n: int) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - start) / n)
    return best * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000, help="messages per timed run")
    args = parser.parse_args()
    n = args.messages
    message = _message()
    rsa_pem, ed_pem = generate_rsa_pem(), generate_ed25519_pem()
    rsa = DkimSigner([DkimKey("example.com", "s1", rsa_pem)])
    ed = DkimSigner([DkimKey("example.com", "e1", ed_pem, "ed25519-sha256")])
    both = DkimSigner(
        [
            DkimKey("example.com", "s1", rsa_pem),
            DkimKey("example.com", "e1", ed_pem, "ed25519-sha256"),
        ]
    )
    headers = [b"from", b"to", b"subject", b"date", b"message-id", b"list-unsubscribe",
               b"list-unsubscribe-post", b"feedback-id"]  # fmt: skip

    def naive() -> bytes:
        sig: bytes = dkim.sign(
            message, b"s1", b"example.com", rsa_pem,
            canonicalize=(b"relaxed", b"relaxed"), include_headers=headers,
        )  # fmt: skip
        return sig + message

    metrics = {
        "rsa_us_per_msg": round(_us_per_call(lambda: rsa.sign(message, now=NOW), n), 1),
        "ed25519_us_per_msg": round(_us_per_call(lambda: ed.sign(message, now=NOW), n), 1),
        "rsa_plus_ed25519_us_per_msg": round(
            _us_per_call(lambda: both.sign(message, now=NOW), n), 1
        ),
    }
    baseline = {"dkimpy_us_per_msg": round(_us_per_call(naive, max(50, n // 10)), 1)}
    print(f"message size {len(message)} bytes, {n} messages per run, best of 3")
    print(f"{'signer':<32}{'us/msg':>10}{'msgs/s (1 core)':>18}")
    for name, value in [*metrics.items(), *baseline.items()]:
        print(f"{name.removesuffix('_us_per_msg'):<32}{value:>10.1f}{1e6 / value:>18,.0f}")
    print(json.dumps({"benchmark": "dkim_sign", "metrics": metrics, "baseline": baseline}))


if __name__ == "__main__":
    main()
