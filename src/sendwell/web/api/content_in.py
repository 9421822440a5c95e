"""The content of a campaign as API clients send it (``POST /campaigns``, ``PUT .../content``)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field
from sqlalchemy import Connection

from sendwell.campaigns.content import content_from
from sendwell.content.compile import ContentSource
from sendwell.content.library import TemplateRecord
from sendwell.errors import InvalidInput
from sendwell.web.api.common import NO_NUL

MAX_SOURCE = 1_000_000


class ContentIn(BaseModel):
    """Exactly one of ``template`` and ``body``."""

    template: str | None = Field(
        None, min_length=1, max_length=200, pattern=NO_NUL,
        description="A library template (name or id) whose content is copied.",
    )  # fmt: skip
    format: Literal["html", "markdown", "mjml"] = Field("html", description="Of the body.")
    body: str | None = Field(None, min_length=1, max_length=MAX_SOURCE, pattern=NO_NUL)
    text: str | None = Field(
        None, max_length=MAX_SOURCE, pattern=NO_NUL,
        description="The text version (with a template: replaces the template's); "
        "null: the template's, or made from the HTML.",
    )  # fmt: skip
    layout: str | None = Field(
        None, min_length=1, max_length=200, pattern=NO_NUL,
        description="A library layout to wrap the content in (with a template: replaces "
        "the template's).",
    )  # fmt: skip
    subject: str | None = Field(
        None, min_length=1, max_length=998, pattern=NO_NUL,
        description="Required with a body; with a template, replaces the template's.",
    )  # fmt: skip

    def source(self, conn: Connection) -> tuple[ContentSource, TemplateRecord | None]:
        """The content to check and store, and the library template it is copied from."""
        if (self.template is None) == (self.body is None):
            raise InvalidInput("give the content as exactly one of template and body")
        body = (self.format, self.body) if self.body is not None else None
        return content_from(
            conn, template=self.template, body=body, subject=self.subject, text=self.text,
            layout=self.layout,
        )  # fmt: skip
