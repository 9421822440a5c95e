"""Tables of the content capability, on the shared metadata of ``store.schema``.

* ``sending_domains``: one row per From domain sendwell signs for. Private keys are stored
  encrypted (Fernet, key derived from the sendwell secret key; see ``domains.keys``), so a
  database dump alone does not leak them and every worker machine can sign.
* ``campaign_settings``: per-campaign compliance and pacing values that override the
  global settings (sender identity, postal address, frequency cap). A campaign without a
  row uses the settings.
* ``templates``: the template library — named templates and layouts (kind), each in a
  format (html, markdown, mjml) with a subject, a body and an optional text version. A
  template may name a layout; a layout in use cannot be deleted (``RESTRICT``).
  ``version`` counts saves, so a campaign can say which version it was made from.
* ``campaign_content``: the snapshot of what a campaign was written in — format, sources,
  the layout's sources as they were, and where it came from (template name and version).
  ``campaigns.html_template``/``text_template`` hold the compiled Jinja templates the
  builder renders; editing a library template never changes a campaign.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, String, Table, Text

from sendwell.store.schema import BigId, metadata
from sendwell.store.types import UtcDateTime

sending_domains = Table(
    "sending_domains",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("domain", String(255), nullable=False, unique=True),
    Column("selector", String(63), nullable=False),
    Column("private_key", Text, nullable=False),  # encrypted PEM
    Column("ed25519_selector", String(63), nullable=True),
    Column("ed25519_private_key", Text, nullable=True),  # encrypted PEM
    Column("created_at", UtcDateTime, nullable=False),
)

campaign_settings = Table(
    "campaign_settings",
    metadata,
    Column("campaign_id", BigId, ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True),
    Column("organization", String(200), nullable=True),
    Column("postal_address", Text, nullable=True),
    Column("frequency_cap_count", Integer, nullable=True),
    Column("frequency_cap_days", Integer, nullable=True),
)

templates = Table(
    "templates",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("kind", String(10), nullable=False),  # template | layout
    Column("format", String(10), nullable=False),  # html | markdown | mjml
    Column("subject", String(998), nullable=False, default=""),
    Column("body", Text, nullable=False),
    Column("text_body", Text, nullable=True),
    Column("layout_id", BigId, ForeignKey("templates.id", ondelete="RESTRICT"), nullable=True),
    Column("description", Text, nullable=False, default=""),
    Column("version", Integer, nullable=False, default=1),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
)

campaign_content = Table(
    "campaign_content",
    metadata,
    Column("campaign_id", BigId, ForeignKey("campaigns.id", ondelete="CASCADE"), primary_key=True),
    Column("format", String(10), nullable=False),
    Column("body", Text, nullable=False),
    Column("text_body", Text, nullable=True),
    Column("layout_name", String(200), nullable=True),
    Column("layout_format", String(10), nullable=True),
    Column("layout_body", Text, nullable=True),
    Column("layout_text", Text, nullable=True),
    Column("template_id", BigId, ForeignKey("templates.id", ondelete="SET NULL"), nullable=True),
    Column("template_name", String(200), nullable=True),
    Column("template_version", Integer, nullable=True),
    Column("updated_at", UtcDateTime, nullable=False),
)
