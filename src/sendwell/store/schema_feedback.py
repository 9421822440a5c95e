"""Tables of the feedback capability, on the shared metadata of ``store.schema``."""

from __future__ import annotations
