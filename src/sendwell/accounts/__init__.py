"""Who may use sendwell: admin UI users (argon2id passwords) and REST API tokens (scopes).

Both the web layer and the CLI (``sendwell users``, ``sendwell tokens``) use this package;
it depends only on ``store``, ``audience.addresses`` and ``errors``.
"""
