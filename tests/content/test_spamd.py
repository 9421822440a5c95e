"""The spamd client against a real, offline SpamAssassin spamd on loopback.

Messages are the exact bytes the workers' builder produces (DKIM-signed, with the bulk
headers and, as campaigns have by default, tracked links and the open pixel), so the
scores are the ones preflight would show. A clean newsletter — ours, and every example
template shipped in ``sendwell/content/examples/`` — must score at most 1.0; an obviously
spammy one must score as spam.

SpamAssassin counts the open pixel as an image: a message with any image and under about
3,200 bytes of text gets one of its HTML_IMAGE_ONLY_* rules (up to 2 points). Our clean
newsletter is a realistic length; preflight warns when the pixel alone costs points.
"""

from __future__ import annotations

import socket
import threading

import pytest
from sqlalchemy import Engine

from sendwell.clock import FrozenClock
from sendwell.content.shipped import examples
from sendwell.content.spamd import MAX_MESSAGE_BYTES, SpamdClient, parse_report
from sendwell.errors import ServiceUnavailable
from tests.content.samples import FOOTER, build_example, build_sample

CLEAN_HTML = (
    "<html><body>"
    "<h1>Garden notes for November</h1>"
    "<p>Hi {{ subscriber.first_name | default('there') }},</p>"
    "<p>The first frosts have arrived in most of the region, so this month we look at "
    "protecting young shrubs, planting garlic before the ground hardens and keeping a "
    "winter compost heap warm enough to keep working.</p>"
    "<h2>Planting garlic</h2>"
    "<p>Separate the cloves a day before planting, set them pointed end up about five "
    "centimetres deep and fifteen apart, and cover the bed with a layer of straw. They will "
    "root before winter and grow away strongly in spring.</p>"
    "<h2>From the workshop</h2>"
    "<p>Our Saturday workshop on pruning fruit trees is on the 14th at the community "
    "garden. Bring gloves and secateurs; tea is on us. The full programme for the season "
    'is on <a href="https://www.example.com/workshops">our workshops page</a>.</p>'
    "<h2>Letters from readers</h2>"
    "<p>Several of you asked what to do with the last green tomatoes. Bring the trusses "
    "indoors and hang them in a cool, dark shed; most will ripen slowly over the next "
    "weeks. Those that stay green make a very good chutney with apples, onions, sugar and "
    "vinegar, simmered for two hours and kept in sterilised jars until Christmas.</p>"
    "<p>Another reader wrote about moles in a lawn. Patience works better than traps: they "
    "move on once the soil is cold, and the hills they leave make fine potting soil when "
    "sieved. Rake them flat and sow a little grass seed in spring.</p>"
    "<h2>Jobs for the month</h2>"
    "<p>Lift and store dahlia tubers after the first frost blackens the leaves, clean "
    "and oil your tools before they go away for the winter, net brassicas against pigeons, "
    "and keep the bird feeders full: the birds you feed now will eat your aphids in May. "
    "If you have room, plant bare-root fruit trees and roses while the soil is still "
    "workable, and mulch the roots of tender perennials with leaves or bark.</p>"
    "<h2>In the greenhouse</h2>"
    "<p>Now is the time to wash the glass inside and out so the plants get every bit of "
    "the low winter light. Check the heater before the first hard night, wrap the water "
    "butt in hessian, and open the vents on sunny mornings so that grey mould does not "
    "settle on the overwintering geraniums and fuchsias. Water sparingly: most plants rest "
    "until February and rot faster than they dry out.</p>"
    "<p>Sweet peas sown in deep pots last month want a cold frame rather than warmth; "
    "pinch out their tips when they have three pairs of leaves and they will branch into "
    "sturdy plants for planting out in April.</p>"
    "<h2>Next month</h2>"
    "<p>December's letter looks at planning next year's vegetable beds, choosing seed "
    "catalogues worth your time, and a simple way to keep a garden diary that tells you, "
    "five years on, exactly when the first frost came and which varieties were worth "
    "growing again. As always, write back with your questions and photographs.</p>"
    "<p>Happy gardening,<br>Maria from Example Gardens</p>" + FOOTER + "</body></html>"
)
SPAM_HTML = (
    "<html><body><h1>CONGRATULATIONS WINNER!!!</h1>"
    "<p>You have been selected to receive FREE CASH. 100% GUARANTEED, RISK FREE. "
    "Buy cheap viagra and cialis online, no prescription needed! Act now, this offer "
    "expires in 24 hours. Click here to claim your prize and double your income from home "
    "with our make money fast system. Earn $5000 per week guaranteed!</p>"
    '<p><a href="http://192.0.2.7/claim">CLICK HERE</a> '
    '<a href="http://192.0.2.7/claim">CLAIM NOW</a></p>' + FOOTER + "</body></html>"
)


def _examples() -> list[str]:
    """The shipped example templates (layouts are judged inside the templates using them)."""
    return [e.name for e in examples() if e.draft.kind == "template"]


def test_a_clean_newsletter_scores_low(
    spamd: SpamdClient, sqlite_engine: Engine, clock: FrozenClock
) -> None:
    data = build_sample(sqlite_engine, clock, subject="Garden notes for November",
                        html=CLEAN_HTML)  # fmt: skip
    verdict = spamd.check(data)
    assert verdict.source == "spamd" and verdict.threshold == 5.0
    assert verdict.score <= 1.0, verdict.rules
    assert all(r.name and r.description for r in verdict.rules)


def test_a_spammy_message_scores_as_spam(
    spamd: SpamdClient, sqlite_engine: Engine, clock: FrozenClock
) -> None:
    data = build_sample(sqlite_engine, clock, subject="FREE CASH!!! YOU ARE A WINNER",
                        html=SPAM_HTML)  # fmt: skip
    verdict = spamd.check(data)
    assert verdict.score >= verdict.threshold, verdict.rules
    names = {r.name for r in verdict.top_rules(10)}
    assert names & {"DRUGS_ERECTILE", "GUARANTEED_100_PERCENT", "SUBJ_ALL_CAPS", "RISK_FREE"}
    top = verdict.top_rules(3)
    assert [r.score for r in top] == sorted((r.score for r in top), reverse=True)


@pytest.mark.parametrize("example", _examples())
def test_every_example_template_scores_low(
    example: str, spamd: SpamdClient, sqlite_engine: Engine, clock: FrozenClock
) -> None:
    data = build_example(sqlite_engine, clock, example)  # tracking on, as campaigns default
    verdict = spamd.check(data)
    assert verdict.score <= 1.0, (example, verdict.rules)


def test_an_oversized_message_is_not_sent() -> None:
    client = SpamdClient("127.0.0.1", 9, timeout=1)
    with pytest.raises(ServiceUnavailable, match="over the 500 KB"):
        client.check(b"x" * (MAX_MESSAGE_BYTES + 1))


def test_nobody_listening_is_unavailable_not_a_crash() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, never listening: connections are refused
        with pytest.raises(ServiceUnavailable, match="cannot be reached"):
            SpamdClient("127.0.0.1", port, timeout=2).check(b"Subject: x\r\n\r\nhi\r\n")


def test_a_silent_server_times_out_within_the_deadline() -> None:
    """A server that accepts and never answers: one deadline for the whole exchange."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        accepted: list[socket.socket] = []
        t = threading.Thread(target=lambda: accepted.append(server.accept()[0]))
        t.start()
        try:
            with pytest.raises(ServiceUnavailable, match=r"did not answer within 0\.5 s"):
                SpamdClient("127.0.0.1", server.getsockname()[1], timeout=0.5).check(b"x")
        finally:
            t.join()
            for conn in accepted:
                conn.close()


def test_reports_are_parsed_with_wrapped_descriptions() -> None:
    reply = (
        b"SPAMD/1.1 0 EX_OK\r\nContent-length: 300\r\nSpam: True ; 6.1 / 5.0\r\n\r\n"
        b"Content analysis details:   (6.1 points, 5.0 required)\n\n"
        b" pts rule name              description\n"
        b"---- ---------------------- --------------------------------------------------\n"
        b"-0.0 NO_RELAYS              Informational: message was not relayed via SMTP\n"
        b" 2.7 GUARANTEED_100_PERCENT BODY: One hundred percent guaranteed\n"
        b" 3.4 LONG_RULE              BODY: a description that wraps\n"
        b"                            onto a second line\n\n"
    )
    verdict = parse_report(reply)
    assert (verdict.score, verdict.threshold) == (6.1, 5.0)
    assert [r.name for r in verdict.top_rules()] == ["LONG_RULE", "GUARANTEED_100_PERCENT"]
    assert verdict.rules[-1].description == "BODY: a description that wraps onto a second line"


@pytest.mark.parametrize(
    ("reply", "reason"),
    [
        (b"HTTP/1.1 200 OK\r\n\r\n", "answered something else"),
        (b"SPAMD/1.5 76 Bad header line: x\r\n\r\n", "refused the check: Bad header line"),
        (b"SPAMD/1.5 0 EX_OK\r\nContent-length: 0\r\n\r\n", "sent no score"),
    ],
    ids=["not-spamd", "error-status", "no-score"],
)
def test_unusable_replies_are_unavailable(reply: bytes, reason: str) -> None:
    with pytest.raises(ServiceUnavailable, match=reason):
        parse_report(reply)
