"""Dependencies shared by the controllers."""

from __future__ import annotations

from typing import Any, AsyncGenerator

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency
from sqlalchemy.ext.asyncio import AsyncSession

from api.evidence_runtime import EvidenceRuntime
from api.security import Principal
from api.settings import Settings

__all__ = ["DB", "AppSettings", "Runtime", "provide_runtime", "provide_session", "provide_settings", "provide_principal"]

DB = NamedDependency[AsyncSession]
"""The request's database session (``db``)."""
AppSettings = NamedDependency[Settings]
"""The process settings (``settings``)."""
Runtime = NamedDependency[EvidenceRuntime]
"""The worker's evidence stores, analysis pool and ledger key (``evidence_runtime``)."""


async def provide_session(state: State) -> AsyncGenerator[AsyncSession, None]:
    """One session per request; anything not committed by the handler is rolled back."""
    async with state.sessionmaker() as session:
        yield session


def provide_settings(state: State) -> Settings:
    return state.settings


def provide_runtime(state: State) -> EvidenceRuntime:
    return state.evidence_runtime


def provide_principal(request: Request[Principal, Any, Any]) -> Principal:
    return request.user
