"""Settings: the table, environment and file precedence, errors, secrets, documentation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sendwell.config import (
    Secret,
    Settings,
    effective_settings,
    load_settings,
    parse_host_port,
    setting_table,
)
from sendwell.errors import ConfigError

DOCS = Path(__file__).resolve().parents[1] / "docs" / "settings.md"


def test_every_setting_has_help_and_is_documented() -> None:
    documented = DOCS.read_text(encoding="utf-8")
    for info in setting_table():
        assert len(info.help) > 20, f"setting {info.name} has no real help text"
        assert re.search(rf"`{info.name}`", documented), f"{info.name} missing from {DOCS}"
        assert f"SENDWELL_{info.name.upper()}" in documented


def test_docs_mention_no_setting_that_does_not_exist() -> None:
    names = {i.name for i in setting_table()}
    for name in re.findall(r"^\| `([a-z_]+)` \|", DOCS.read_text(encoding="utf-8"), re.M):
        assert name in names, f"docs/settings.md documents unknown setting {name}"


def test_defaults_without_any_source(tmp_path: Path) -> None:
    settings, sources = load_settings({}, cwd=tmp_path)
    assert settings == Settings()
    assert set(sources.values()) == {"default"}
    assert settings.database_url_value() == "sqlite:///sendwell-data/sendwell.db"


def test_environment_beats_file_beats_default(tmp_path: Path) -> None:
    (tmp_path / "sendwell.toml").write_text('smtp_port = 2525\nhelo_name = "from-file"\n')
    settings, sources = load_settings({"SENDWELL_SMTP_PORT": "2626"}, cwd=tmp_path)
    assert settings.smtp_port == 2626 and sources["smtp_port"] == "env"
    assert settings.helo_name == "from-file" and sources["helo_name"] == "file"
    assert sources["data_dir"] == "default"


def test_file_may_use_a_sendwell_table(tmp_path: Path) -> None:
    path = tmp_path / "conf.toml"
    path.write_text("[sendwell]\nworker_batch_size = 7\n")
    settings, _ = load_settings({"SENDWELL_CONFIG": str(path)}, cwd=tmp_path)
    assert settings.worker_batch_size == 7


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        ({"SENDWELL_SMTP_PROT": "25"}, "unknown setting 'smtp_prot'"),
        ({"SENDWELL_SMTP_PORT": "twenty"}, "'twenty' is not a valid int"),
        ({"SENDWELL_SMTP_TIMEOUT": "soon"}, "is not a valid float"),
        ({"SENDWELL_CONFIG": "/nonexistent/sendwell.toml"}, "does not exist"),
    ],
)
def test_bad_environment_is_a_clear_error(
    environ: dict[str, str], message: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load_settings(environ, cwd=tmp_path)


def test_malformed_toml_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "sendwell.toml").write_text("smtp_port = = 3\n")
    with pytest.raises(ConfigError, match=r"malformed TOML in .*sendwell.toml"):
        load_settings({}, cwd=tmp_path)


def test_unknown_name_in_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "sendwell.toml").write_text("smpt_port = 25\n")
    with pytest.raises(ConfigError, match=r"unknown setting 'smpt_port' in .*sendwell.toml"):
        load_settings({}, cwd=tmp_path)


def test_wrong_type_in_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "sendwell.toml").write_text("helo_name = 5\n")
    with pytest.raises(ConfigError, match="helo_name"):
        load_settings({}, cwd=tmp_path)


def test_secrets_never_print() -> None:
    settings, _ = load_settings(
        {"SENDWELL_SECRET_KEY": "hunter2", "SENDWELL_DATABASE_URL": "postgresql://u:pw@h/db"}
    )
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings.secret_key)
    assert "pw@" not in repr(settings)
    assert settings.secret_key.reveal() == "hunter2"
    assert repr(Secret("x")) == "Secret('**********')"


def test_replace_coerces_like_the_environment() -> None:
    settings = Settings().replace(smtp_port="2525", database_url="sqlite:///x.db")
    assert settings.smtp_port == 2525
    assert isinstance(settings.database_url, Secret)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", None),
        ("127.0.0.1", ("127.0.0.1", 53)),
        ("127.0.0.1:10053", ("127.0.0.1", 10053)),
        ("[::1]:5353", ("::1", 5353)),
        ("::1", ("::1", 53)),
    ],
)
def test_parse_host_port(text: str, expected: tuple[str, int] | None) -> None:
    assert parse_host_port(text, default_port=53, name="dns_resolver") == expected


def test_parse_host_port_rejects_bad_ports() -> None:
    with pytest.raises(ConfigError, match="not a port number"):
        parse_host_port("h:abc", default_port=53, name="dns_resolver")
    with pytest.raises(ConfigError, match="out of range"):
        parse_host_port("h:70000", default_port=53, name="dns_resolver")


def test_effective_settings_star_secrets_and_name_their_source(tmp_path: Path) -> None:
    (tmp_path / "sendwell.toml").write_text('helo_name = "mail.example.com"\n')
    settings, sources = load_settings(
        {"SENDWELL_SECRET_KEY": "s3cret-value", "SENDWELL_SMTP_PORT": "2525"}, cwd=tmp_path
    )
    rows = {r.name: r for r in effective_settings(settings, sources)}
    assert [r.name for r in effective_settings(settings, sources)] == [
        i.name for i in setting_table()
    ]
    assert (rows["secret_key"].value, rows["secret_key"].source) == ("**********", "env")
    assert rows["secret_key"].secret and rows["secret_key"].type_name == "secret"
    assert (rows["smtp_port"].value, rows["smtp_port"].type_name) == ("2525", "int")
    assert rows["helo_name"].source == "file"
    assert rows["log_level"].source == "default"
    assert "s3cret" not in repr(rows)
    # Settings built in code: unchanged values are defaults, changed ones overrides.
    built = {r.name: r for r in effective_settings(Settings().replace(smtp_port=26))}
    assert (built["smtp_port"].source, built["smtp_timeout"].source) == ("override", "default")
