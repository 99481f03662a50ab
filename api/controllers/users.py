from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get, patch, post
from litestar.datastructures import State
from litestar.params import FromPath, FromQuery, JSONBody
from sqlalchemy import func, select

from api.deps import DB
from api.controllers.params import Limit, Offset
from api.accounts import create_user, get_user, update_user, user_out
from api.models import User
from api.schemas.auth import Role, UserCreate, UserOut, UserUpdate
from api.schemas.common import Page
from api.security import Principal, requires

__all__ = ["UserController"]


class UserController(Controller):
    path = "/api/v1/users"
    tags = ["users"]
    guards = [requires("admin")]

    @get("/", operation_id="listUsers", summary="List accounts")
    async def list_users(
        self,
        db: DB,
        role: FromQuery[Role | None] = None,
        limit: Limit = 50,
        offset: Offset = 0,
    ) -> Page[UserOut]:
        filters = [User.role == role] if role else []
        total = (await db.execute(select(func.count()).select_from(User).where(*filters))).scalar_one()
        rows = (await db.execute(select(User).where(*filters).order_by(User.username).limit(limit).offset(offset))).scalars()
        return Page(items=[user_out(u) for u in rows], total=total, limit=limit, offset=offset)

    @post("/", operation_id="createUser", summary="Create an account")
    async def create(self, request: Request[Principal, Any, Any], data: JSONBody[UserCreate], db: DB) -> UserOut:
        user = await create_user(db, data, request.user.username)
        await db.commit()
        return user_out(user)

    @get("/{username:str}", operation_id="getUser", summary="Read an account")
    async def read(self, username: FromPath[str], db: DB) -> UserOut:
        return user_out(await get_user(db, username))

    @patch("/{username:str}", operation_id="updateUser", summary="Change role, unit, password or active flag")
    async def update(self, request: Request[Principal, Any, Any], username: FromPath[str], data: JSONBody[UserUpdate], db: DB,
                     state: State) -> UserOut:
        user = await update_user(db, await get_user(db, username), data, request.user.username)
        await db.commit()
        state.principals.evict(user.id)
        return user_out(user)
