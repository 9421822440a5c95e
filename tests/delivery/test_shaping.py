"""The shaping file: layering, provider matching, warm-up, and errors naming file/line/key."""

from __future__ import annotations

from pathlib import Path

import pytest

from sendwell.delivery.rates import Rate
from sendwell.delivery.shaping import Source, load_shaping, parse_shaping
from sendwell.errors import ConfigError

GMAIL_MX = ["gmail-smtp-in.l.google.com", "alt1.gmail-smtp-in.l.google.com"]


def test_shipped_file_has_conservative_defaults_and_the_big_providers() -> None:
    s = load_shaping()
    assert s.default.connection_limit == 10
    assert s.default.max_message_rate == Rate(100, 3600)
    assert s.source_rate == Rate(400, 600)
    assert {p.name for p in s.providers} >= {"gmail", "outlook", "yahoo", "icloud"}
    default = s.sources[0]
    gmail = s.site_limits(GMAIL_MX, default)
    assert gmail.provider == "gmail"
    assert gmail.limits.tls == "required"
    assert gmail.limits.max_message_rate == Rate(100, 3600)  # not warmed up: still 100/h
    assert any(r.regex.search("421 4.7.28 unusual rate") for r in gmail.automation)
    other = s.site_limits(["mx.example.org"], default)
    assert other.provider == "default"
    assert other.limits.connection_limit == 10


@pytest.mark.parametrize(
    ("mx", "provider"),
    [
        (["mta5.am0.yahoodns.net"], "yahoo"),
        (["example-com.mail.protection.outlook.com"], "outlook"),
        (["mx01.mail.icloud.com"], "icloud"),
        (["ALT2.ASPMX.L.GOOGLE.COM."], "gmail"),
        (["mail.example.org"], "default"),
    ],
)
def test_provider_blocks_match_by_mx_suffix(mx: list[str], provider: str) -> None:
    s = load_shaping()
    assert s.site_limits(mx, s.sources[0]).provider == provider


SHAPING = """
[default]
connection_limit = 10
max_message_rate = "100/h"

[[provider]]
name = "gmail"
match = [".google.com"]
connection_limit = 5

[[source]]
name = "warm"
address = "127.0.0.1"
pool = "main"
weight = 3
[source.overrides.gmail]
max_message_rate = "5000/h"

[[source]]
name = "new"
address = "127.0.0.2"
pool = "main"
warmup = "slow"

[warmup.slow]
days = [
  { day = 1, max_message_rate = "200/h", source_max_message_rate = "1000/h" },
  { day = 3, max_message_rate = "800/h" },
]
"""


def test_source_overrides_and_pools() -> None:
    s = parse_shaping(SHAPING, "test.toml")
    assert [x.name for x in s.pool("main")] == ["warm", "new"]
    warm = s.source("warm")
    assert warm.weight == 3
    assert s.site_limits(GMAIL_MX, warm).limits.max_message_rate == Rate(5000, 3600)
    assert s.site_limits(GMAIL_MX, warm).limits.connection_limit == 5
    assert s.site_limits(["mx.other.org"], warm).limits.max_message_rate == Rate(100, 3600)
    with pytest.raises(ConfigError, match="no source in pool 'other'"):
        s.pool("other")


@pytest.mark.parametrize(
    ("day", "site_rate", "source_rate"),
    [
        (None, Rate(200, 3600), Rate(1000, 3600)),
        (1, Rate(200, 3600), Rate(1000, 3600)),
        (2, Rate(800, 3600), None),
        (3, Rate(800, 3600), None),
        (40, Rate(800, 3600), None),
    ],
)
def test_warmup_raises_limits_by_sending_day(
    day: int | None, site_rate: Rate, source_rate: Rate | None
) -> None:
    s = parse_shaping(SHAPING, "test.toml")
    limits = s.site_limits(["mx.other.org"], s.source("new"), day)
    assert limits.limits.max_message_rate == site_rate
    assert limits.source_rate == source_rate


def test_no_sources_means_one_default_source() -> None:
    s = parse_shaping("", "empty.toml")
    assert s.sources == (Source(name="default"),)
    assert s.default.max_message_rate == Rate(100, 3600)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '[default]\nconnection_limit = 10\nmax_message_rate = "fast"\n',
            r"bad\.toml:3: default\.max_message_rate: 'fast' is not a rate",
        ),
        (
            '[[provider]]\nname = "g"\nmatch = [".g.com"]\n\n[[provider]]\nname = "h"\n'
            'match = [".h.com"]\nconnection_limit = -2\n',
            r"bad\.toml:8: provider\[1\]\.connection_limit: -2 is not a positive whole number",
        ),
        (
            '[[provider]]\nname = "g"\nmatch = [".g.com"]\n[[provider.automation]]\n'
            'regex = "4.7.28"\naction = "explode"\nduration = "1m"\n',
            r"bad\.toml:6: provider\[0\]\.automation\[0\]\.action: must be one of",
        ),
        (
            '[[automation]]\nregex = "("\naction = "suspend"\nduration = "1m"\n',
            r"bad\.toml:2: automation\[0\]\.regex: invalid regular expression",
        ),
        (
            '[[automation]]\nregex = "x"\naction = "suspend"\n',
            r"automation\[0\]\.duration: is required",
        ),
        ("[default]\nconection_limit = 3\n", r"bad\.toml:2: default\.conection_limit: unknown key"),
        (
            '[[source]]\nname = "a"\nwarmup = "nope"\n',
            r"bad\.toml:3: source\[0\]\.warmup: no \[warmup\.nope\] schedule",
        ),
        ("[default\n", r"bad\.toml: malformed TOML: .*line 1"),
        ('[default]\ntls = "sometimes"\n', r"bad\.toml:2: default\.tls: must be one of"),
    ],
)
def test_malformed_files_name_file_line_and_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_shaping(text, "bad.toml")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_shaping(tmp_path / "nope.toml")
