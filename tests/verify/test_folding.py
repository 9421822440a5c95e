"""Provider folding for duplicate hints."""

from __future__ import annotations

from sendwell.verify.folding import fold_key


def test_gmail_folds_dots_tags_and_googlemail() -> None:
    assert fold_key("a.n.n+news@gmail.com") == fold_key("ann@googlemail.com") == "ann@gmail.com"


def test_tag_only_providers_keep_dots() -> None:
    assert fold_key("ann.lee+x@outlook.com") == "ann.lee@outlook.com"
    assert fold_key("ann+x@me.com") == "ann@icloud.com"


def test_other_domains_are_untouched() -> None:
    assert fold_key("a.nn+x@example.com") == "a.nn+x@example.com"
