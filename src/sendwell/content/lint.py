"""Content lint for preflight: Gmail's clipping size, missing alt text, image-only mail.

Pure functions over the rendered HTML and text. Gmail clips a message whose HTML exceeds
about 102 KB (hiding the footer — and with it the unsubscribe link and postal address);
images without ``alt`` text show nothing when images are blocked (the default in many
clients); a mail that is only images reads as empty and scores as spam.

Limit: HTML is scanned with regular expressions, which is enough for counting tags in
the mail sendwell renders, not a full HTML parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GMAIL_CLIP_BYTES = 102 * 1024

_IMG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
_ALT = re.compile(r"""\balt\s*=\s*(["'])\s*\S""", re.IGNORECASE)


@dataclass(frozen=True)
class ContentLint:
    html_bytes: int
    images: int
    images_without_alt: int
    text_words: int

    @property
    def clipped_by_gmail(self) -> bool:
        return self.html_bytes > GMAIL_CLIP_BYTES

    @property
    def image_only(self) -> bool:
        return self.images > 0 and self.text_words < 20


def lint_content(html: str, text: str) -> ContentLint:
    images = _IMG.findall(html)
    return ContentLint(
        html_bytes=len(html.encode("utf-8")),
        images=len(images),
        images_without_alt=sum(1 for tag in images if not _ALT.search(tag)),
        text_words=len(re.sub(r"https?://\S+", "", text).split()),
    )
