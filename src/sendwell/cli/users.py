"""``sendwell users`` (admin UI accounts) and ``sendwell tokens`` (REST API tokens)."""

from __future__ import annotations

import sys

import typer
from rich.table import Table

from sendwell.accounts.tokens import SCOPES, all_tokens, create_token, revoke_token
from sendwell.accounts.users import all_users, create_user, find_user, remove_user, set_password
from sendwell.cli import context
from sendwell.cli.context import out
from sendwell.errors import InvalidInput

users_app = typer.Typer(help="Admin UI users.", no_args_is_help=True)
tokens_app = typer.Typer(help="REST API tokens.", no_args_is_help=True)


def _password(from_stdin: bool) -> str:
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not password:
        raise InvalidInput("empty password")
    return password


@users_app.command("add")
def users_add(
    email: str = typer.Argument(..., help="The user's email address (their sign-in name)."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin."
    ),
) -> None:
    """Add a user who can sign in to the admin UI (asks for the password)."""
    password = _password(password_stdin)
    with context.opened() as a, a.engine.begin() as conn:
        user = create_user(conn, email, password, now=a.clock.now())
    out.print(f"user {user.email} added", markup=False)


@users_app.command("passwd")
def users_passwd(
    email: str = typer.Argument(..., help="The user's email address."),
    password_stdin: bool = typer.Option(
        False, "--password-stdin", help="Read the password from the first line of stdin."
    ),
) -> None:
    """Set a new password for a user (their sessions end)."""
    password = _password(password_stdin)
    with context.opened() as a, a.engine.begin() as conn:
        if not set_password(conn, email, password):
            raise InvalidInput(f"no user {email}")
    out.print(f"password of {email} changed", markup=False)


@users_app.command("remove")
def users_remove(email: str = typer.Argument(..., help="The user's email address.")) -> None:
    """Remove a user and end their sessions (the last user cannot be removed)."""
    with context.opened() as a, a.engine.begin() as conn:
        user = remove_user(conn, find_user(conn, email).id)
    out.print(f"user {user.email} removed", markup=False)


@users_app.command("ls")
def users_ls() -> None:
    """List admin users."""
    with context.opened() as a, a.engine.connect() as conn:
        rows = all_users(conn)
    table = Table("id", "email", "created", "last sign-in")
    for u in rows:
        last = u.last_login_at.isoformat(" ", "seconds") if u.last_login_at else "never"
        table.add_row(str(u.id), u.email, u.created_at.isoformat(" ", "seconds"), last)
    out.print(table)


@tokens_app.command("create")
def tokens_create(
    scope: list[str] = typer.Option(
        ..., help=f"Scope to grant (repeatable or comma-separated): all, {', '.join(SCOPES)}."
    ),
    name: str = typer.Option("", help="What the token is for, shown by `tokens ls`."),
) -> None:
    """Create an API token; its secret is printed once and cannot be shown again."""
    with context.opened() as a, a.engine.begin() as conn:
        token, secret = create_token(conn, name, scope, now=a.clock.now())
    out.print(
        f"token {token.id} ({' '.join(sorted(token.scopes))}); store this secret, it is not "
        "shown again:",
        markup=False,
    )
    print(secret)


@tokens_app.command("ls")
def tokens_ls() -> None:
    """List API tokens (never their secrets)."""
    with context.opened() as a, a.engine.connect() as conn:
        rows = all_tokens(conn)
    table = Table("id", "name", "scopes", "created", "last used", "revoked")
    for t in rows:
        table.add_row(
            str(t.id), t.name, " ".join(sorted(t.scopes)), t.created_at.isoformat(" ", "seconds"),
            t.last_used_at.isoformat(" ", "seconds") if t.last_used_at else "never",
            t.revoked_at.isoformat(" ", "seconds") if t.revoked_at else "",
        )  # fmt: skip
    out.print(table)


@tokens_app.command("revoke")
def tokens_revoke(
    token_id: int = typer.Argument(..., help="The token's id (`tokens ls`)."),
) -> None:
    """Revoke an API token at once."""
    with context.opened() as a, a.engine.begin() as conn:
        revoke_token(conn, token_id, now=a.clock.now())
    out.print(f"token {token_id} revoked")


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")
    app.add_typer(tokens_app, name="tokens")
