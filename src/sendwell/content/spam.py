"""Content spam verdicts: the records both scorers return, and the built-in heuristics.

:class:`SpamVerdict` is what preflight shows: a score on SpamAssassin's scale (5.0 is
spam), the threshold, and the rules that fired with their points. SpamAssassin's
``spamd`` produces one through ``content.spamd``; :func:`heuristic_verdict` is the
stand-in for machines without spamd: a few rules in the spirit of SpamAssassin's
(shouting, money words, link-heavy, missing text, image-only), named like theirs so a
reader can compare.

Limit: the heuristics are rough; treat them as a smoke alarm, not a filter.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_MONEY = re.compile(
    r"\b(free|winner|cash|guarantee[d]?|act now|urgent|risk[- ]free|100% |click here)\b", re.I
)


@dataclass(frozen=True)
class SpamRule:
    """One rule that fired: its name, the points it added and what it means."""

    name: str
    score: float
    description: str


@dataclass(frozen=True)
class SpamVerdict:
    """A score, the score at which mail counts as spam, and the rules behind it."""

    score: float
    threshold: float
    rules: tuple[SpamRule, ...] = field(default_factory=tuple)
    source: str = "heuristic"  # or "spamd"

    def top_rules(self, n: int = 5) -> list[SpamRule]:
        """The ``n`` rules that added the most points (rules that subtract are not "top")."""
        return sorted((r for r in self.rules if r.score > 0), key=lambda r: -r.score)[:n]


def heuristic_verdict(subject: str, html: str, text: str) -> SpamVerdict:
    """A rough SpamAssassin-scale verdict from a few content rules."""
    rules: list[SpamRule] = []
    letters = [c for c in subject if c.isalpha()]
    if len(letters) >= 10 and sum(c.isupper() for c in letters) > 0.7 * len(letters):
        rules.append(SpamRule("SUBJ_ALL_CAPS", 1.5, "Subject is mostly capitals"))
    if subject.count("!") >= 2:
        rules.append(SpamRule("SUBJ_EXCLAIM", 0.8, "Subject has two or more '!'"))
    money = len(_MONEY.findall(text + " " + subject))
    if money:
        rules.append(
            SpamRule("MONEY_WORDS", min(2.5, 0.5 * money), f"{money} money or urgency phrases")
        )
    words = len(text.split())
    links = len(re.findall(r"<a\s", html, re.I))
    if words and links > max(3, words // 20):
        rules.append(SpamRule("LINK_HEAVY", 1.0, f"{links} links for {words} words"))
    if words < 20 and re.search(r"<img\s", html, re.I):
        rules.append(SpamRule("IMAGE_ONLY", 1.5, "Images with almost no text"))
    if not text.strip():
        rules.append(SpamRule("EMPTY_TEXT", 1.0, "No text part content"))
    score = round(sum(r.score for r in rules), 1)
    return SpamVerdict(score=score, threshold=5.0, rules=tuple(rules), source="heuristic")


def heuristic_score(subject: str, html: str, text: str) -> float:
    """The heuristic verdict's score alone."""
    return heuristic_verdict(subject, html, text).score
