"""Compose: MIME building, headers and the VERP return path."""
