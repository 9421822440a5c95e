"""Tables of the content capability, on the shared metadata of ``store.schema``."""

from __future__ import annotations
