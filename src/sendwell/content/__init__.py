"""Content: templates, personalization and the plain-text part."""
