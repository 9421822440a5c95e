"""Automation: react to providers' push-back by slowing down, cutting connections or pausing.

A rule (from the shaping file) matches a regex against an SMTP reply and, for a duration,
overrides how a (source, site) pair — or a whole source — is shaped:

* ``suspend``: send nothing; afterwards optionally resume on ``then_connection_limit``
  connections and add one back every ``ramp_every`` until the normal limit (Gmail's
  guidance after ``421 4.7.28``);
* ``throttle``: cap the message rate;
* ``connections``: cap simultaneous connections;
* ``suspend_source``: stop the whole sending IP, for every site.

Only real replies from the remote server are matched (never sendwell's own local
failures), otherwise a self-inflicted deferral could renew a suspension forever.

This module is pure: time is an argument, state lives in :class:`ActionBoard`.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from sendwell.delivery.rates import Rate
from sendwell.delivery.shaping import AutomationRule, Limits


@dataclass(frozen=True)
class ActiveAction:
    rule: AutomationRule
    scope: str
    started: float
    until: float
    reply: str
    ramp_end: float  # == until when there is no ramp

    def describe(self, now: float) -> str:
        r = self.rule
        left = max(0.0, self.until - now)
        if r.action == "throttle":
            what = f"throttle to {r.max_message_rate}"
        elif r.action == "connections":
            what = f"{r.connection_limit} connection(s)"
        else:
            what = r.action.replace("_", " ")
        if left == 0 and self.ramp_end > now:
            return f"ramping connections back up for {self.ramp_end - now:.0f}s more"
        return f"{what} for {left:.0f}s more ({r.provider}: /{r.regex.pattern}/)"


@dataclass(frozen=True)
class Shape:
    """The limits in force for one (source, site) at one instant."""

    suspended_until: float | None
    connection_limit: int
    max_message_rate: Rate | None

    def suspended(self, now: float) -> bool:
        return self.suspended_until is not None and self.suspended_until > now


@dataclass(frozen=True)
class SharedAction:
    """An action as other workers learn of it (through Redis): plain, serializable data."""

    scope: str
    provider: str
    pattern: str
    action: str
    started: float
    until: float
    ramp_end: float
    reply: str

    @classmethod
    def of(cls, a: ActiveAction) -> SharedAction:
        return cls(a.scope, a.rule.provider, a.rule.regex.pattern, a.rule.action, a.started,
                   a.until, a.ramp_end, a.reply)  # fmt: skip

    def matches(self, rule: AutomationRule) -> bool:
        return (rule.provider, rule.regex.pattern, rule.action) == (
            self.provider,
            self.pattern,
            self.action,
        )


@dataclass
class ActionBoard:
    """Active actions per scope, and recent matches for threshold rules."""

    actions: dict[str, list[ActiveAction]] = field(default_factory=dict)
    hits: dict[tuple[str, int], deque[float]] = field(default_factory=dict)

    def observe(
        self,
        *,
        site_scope: str,
        source_scope: str,
        reply: str,
        rules: tuple[AutomationRule, ...],
        now: float,
        normal_connections: int,
    ) -> ActiveAction | None:
        """Match ``reply`` against ``rules``; start (or extend) the first that fires."""
        for index, rule in enumerate(rules):
            if not rule.regex.search(reply):
                continue
            scope = source_scope if rule.action == "suspend_source" else site_scope
            if any(a.rule is rule and a.until > now for a in self.actions.get(scope, [])):
                # Already in force: replies from sessions that were mid-flight when it
                # started neither extend it nor count as a new trigger.
                return None
            if rule.threshold is not None:
                window = self.hits.setdefault((scope, index), deque())
                window.append(now)
                while window and window[0] <= now - rule.threshold.period:
                    window.popleft()
                if len(window) < rule.threshold.count:
                    return None
                window.clear()
            until = now + rule.duration
            ramp_end = until
            if rule.then_connection_limit is not None and rule.ramp_every:
                missing = max(0, normal_connections - rule.then_connection_limit)
                ramp_end = until + rule.ramp_every * missing
            action = ActiveAction(rule, scope, now, until, reply, ramp_end)
            current = [a for a in self.actions.get(scope, []) if a.rule is not rule]
            self.actions[scope] = [*current, action]
            return action
        return None

    def adopt(self, shared: SharedAction, rules: tuple[AutomationRule, ...], now: float) -> bool:
        """Take over an action another worker started (see :class:`SharedAction`).

        Returns True when it changed this board. Actions for rules this worker does not
        know (a different shaping file) or already over are ignored.
        """
        if shared.ramp_end <= now:
            return False
        rule = next((r for r in rules if shared.matches(r)), None)
        if rule is None:
            return False
        current = self.actions.get(shared.scope, [])
        mine = next((a for a in current if a.rule is rule), None)
        if mine is not None and mine.until >= shared.until:
            return False
        action = ActiveAction(rule, shared.scope, shared.started, shared.until, shared.reply,
                              shared.ramp_end)  # fmt: skip
        self.actions[shared.scope] = [*(a for a in current if a.rule is not rule), action]
        return True

    def active(self, scope: str, now: float) -> list[ActiveAction]:
        """Actions still affecting ``scope`` (a suspend with a ramp lasts until the ramp ends)."""
        kept = [a for a in self.actions.get(scope, []) if a.ramp_end > now]
        if kept:
            self.actions[scope] = kept
        else:
            self.actions.pop(scope, None)
        return kept

    def shape(self, *, site_scope: str, source_scope: str, base: Limits, now: float) -> Shape:
        """Apply every active action of the site and its source to ``base`` limits."""
        assert base.connection_limit is not None
        connections = base.connection_limit
        rate = base.max_message_rate
        if not self.actions:  # the usual case, asked for every message sent
            return Shape(None, max(connections, 1), rate)
        suspended: float | None = None
        for action in [*self.active(site_scope, now), *self.active(source_scope, now)]:
            rule = action.rule
            if rule.action in ("suspend", "suspend_source"):
                if action.until > now:
                    suspended = max(suspended or 0.0, action.until)
                elif rule.then_connection_limit is not None:
                    connections = min(connections, _ramp(action, base.connection_limit, now))
            elif rule.action == "connections" and rule.connection_limit is not None:
                connections = min(connections, rule.connection_limit)
            elif (
                rule.action == "throttle"
                and rule.max_message_rate is not None
                and (rate is None or rule.max_message_rate.per_second < rate.per_second)
            ):
                rate = rule.max_message_rate  # a throttle only ever slows a site down
        return Shape(suspended, max(connections, 1), rate)


def _ramp(action: ActiveAction, normal: int, now: float) -> int:
    """Connections allowed while ramping back after a suspension."""
    rule = action.rule
    assert rule.then_connection_limit is not None
    if rule.ramp_every is None:
        return normal
    steps = math.floor((now - action.until) / rule.ramp_every)
    return min(normal, rule.then_connection_limit + steps)
