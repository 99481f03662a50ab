"""The OpenAPI document states our real error contract.

Litestar documents 4xx bodies as ``{status_code, detail, extra}``; every error we send is
:class:`api.errors.ErrorBody`. This rewrites each operation's error responses to that shape
and adds the statuses the operation can actually return.
"""

from __future__ import annotations

from typing import Callable

from litestar import Litestar
from litestar.openapi.spec import OpenAPI, OpenAPIMediaType, OpenAPIResponse, Reference, RequestBody, Schema
from litestar.openapi.spec.enums import OpenAPIFormat, OpenAPIType

__all__ = ["document_binary", "document_errors", "document_lazily"]

PUBLIC_PATHS = {"/healthz", "/readyz", "/api/v1/auth/token"}
COMMON = {
    "400": "Malformed request (e.g. body is not JSON): code MALFORMED_JSON or BAD_REQUEST; "
           "UPLOAD_INTERRUPTED if the connection dropped mid-body.",
    "404": "No such resource, or one the caller may not know exists.",
    "413": "The request body exceeds the limit: code PAYLOAD_TOO_LARGE.",
    "422": "Invalid input; details list each bad field as {path, message}.",
    "500": "Unexpected error; logged with the request id, no details exposed.",
    "503": "The database is unavailable; retry after the Retry-After header.",
}
AUTHENTICATED = {
    "401": "Missing, invalid, expired or revoked token.",
    "403": "The caller's role may not do this.",
}
WRITES = {"408": "The request body stalled for SPOTCHECK_BODY_IDLE_SECONDS: code REQUEST_TIMEOUT.",
          "409": "Conflict with current data (e.g. the key exists): code ALREADY_EXISTS or CONFLICT."}
LOGIN = {"401": "Wrong username or password: code INVALID_CREDENTIALS.",
         "429": "The username is locked after repeated failures: code LOGIN_LOCKED, Retry-After set."}


def _error_response(description: str) -> OpenAPIResponse:
    return OpenAPIResponse(
        description=description,
        content={"application/json": OpenAPIMediaType(schema=Reference(ref="#/components/schemas/ErrorBody"))},
    )


def document_lazily(app: Litestar, *rewrites: Callable[[OpenAPI], object]) -> None:
    """Apply ``rewrites`` to the app's OpenAPI document once, right after Litestar builds it.

    Litestar builds the document on first use and caches it. Building it when the app is
    created took half of ``create_app`` (0.3 s on a 2-core machine), paid by every test app
    and by every worker start. Whatever reads the document (``app.openapi_schema``, the
    ``/schema`` routes) asks the OpenAPI plugin's ``provide_openapi``. Litestar offers no
    hook after the build and the plugin has ``__slots__``, so the app's plugin becomes an
    instance of a subclass whose ``provide_openapi`` rewrites what it built.
    """
    plugin = next(p for p in app.plugins if type(p).__name__ == "OpenAPIPlugin")
    base = type(plugin)

    class DocumentedOpenAPIPlugin(base):  # type: ignore[misc, valid-type]
        __slots__ = ()  # the same layout, so an existing instance can take the class

        def provide_openapi(self) -> OpenAPI:
            built = self._openapi is None
            schema = super().provide_openapi()
            if built:
                for rewrite in rewrites:
                    rewrite(schema)
            return schema

    plugin.__class__ = DocumentedOpenAPIPlugin


def document_errors(schema: OpenAPI) -> OpenAPI:
    """Rewrite an OpenAPI document's error responses in place and return it."""
    assert schema.components is not None
    schema.components.schemas = dict(schema.components.schemas or {})
    schema.components.schemas["ErrorBody"] = Schema(
        type=OpenAPIType.OBJECT,
        required=["code", "message", "details"],
        properties={
            "code": Schema(type=OpenAPIType.STRING, description="Stable machine-readable code, e.g. VALIDATION_ERROR"),
            "message": Schema(type=OpenAPIType.STRING, description="Human-readable explanation"),
            "details": Schema(description="Structured specifics (field paths, rows, limits) or null"),
        },
    )
    for path, item in (schema.paths or {}).items():
        for method in ("get", "put", "post", "patch", "delete", "head"):
            operation = getattr(item, method)
            if operation is None:
                continue
            wanted = dict(COMMON)
            if path not in PUBLIC_PATHS:
                wanted |= AUTHENTICATED
            if method in {"post", "put", "patch"}:
                wanted |= WRITES
            if path == "/api/v1/auth/token":
                wanted |= LOGIN
            responses = dict(operation.responses or {})
            for status in [s for s in responses if s[0] in "45"]:
                responses[status] = _error_response(wanted.pop(status, responses[status].description))
            responses |= {status: _error_response(text) for status, text in wanted.items()}
            operation.responses = responses
    return schema


def _is_empty(response: OpenAPIResponse) -> bool:
    schemas = [m.schema for m in (response.content or {}).values()]
    return bool(schemas) and all(isinstance(s, Schema) and s.type == OpenAPIType.NULL for s in schemas)


def _binary(description: str, media_types: list[str]) -> OpenAPIResponse:
    schema = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
    return OpenAPIResponse(description=description, content={m: OpenAPIMediaType(schema=schema) for m in media_types})


def document_binary(
    schema: OpenAPI, binary: dict[str, list[str]], text: dict[str, str], raw_bodies: dict[str, list[str]]
) -> OpenAPI:
    """Document operations that answer bytes (``binary``) or text (``text``) instead of JSON,
    answers without a body (handlers returning None), and requests whose body is raw bytes
    read as a stream (``raw_bodies``): Litestar sees no body parameter there and would
    document none."""
    for item in (schema.paths or {}).values():
        for method in ("get", "put", "post", "patch", "delete", "head", "options"):
            operation = getattr(item, method)
            if operation is None or operation.operation_id is None:
                continue
            responses = dict(operation.responses or {})
            if operation.operation_id in binary:
                ok = responses.get("200")
                description = ok.description if isinstance(ok, OpenAPIResponse) else "The bytes"
                responses["200"] = _binary(description, binary[operation.operation_id])
            if operation.operation_id in text:
                media_type = text[operation.operation_id]
                ok = responses.get("200")
                description = ok.description if isinstance(ok, OpenAPIResponse) else "The text"
                responses["200"] = OpenAPIResponse(description=description, content={
                    media_type: OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))})
            for response in responses.values():
                # Litestar documents a handler returning None as a JSON null; these send no body.
                if isinstance(response, OpenAPIResponse) and _is_empty(response):
                    response.content = None
            if operation.operation_id in raw_bodies:
                body_schema = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
                operation.request_body = RequestBody(required=True, content={
                    m: OpenAPIMediaType(schema=body_schema) for m in raw_bodies[operation.operation_id]})
            operation.responses = responses
    return schema
