"""``/api/v1/users``: the people who sign in to the admin UI (``sendwell users``).

List, add (with a password of at least ten characters; stored as an argon2id hash),
remove (their sessions end; the last user cannot be removed) and reset a password (the
user's sessions end). Reading needs ``users:read``, changes ``users:write`` — a token with
``users:write`` can create an account and sign in with it, so grant it sparingly.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Path
from pydantic import BaseModel, Field

from sendwell.accounts.users import User, all_users, create_user, remove_user, reset_password
from sendwell.app import App
from sendwell.web.api.common import ERRORS, MAX_ID, NO_NUL, Page, Paging, next_cursor, paging
from sendwell.web.auth import get_app, require_scope

router = APIRouter(tags=["users"], responses=ERRORS)
WRITE = [Depends(require_scope("users:write"))]
UserId = Path(ge=1, le=MAX_ID)


class UserOut(BaseModel):
    id: int
    email: str
    created_at: datetime
    last_login_at: datetime | None


class UserIn(BaseModel):
    email: str = Field(min_length=3, max_length=320, pattern=NO_NUL)
    password: str = Field(min_length=10, max_length=1000, pattern=NO_NUL)


class PasswordIn(BaseModel):
    password: str = Field(min_length=10, max_length=1000, pattern=NO_NUL)


def _out(u: User) -> UserOut:
    return UserOut(id=u.id, email=u.email, created_at=u.created_at, last_login_at=u.last_login_at)


@router.get("/users", dependencies=[Depends(require_scope("users:read"))])
def list_users(page: Paging = Depends(paging), a: App = Depends(get_app)) -> Page[UserOut]:
    with a.engine.connect() as conn:
        rows = [u for u in all_users(conn) if u.id > page.after][: page.limit]
    return Page(
        items=[_out(u) for u in rows], next_cursor=next_cursor([u.id for u in rows], page.limit)
    )


@router.post("/users", status_code=201, dependencies=WRITE)
def post_user(body: UserIn, a: App = Depends(get_app)) -> UserOut:
    """Add a user (409 if the address has an account)."""
    with a.engine.begin() as conn:
        return _out(create_user(conn, body.email, body.password, now=a.clock.now()))


@router.delete("/users/{user_id}", status_code=204, dependencies=WRITE)
def delete_user(user_id: int = UserId, a: App = Depends(get_app)) -> None:
    """Remove a user and end their sessions (409 for the last user)."""
    with a.engine.begin() as conn:
        remove_user(conn, user_id)


@router.post("/users/{user_id}/password", dependencies=WRITE)
def set_user_password(
    body: PasswordIn, user_id: int = UserId, a: App = Depends(get_app)
) -> UserOut:
    """Give a user a new password; every session of theirs ends."""
    with a.engine.begin() as conn:
        return _out(reset_password(conn, user_id, body.password))
