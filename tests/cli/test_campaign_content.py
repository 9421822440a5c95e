"""Campaign content from the command line: create, edit, show, preview, render, test."""

from __future__ import annotations

import email
import email.policy
import json
from pathlib import Path

from sendwell.sandbox import MxHost, ProviderProfile, Sandbox, SandboxConfig, SandboxThread
from tests.cli.conftest import Run


def test_content_commands(run: Run, tmp_path: Path) -> None:
    env = {"SENDWELL_SENDER_ORGANIZATION": "Example Ltd",
           "SENDWELL_SENDER_POSTAL_ADDRESS": "1 Main St, Springfield"}  # fmt: skip
    for args in (("init",), ("lists", "create", "News"),
                 ("subscribers", "add", "ann@example.org", "--list", "News", "--first-name",
                  "Ann"),
                 ("domains", "add", "example.com"),
                 ("templates", "add", "--example", "newsletter")):  # fmt: skip
        done = run(*args, env=env)
        assert done.returncode == 0, (args, done.stderr)
    created = run("campaigns", "create", "--from", "news@example.com", "--list", "News",
                  "--template", "newsletter", env=env)  # fmt: skip
    assert created.stdout.strip() == "campaign 1 created (draft)", created.stderr
    (tmp_path / "note.md").write_text("Hi {{ subscriber.first_name | default('you') }}\n")
    neither = run("campaigns", "create", "--from", "n@example.com", "--list", "News",
                  "--subject", "s", env=env)  # fmt: skip
    assert "give the content" in neither.stderr
    md = run("campaigns", "create", "--from", "n@example.com", "--list", "News", "--subject",
             "A note", "--markdown", str(tmp_path / "note.md"), "--layout", "house-layout",
             env=env)  # fmt: skip
    assert md.returncode == 0, md.stderr

    shown = json.loads(run("campaigns", "show", "1", "--json").stdout)
    assert (shown["format"], shown["layout"], shown["template"], shown["name"]) == (
        "markdown",
        "house-layout",
        "newsletter",
        "newsletter",
    )
    assert json.loads(run("campaigns", "show", "2", "--json").stdout)["template"] is None

    edited = run("campaigns", "edit", "1", "--subject", "Our November news", env=env)
    assert edited.returncode == 0, edited.stderr
    (tmp_path / "bad.md").write_text("# x\n\n{{ subscriber.first_name | nope }}\n")
    bad = run("campaigns", "edit", "1", "--markdown", str(tmp_path / "bad.md"), env=env)
    assert bad.returncode == 1 and "body, line 3: " in bad.stderr and "nope" in bad.stderr

    preview = run("campaigns", "preview", "1", "--as", "ann@example.org", env=env)
    assert preview.stdout.startswith("Subject: Our November news\nTo: ann@example.org\n")
    assert "Hello Ann," in preview.stdout
    assert "links carry a placeholder until the campaign starts" in preview.stderr
    html = run("campaigns", "preview", "1", "--html", env=env).stdout
    assert html.lstrip().lower().startswith("<!doctype html>") and "Hello Ann," in html

    out_file = tmp_path / "ann.eml"
    rendered = run("campaigns", "render", "1", "--to", "ann@example.org", "-o", str(out_file),
                   env=env)  # fmt: skip
    assert rendered.returncode == 0, rendered.stderr
    data = out_file.read_bytes()
    msg = email.message_from_bytes(data, policy=email.policy.default)
    assert msg["Subject"] == "Our November news" and msg["To"] == "ann@example.org"
    assert "d=example.com" in str(msg["DKIM-Signature"])
    to_stdout = run("campaigns", "render", "1", "--to", "ann@example.org", env=env)
    assert to_stdout.stdout.startswith("DKIM-Signature: ")
    assert run("campaigns", "render", "1", "--to", "x@example.org").returncode == 1


def test_test_send_prints_each_outcome(run: Run) -> None:
    provider = ProviderProfile(
        name="alpha", domains=("alpha.sandbox",),
        mx_hosts=(MxHost(10, "mx.alpha.sandbox", "127.0.9.11"),), unknown_mailbox="^unknown",
    )  # fmt: skip
    world = SandboxConfig(providers=(provider,), dns_port=0, smtp_port=0)
    with SandboxThread(Sandbox(world, keep_messages=True)) as sandbox:
        host, port = sandbox.dns_address
        env = {"SENDWELL_DNS_RESOLVER": f"{host}:{port}",
               "SENDWELL_SMTP_PORT": str(sandbox.smtp_port)}  # fmt: skip
        assert run("init").returncode == 0
        assert run("lists", "create", "News").returncode == 0
        assert run("templates", "add", "--example", "announcement").returncode == 0
        assert run("campaigns", "create", "--from", "n@sender.sandbox", "--list", "News",
                   "--template", "announcement").returncode == 0  # fmt: skip
        ok = run("campaigns", "test", "1", "--to", "qa@alpha.sandbox", env=env)
        assert ok.returncode == 0, ok.stderr
        assert "qa@alpha.sandbox" in ok.stdout and "accepted" in ok.stdout
        assert "mx.alpha.sandbox" in ok.stdout
        mixed = run("campaigns", "test", "1", "--to", "qa@alpha.sandbox", "--to",
                    "unknown@alpha.sandbox", env=env)  # fmt: skip
        assert mixed.returncode == 1
        assert "failed" in mixed.stdout and "550" in mixed.stdout
        assert "1 of 2 test messages were not accepted" in mixed.stderr
        subjects = {str(email.message_from_bytes(m.data, policy=email.policy.default)["Subject"])
                    for m in sandbox.sandbox.messages}  # fmt: skip
        assert subjects == {"[TEST] Scheduled reports are here"}
        assert len(sandbox.sandbox.messages) == 2
