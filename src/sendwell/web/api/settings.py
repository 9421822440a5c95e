"""``/api/v1/settings``: the settings in force (``sendwell config show --json``), read-only.

Secrets (database URL, signing key, webhook keys, mailbox passwords) are always stars;
``source`` says where each value came from (``env``, ``file``, ``default``, ``override``).
Settings are changed where they are read — ``SENDWELL_*`` variables or ``sendwell.toml`` —
and take effect when the processes restart. Needs ``settings:read``.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from sendwell.app import App
from sendwell.web.api.common import ERRORS
from sendwell.web.auth import get_app, require_scope

router = APIRouter(tags=["settings"], responses=ERRORS)


class SettingOut(BaseModel):
    name: str
    value: str = Field(description="The value as text; secrets as stars.")
    source: Literal["default", "file", "env", "override"]
    type: str
    secret: bool
    env: str = Field(description="The environment variable that sets it.")
    help: str


@router.get("/settings", dependencies=[Depends(require_scope("settings:read"))])
def list_settings(a: App = Depends(get_app)) -> list[SettingOut]:
    """Every setting, its value in this process and where the value came from."""
    return [
        SettingOut(
            name=s.name,
            value=s.value,
            source=s.source,
            type=s.type_name,
            secret=s.secret,
            env=f"SENDWELL_{s.name.upper()}",
            help=s.help,
        )
        for s in a.effective_settings()
    ]
