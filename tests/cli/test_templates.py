"""``sendwell templates``, as a user would type it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.cli.conftest import Run


def test_the_library_from_the_command_line(run: Run, tmp_path: Path) -> None:
    assert run("init").returncode == 0
    examples = run("templates", "examples")
    assert "house-layout" in examples.stdout and "announcement" in examples.stdout
    mixed = run("templates", "add", "--example", "newsletter", "--subject", "x")
    assert mixed.returncode == 1 and "--example takes only a NAME" in mixed.stderr
    added = run("templates", "add", "--example", "newsletter")
    assert added.returncode == 0, added.stderr
    assert "layout house-layout added" in added.stdout
    assert "template newsletter added (markdown" in added.stdout

    (tmp_path / "promo.md").write_text("# Hi {{ subscriber.first_name }}\n\nNews.\n")
    promo = run("templates", "add", "promo", "--body", str(tmp_path / "promo.md"),
                "--subject", "Promo", "--layout", "house-layout")  # fmt: skip
    assert promo.returncode == 0, promo.stderr
    assert "warning: body, line 1: 'first_name' is missing for some subscribers" in promo.stderr

    (tmp_path / "bad.html").write_text("<p>ok</p>\n<p>{{ unsubscribe_link }}</p>\n{% if %}")
    bad = run("templates", "add", "bad", "--body", str(tmp_path / "bad.html"), "--subject", "s")
    assert bad.returncode == 1
    assert bad.stderr.startswith("error: body, line 3: ")
    assert "Traceback" not in bad.stderr
    (tmp_path / "bad.html").write_text("<p>ok</p>\n<p>{{ unsubscribe_link }}</p>\n")
    bad = run("templates", "add", "bad", "--body", str(tmp_path / "bad.html"), "--subject", "s")
    assert "body, line 2: 'unsubscribe_link' is undefined; did you mean 'unsubscribe_url'?" in (
        " ".join(bad.stderr.split())
    )
    assert run("templates", "add", "x", "--body", str(tmp_path / "promo.txt")).returncode == 1

    listed = json.loads(run("templates", "ls", "--json").stdout)
    assert [(t["name"], t["kind"], t["version"]) for t in listed] == [
        ("newsletter", "template", 1),
        ("promo", "template", 1),
        ("house-layout", "layout", 1),
    ]
    shown = run("templates", "show", "promo")
    assert "template promo" in shown.stdout and "# Hi {{ subscriber.first_name }}" in shown.stdout
    assert json.loads(run("templates", "show", "promo", "--json").stdout)["layout"] == (
        "house-layout"
    )

    (tmp_path / "promo.md").write_text("# Hi {{ subscriber.first_name | default('you') }}\n")
    edited = run("templates", "edit", "promo", "--body", str(tmp_path / "promo.md"),
                 "--no-layout", "--rename", "promo-2")  # fmt: skip
    assert edited.returncode == 0, edited.stderr
    assert "template promo-2 saved (version 2)" in edited.stdout and edited.stderr == ""
    assert run("templates", "edit", "promo-2").returncode == 1  # nothing to change

    html = run("templates", "preview", "newsletter", "--html")
    assert html.stdout.lstrip().lower().startswith("<!doctype html>")
    assert "Hello Ada," in html.stdout  # the sample subscriber
    text = run("templates", "preview", "newsletter")
    assert text.stdout.startswith("Subject: What's new at")
    out_file = tmp_path / "layout.html"
    layout = run("templates", "preview", "house-layout", "--html", "-o", str(out_file))
    assert layout.returncode == 0
    assert "The content of a campaign goes here." in out_file.read_text()

    in_use = run("templates", "rm", "house-layout")
    assert in_use.returncode == 1 and "is used by newsletter" in in_use.stderr
    assert run("templates", "rm", "promo-2").returncode == 0
    assert run("templates", "show", "promo-2").stderr.startswith("error: no template promo-2")
