from __future__ import annotations

from litestar import Controller, Request, get, post
from litestar.params import JSONBody
from litestar.datastructures import State
from litestar.status_codes import HTTP_200_OK, HTTP_204_NO_CONTENT

from api import audit
from api.deps import DB, AppSettings
from api.errors import Unauthorized
from api.models import User
from api.schemas.auth import Me, TokenRequest, TokenResponse
from api.security import Principal, authenticate, issue_token

__all__ = ["AuthController"]


class AuthController(Controller):
    path = "/api/v1"
    tags = ["auth"]

    @post("/auth/token", operation_id="createToken", status_code=HTTP_200_OK, exclude_from_auth=True,
          summary="Exchange username and password for a bearer token")
    async def token(self, data: JSONBody[TokenRequest], db: DB, settings: AppSettings, state: State) -> TokenResponse:
        user = await authenticate(db, settings, data.username, data.password)
        await db.commit()
        if user is None:
            raise Unauthorized("Wrong username or password, or the account is disabled.", code="INVALID_CREDENTIALS")
        token, expires_at = issue_token(state.jwt_auth, settings, user)
        return TokenResponse(access_token=token, expires_at=expires_at, role=user.role)  # type: ignore[arg-type]

    @post("/auth/logout", operation_id="logout", status_code=HTTP_204_NO_CONTENT,
          summary="Revoke every token of the caller")
    async def logout(self, request: Request[Principal, object, object], db: DB, state: State) -> None:
        user = await db.get(User, request.user.id)
        if user is not None:
            user.token_version += 1
            audit.record(db, user.username, "user.logged_out", "user", user.username, None, {"tokens_revoked": True})
            await db.commit()
        state.principals.evict(request.user.id)

    @get("/me", operation_id="getMe", summary="Who the token belongs to")
    async def me(self, request: Request[Principal, object, object]) -> Me:
        p = request.user
        return Me(username=p.username, role=p.role, unit_code=p.unit_code)  # type: ignore[arg-type]
