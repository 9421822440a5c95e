"""The web face of sendwell: REST API (``/api/v1``), admin UI (``/admin``), public pages.

:func:`sendwell.web.app.create_app` builds the FastAPI application from an opened
:class:`sendwell.app.App`; every route calls the same service functions as the CLI.
"""
