"""The Litestar application: ``create_app(settings)`` wires controllers, auth, errors and the
database. It reads no environment; :func:`create_app_from_env` is the entry point for
``spotcheck serve`` (uvicorn factory) and builds the settings once per worker."""

from __future__ import annotations

import functools
import gc
from contextlib import asynccontextmanager
from typing import AsyncIterator

import anyio

from litestar import Litestar
from litestar.config.app import AppConfig
from litestar.datastructures import State
from litestar.types import Message, Scope
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin

from api import __version__, audit
from api.console import console_routers, template_config
from api.console.render import console_or_api
from api.controllers.auth import AuthController
from api.controllers.conflicts import ConflictController
from api.controllers.draws import DrawController
from api.controllers.field import CheckInController, FindingController, make_sync_controller
from api.controllers.documents import CatalogController, SchemeController
from api.controllers.evidence import BINARY_OPERATIONS, RAW_BODIES, make_evidence_controller
from api.controllers.ledger import TEXT_OPERATIONS, LedgerController
from api.controllers.uploads import CHUNK_BODIES, make_upload_controller
from api.controllers.health import HealthController
from api.controllers.plans import PlanController
from api.controllers.tasks import MyTaskController, TaskController
from api.controllers.imports import make_import_controller
from api.controllers.periods import make_period_controller
from api.controllers.appeals import AppealController, DeductionAppealController
from api.controllers.audit import AuditController
from api.controllers.notices import MyDeductionController, NoticeController
from api.controllers.reviews import DecisionController, ReviewController
from api.controllers.register import RegisterController
from api.controllers.registry import CaseFileController, InspectorController, UnitController
from api.controllers.scores import ScoreController
from api.controllers.users import UserController
from api.bodies import body_timeout_middleware
from api.db import make_engine, make_sessionmaker
from api.deps import provide_runtime, provide_session, provide_settings
from api.errors import exception_handlers
from api.field_facts import FieldFacts
from api.headers import make_security_headers
from api.field_ops import FieldWriter
from api.group_commit import GroupCommit
from api.evidence_runtime import EvidenceRuntime
from api.exports import EXPORT_MEDIA_TYPES
from api.openapi import document_binary, document_errors, document_lazily
from api.logs import configure_logging, request_id_middleware, request_id_of
from api.security import PrincipalCache, make_jwt_auth
from api.settings import Settings

__all__ = ["create_app", "create_app_from_env"]

# Downloads answering CSV or XLSX, documented as such instead of JSON.
EXPORTS = {"exportPlanTasks": EXPORT_MEDIA_TYPES, "exportAudit": EXPORT_MEDIA_TYPES}


def create_app(settings: Settings) -> Litestar:
    principals = PrincipalCache(settings.auth_cache_seconds)
    jwt_auth = make_jwt_auth(settings, principals)

    @asynccontextmanager
    async def database(app: Litestar) -> AsyncIterator[None]:
        engine = make_engine(settings.effective_database_url, pool_size=settings.db_pool_size,
                             timeout=settings.db_timeout_seconds)
        app.state.engine = engine
        app.state.sessionmaker = make_sessionmaker(engine)
        app.state.field_writer = FieldWriter(settings, FieldFacts())
        app.state.writer = GroupCommit(engine, app.state.field_writer.handlers(), journal=audit.write,
                                       preparers=app.state.field_writer.preparers())
        await app.state.writer.start()
        try:
            yield
        finally:
            await app.state.writer.stop()
            await engine.dispose()

    @asynccontextmanager
    async def evidence(app: Litestar) -> AsyncIterator[None]:
        runtime = await anyio.to_thread.run_sync(EvidenceRuntime.from_settings, settings)
        app.state.evidence_runtime = runtime
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(runtime.close)

    app = Litestar(
        route_handlers=[
            HealthController,
            AuthController,
            UserController,
            UnitController,
            CaseFileController,
            InspectorController,
            make_import_controller(settings.import_max_bytes),
            PlanController,
            DrawController,
            TaskController,
            MyTaskController,
            ConflictController,
            FindingController,
            CheckInController,
            make_sync_controller(settings.sync_max_body_bytes),
            CatalogController,
            SchemeController,
            make_period_controller(settings.import_max_bytes),
            ScoreController,
            ReviewController,
            DecisionController,
            NoticeController,
            MyDeductionController,
            DeductionAppealController,
            AppealController,
            RegisterController,
            AuditController,
            make_evidence_controller(settings.evidence_max_bytes),
            make_upload_controller(settings.evidence_max_bytes),
            LedgerController,
            *console_routers(settings),
        ],
        template_config=template_config(),
        dependencies={"db": Provide(provide_session), "settings": Provide(provide_settings, sync_to_thread=False),
                      "evidence_runtime": Provide(provide_runtime, sync_to_thread=False)},
        exception_handlers={**exception_handlers, HTTPException: console_or_api(exception_handlers[HTTPException])},
        middleware=[request_id_middleware, body_timeout_middleware(settings.body_idle_seconds)],
        before_send=[_ensure_request_id, make_security_headers(settings)],
        on_app_init=[jwt_auth.on_app_init, _request_id_outermost],
        lifespan=[database, evidence],
        state=State({"settings": settings, "jwt_auth": jwt_auth, "principals": principals}),
        request_max_body_size=settings.max_body_bytes,
        openapi_config=OpenAPIConfig(
            title="Spotcheck API",
            version=__version__,
            description="Randomized field inspections: registry, draws, evidence, scoring, review.",
            path="/schema",
            render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin(path="/swagger")],
        ),
        debug=False,
        logging_config=None,  # api.logs owns logging: one JSON line per event
    )
    document_lazily(app, document_errors, functools.partial(
        document_binary, binary=BINARY_OPERATIONS | EXPORTS, text=TEXT_OPERATIONS, raw_bodies=RAW_BODIES | CHUNK_BODIES))
    return app


def _request_id_outermost(app_config: AppConfig) -> AppConfig:
    # The auth middleware inserts itself first; requests it rejects must carry an id too.
    app_config.middleware.remove(request_id_middleware)
    app_config.middleware.insert(0, request_id_middleware)
    return app_config


async def _ensure_request_id(message: Message, scope: Scope) -> None:
    # Routing errors (404/405) never reach the middleware stack, and errors answered by the
    # exception middleware around it (e.g. the auth middleware's 401) bypass its send: give
    # them the request's id too (the one logged), or the client's if it sent a sane one.
    if message["type"] == "http.response.start":
        headers = list(message.get("headers") or [])
        if not any(name.lower() == b"x-request-id" for name, _ in headers):
            headers.append((b"x-request-id", request_id_of(scope).encode()))
            message["headers"] = headers


def create_app_from_env() -> Litestar:
    """The app a served worker runs (``spotcheck serve``)."""
    settings = Settings.from_env()
    configure_logging(settings.log_level)
    app = create_app(settings)
    app.on_startup.append(_freeze_startup_objects)
    return app


def _freeze_startup_objects(app: Litestar) -> None:
    # A served worker builds its OpenAPI document now (created lazily, see
    # api.openapi.document_lazily) so that it is frozen with the rest.
    _ = app.openapi_schema
    # A worker keeps what startup built (routes, models, mappers, the OpenAPI document: a few
    # hundred thousand objects) for its whole life. Python's full garbage collections walked
    # them all, pausing the worker for tens of milliseconds several times a second under
    # load (p99 latency of findings 90-120 ms; 34-46 ms once frozen, docs/performance.md).
    # Frozen, collections look only at what was allocated since. Garbage first: frozen
    # objects are never collected.
    gc.collect()
    gc.freeze()
