"""Pagination and shared response shapes of the REST API."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from fastapi import Query
from pydantic import BaseModel, Field

from sendwell.content.validate import Problem
from sendwell.errors import InvalidInput

T = TypeVar("T")

MAX_LIMIT = 500


class Page(BaseModel, Generic[T]):
    """One page of a collection; pass ``next_cursor`` as ``cursor`` for the next page."""

    items: list[T]
    next_cursor: str | None


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    """Every error the API returns has this shape."""

    error: ErrorDetail


class ProblemOut(BaseModel):
    """One finding of the save-time template check."""

    level: Literal["error", "warning"]
    part: str = Field(description="subject, body or text; empty for the content as a whole.")
    line: int | None = Field(description="Line in the author's source of that part.")
    message: str


def problems_out(problems: Iterable[Problem]) -> list[ProblemOut]:
    return [ProblemOut(level=p.level, part=p.part, line=p.line, message=p.message)
            for p in problems]  # fmt: skip


ERRORS: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in (
        (401, "No valid API token."),
        (403, "The token lacks the scope."),
        (404, "No such object."),
        (409, "Not allowed in the object's current state."),
        (422, "Invalid input."),
    )
}


@dataclass(frozen=True)
class Paging:
    limit: int
    after: int


def paging(
    limit: int = Query(50, ge=1, le=MAX_LIMIT, description="Items per page."),
    cursor: str | None = Query(
        None, max_length=40, description="`next_cursor` of the previous page."
    ),
) -> Paging:
    after = 0
    if cursor:
        if not cursor.isascii() or not cursor.isdigit() or int(cursor) > MAX_ID:
            raise InvalidInput("cursor is not one this API handed out")
        after = int(cursor)
    return Paging(limit, after)


def next_cursor(ids: list[int], limit: int) -> str | None:
    """A cursor after the last id when the page is full (there may be more)."""
    return str(ids[-1]) if ids and len(ids) == limit else None


# Ids fit a signed 64-bit column; larger numbers are refused up front instead of failing
# in the database driver.
MAX_ID = 2**63 - 1
# NUL cannot be stored in PostgreSQL text; refused in every free-text field.
NO_NUL = r"^[^\x00]*$"
