"""Admin users: removal keeps one user, password resets end the user's sessions."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, func, select

from sendwell.accounts.users import (
    authenticate,
    create_user,
    find_user,
    remove_user,
    reset_password,
    set_password,
)
from sendwell.clock import FrozenClock
from sendwell.errors import ConflictError, NotFound
from sendwell.store.schema_web import web_sessions
from sendwell.web.sessions import start_session

PASSWORD = "correct horse battery"


def sessions_of(engine: Engine, user_id: int) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(web_sessions)
                .where(web_sessions.c.user_id == user_id)
            ).scalar_one()
        )


def test_remove_and_reset(engine: Engine, clock: FrozenClock) -> None:
    now = clock.now()
    with engine.begin() as conn:
        ann = create_user(conn, "ann@example.com", PASSWORD, now=now)
        bob = create_user(conn, "bob@example.com", PASSWORD, now=now)
        for user in (ann, bob, bob):
            start_session(conn, user.id, now=now, hours=1)
    with engine.begin() as conn:
        reset_password(conn, bob.id, "a brand new password")
        assert authenticate(conn, "bob@example.com", PASSWORD, now=now) is None
        assert authenticate(conn, "bob@example.com", "a brand new password", now=now)
    assert sessions_of(engine, bob.id) == 0
    assert sessions_of(engine, ann.id) == 1
    with engine.begin() as conn:
        assert set_password(conn, "ANN@example.com", "another new password")
        assert not set_password(conn, "nobody@example.com", "another new password")
    assert sessions_of(engine, ann.id) == 0
    with engine.begin() as conn:
        assert find_user(conn, "Bob@Example.com").id == bob.id
        assert remove_user(conn, bob.id).email == "bob@example.com"
        with pytest.raises(ConflictError, match="only user"):
            remove_user(conn, ann.id)
        with pytest.raises(NotFound):
            remove_user(conn, bob.id)
        with pytest.raises(NotFound):
            find_user(conn, "bob@example.com")


def test_a_user_changing_their_own_password_keeps_their_session(
    engine: Engine, clock: FrozenClock
) -> None:
    now = clock.now()
    with engine.begin() as conn:
        ann = create_user(conn, "ann@example.com", PASSWORD, now=now)
        start_session(conn, ann.id, now=now, hours=1)
        start_session(conn, ann.id, now=now, hours=1)
        mine = conn.execute(select(web_sessions.c.id).limit(1)).scalar_one()
        reset_password(conn, ann.id, "a brand new password", keep_session=mine)
        left = conn.execute(select(web_sessions.c.id)).scalars().all()
    assert left == [mine]
