"""Tracking: signed tokens, link rewriting, machine-activity classification, event buffer.

The HTTP endpoints that serve the tokens live in ``sendwell.web.tracking``; this package
holds everything below HTTP so it is tested without a server.
"""
