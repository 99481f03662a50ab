from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from api.schemas.common import PRINTABLE, Body, Code, Password, Username

__all__ = ["TokenRequest", "TokenResponse", "Me", "Role", "UserOut", "UserCreate", "UserUpdate"]

Role = Literal["admin", "chief", "inspector", "unit"]


class TokenRequest(Body):
    username: Annotated[str, Meta(min_length=1, max_length=64, pattern=PRINTABLE)]
    password: Annotated[str, Meta(min_length=1, max_length=256)]


class TokenResponse(msgspec.Struct, kw_only=True):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
    role: Role


class Me(msgspec.Struct, kw_only=True):
    username: str
    role: Role
    unit_code: str | None


class UserOut(msgspec.Struct, kw_only=True):
    username: str
    role: Role
    unit_code: str | None
    active: bool
    created_at: datetime


class UserCreate(Body):
    username: Username
    role: Role
    password: Password
    unit_code: Code | None = None


class UserUpdate(Body):
    role: Role | msgspec.UnsetType = msgspec.UNSET
    unit_code: Code | None | msgspec.UnsetType = msgspec.UNSET
    password: Password | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET
