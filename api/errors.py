"""One table from errors to responses: every failure leaves as ``{"code","message","details"}``.

Controllers raise :class:`ApiError` subclasses; framework, database and domain exceptions are
translated here and nowhere else.
"""

from __future__ import annotations

import logging
import re
from typing import Any

import evidence
import msgspec
import sampling
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from sqlalchemy.exc import DataError, IntegrityError

from api.bodies import body_timed_out
from api.db import database_unavailable
from scoring import CatalogError, InputError, SchemeError

__all__ = [
    "ApiError",
    "BadRequest",
    "Conflict",
    "ErrorBody",
    "EvidenceBytesMissing",
    "Forbidden",
    "Gone",
    "NotFound",
    "PayloadTooLarge",
    "PreconditionFailed",
    "RequestTimeout",
    "TooManyRequests",
    "Unauthorized",
    "UnsupportedMediaType",
    "ValidationFailed",
    "exception_handlers",
    "field_error",
    "validation_details",
]

log = logging.getLogger("spotcheck.errors")


class ErrorBody(msgspec.Struct, frozen=True):
    """The error shape of every non-2xx response."""

    code: str
    message: str
    details: Any = None


class ApiError(Exception):
    status_code = 400
    code = "BAD_REQUEST"

    def __init__(
        self,
        message: str,
        *,
        details: Any = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers or {}
        if code:
            self.code = code


class BadRequest(ApiError):
    pass


class ValidationFailed(ApiError):
    status_code = 422
    code = "VALIDATION_ERROR"


class Unauthorized(ApiError):
    status_code = 401
    code = "UNAUTHORIZED"


class Forbidden(ApiError):
    status_code = 403
    code = "FORBIDDEN"


class NotFound(ApiError):
    status_code = 404
    code = "NOT_FOUND"


class RequestTimeout(ApiError):
    status_code = 408
    code = "REQUEST_TIMEOUT"


class Conflict(ApiError):
    status_code = 409
    code = "CONFLICT"


class Gone(ApiError):
    status_code = 410
    code = "GONE"


class EvidenceBytesMissing(Gone):
    """A record cites stored bytes (a photo, a thumbnail) that are no longer in the store.

    410, not 500 or 503: the request was right and the server did not crash, and no retry
    will bring the bytes back; only an operator can (from a backup). ``no-store`` keeps a
    cache from answering 410 after the file is restored.
    """

    code = "EVIDENCE_BYTES_MISSING"

    def __init__(self, sha256: str | None, **context: str) -> None:
        what = "is damaged in" if "damaged" in context else "is missing from"
        super().__init__(
            f"The stored file of this evidence {what} the evidence store; an administrator should "
            "restore it from backup and re-verify the ledger (spotcheck ledger verify).",
            details={"sha256": sha256, **context},
            headers={"Cache-Control": "no-store"},
        )


class PreconditionFailed(ApiError):
    status_code = 412
    code = "PRECONDITION_FAILED"


class PayloadTooLarge(ApiError):
    status_code = 413
    code = "PAYLOAD_TOO_LARGE"


class UnsupportedMediaType(ApiError):
    status_code = 415
    code = "UNSUPPORTED_MEDIA_TYPE"


class TooManyRequests(ApiError):
    status_code = 429
    code = "TOO_MANY_REQUESTS"


# Framework HTTP errors by status: the stable code and the message we show.
HTTP_CODES: dict[int, tuple[str, str]] = {
    400: ("BAD_REQUEST", "The request is malformed."),
    401: ("UNAUTHORIZED", "Authentication required: send a valid bearer token."),
    403: ("FORBIDDEN", "Your role may not do this."),
    404: ("NOT_FOUND", "No such resource."),
    405: ("METHOD_NOT_ALLOWED", "This method is not allowed here."),
    408: ("REQUEST_TIMEOUT", "The request took too long to arrive."),
    413: ("PAYLOAD_TOO_LARGE", "The request body is too large."),
    415: ("UNSUPPORTED_MEDIA_TYPE", "Unsupported content type."),
    429: ("TOO_MANY_REQUESTS", "Too many requests; retry later."),
}



def _respond(status: int, body: ErrorBody, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(
        content=msgspec.json.encode(body),
        status_code=status,
        media_type=MediaType.JSON,
        headers=headers,
    )


# msgspec names a missing or unknown field only in its message, and our bodies' own checks
# (``__post_init__``) start theirs with the field's name: the path then points at the field.
_NAMED_FIELD = re.compile(r"^(?:Object (?:missing required|contains unknown) field `(?P<named>[^`]+)`|`(?P<checked>[^`]+)` )")


def field_error(path: str, message: str) -> dict[str, str]:
    """One entry of a 422's ``details``: the JSON path of the field at fault, and why."""
    if message == "'data'":  # Litestar's words for a body that is not there at all
        return {"path": "$", "message": "A JSON body is required."}
    named = _NAMED_FIELD.match(message)
    if named:
        path = f"{path}.{named['named'] or named['checked']}"
    return {"path": path, "message": message}


def validation_details(exc: msgspec.ValidationError, prefix: str = "$") -> list[dict[str, str]]:
    """A msgspec validation error (``"… - at `$.a.b`"``) as ``[{"path","message"}]``, its path
    under ``prefix``."""
    message, _, at = str(exc).partition(" - at `")
    path = at.rstrip("`") or "$"
    return [field_error(prefix + path[1:], message)]


def _field_errors(exc: ValidationException) -> list[dict[str, str]]:
    """Litestar's validation extras as ``[{"path","message"}]``: body fields as JSON paths
    (``$.a.b[0]``), parameters as ``query.limit`` / ``path.code`` / ``header.x``."""
    errors: list[dict[str, str]] = []
    extra = exc.extra if isinstance(exc.extra, list) else []
    for item in extra:
        if not isinstance(item, dict):
            continue
        message = str(item.get("message", "")).split(" - at `")[0]
        key, source = item.get("key"), item.get("source")
        # Litestar's ParamType is a str enum, which Python 3.11 formats as "ParamType.QUERY".
        source = getattr(source, "value", source)
        if source == "body" or key == "data" or (key or "").startswith("data"):
            errors.append(field_error("$" if key in (None, "", "data") else f"$.{key}", message))
        else:
            errors.append({"path": (f"{source}.{key}" if source else str(key)) if key else "$", "message": message})
    return errors


# Litestar names a missing parameter only in its detail, without extras.
_MISSING_PARAMETER = re.compile(r"^Missing required (?P<source>\w+) parameter '(?P<name>[^']+)'")


def _validation_handler(_: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    errors = _field_errors(exc)
    missing = _MISSING_PARAMETER.match(str(exc.detail)) if not errors else None
    if missing:
        errors = [{"path": f"{missing['source'].lower()}.{missing['name']}", "message": "required"}]
    summary = "; ".join(f"{e['path']}: {e['message']}" for e in errors[:3]) or str(exc.detail)
    return _respond(422, ErrorBody("VALIDATION_ERROR", f"Invalid input: {summary}", errors))


def _api_error_handler(_: Request[Any, Any, Any], exc: ApiError) -> Response[Any]:
    return _respond(exc.status_code, ErrorBody(exc.code, exc.message, exc.details), exc.headers)


def _caused_by_decoding(exc: BaseException) -> bool:
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, (msgspec.DecodeError, SerializationException)):
            return True
        cause = cause.__cause__
    return False


DISCONNECTED = "client disconnected prematurely"
"""Litestar's detail when the body ends in a disconnect (api.bodies fakes one for a stall)."""


def interrupted_body(request: Request[Any, Any, Any]) -> ApiError:
    """The error for a body cut off mid-way: 408 if it stalled, else 400 (nobody is listening)."""
    if body_timed_out(request.scope):
        return RequestTimeout("The request body stalled; send it again.", code="REQUEST_TIMEOUT")
    return BadRequest("The request body was interrupted before it was complete.", code="UPLOAD_INTERRUPTED")


def _http_handler(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    status = exc.status_code
    if status == 500 and exc.detail == DISCONNECTED:  # the client's doing, not a server error
        return _api_error_handler(request, interrupted_body(request))
    if status >= 500:
        log.error("http error %s: %s", status, exc.detail)
        return _respond(status, ErrorBody("SERVER_ERROR", "The server could not complete the request."))
    if status == 400 and _caused_by_decoding(exc):
        return _respond(400, ErrorBody("MALFORMED_JSON", f"The request body is not valid JSON: {exc.detail}"))
    code, default_message = HTTP_CODES.get(status, ("HTTP_ERROR", "The request failed."))
    message = default_message
    # Litestar's own 4xx texts are safe to show and often more precise (e.g. which limit).
    if exc.detail and exc.detail not in {"Bad Request", "Not Found", "Forbidden", "Unauthorized"}:
        message = str(exc.detail)
    details = None
    if status == 413 and (limit := _body_limit(request)) is not None:
        # Said in bytes, so a client can split what it sends (a sync batch) to fit.
        message = f"The request body is larger than the {limit:,} bytes this endpoint takes."
        details = {"limit_bytes": limit}
    return _respond(status, ErrorBody(code, message, details), dict(exc.headers or {}))


def _body_limit(request: Request[Any, Any, Any]) -> int | None:
    # No handler when no route matched (an unknown path): then no limit to name.
    resolve = getattr(request.scope.get("route_handler"), "resolve_request_max_body_size", None)
    limit = resolve() if resolve is not None else None
    return limit if isinstance(limit, int) else None


def _document_handler(_: Request[Any, Any, Any], exc: CatalogError | SchemeError) -> Response[Any]:
    # A catalog or scheme document is refused at the node the library names.
    kind = "catalog" if isinstance(exc, CatalogError) else "scheme"
    body = ErrorBody("VALIDATION_ERROR", f"Invalid {kind}: {exc.path}: {exc.message}",
                     [{"path": exc.path, "message": exc.message}])
    return _respond(422, body)


def _scoring_input_handler(_: Request[Any, Any, Any], exc: InputError) -> Response[Any]:
    # A finding or measurement the catalog's rules cannot take; ``ref`` names the record.
    body = ErrorBody("SCORING_INPUT_INVALID", f"Cannot be scored: {exc.message}",
                     {"ref": exc.ref, "message": exc.message})
    return _respond(422, body)


def _integrity_handler(_: Request[Any, Any, Any], exc: IntegrityError) -> Response[Any]:
    # Checked constraints are validated before writing; what reaches here is a race between
    # two writers on a unique key or a reference removed meanwhile.
    log.info("integrity error: %s", exc.orig)
    return _respond(409, ErrorBody("CONFLICT", "The change conflicts with the current data; reload and retry."))


def _data_handler(_: Request[Any, Any, Any], exc: DataError) -> Response[Any]:
    # A value the database refuses (out of range, bad encoding): bad input, never a 500.
    # Validation should have caught it first, so it is logged for a root-cause fix.
    log.warning("database refused a value: %s", exc.orig)
    return _respond(422, ErrorBody("INVALID_VALUE", "A value is out of the range the service accepts."))


def _unavailable_handler(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.warning("database unavailable: %s", type(exc).__name__)
    body = ErrorBody("SERVICE_UNAVAILABLE", "The database is unavailable; retry shortly.")
    return _respond(503, body, {"Retry-After": "5"})


# Domain errors of the pure libraries: status by class (first match; subclasses first),
# code from the library's own code unless renamed below.
DOMAIN_STATUS: dict[type[Exception], int] = {
    sampling.SeedCommitmentMismatch: 409,
    sampling.SamplingError: 422,
    evidence.UnsupportedFormat: 415,
    evidence.CorruptImage: 422,
    evidence.ImageTooLarge: 422,
    evidence.BlobTooLarge: 413,
    evidence.ChecksumMismatch: 422,
    evidence.StorageFull: 507,
    evidence.StorageError: 503,
    evidence.EvidenceError: 422,
}
DOMAIN_CODES: dict[type[Exception], str] = {evidence.BlobTooLarge: "PAYLOAD_TOO_LARGE"}
# Attributes of domain errors that clients may act on, passed on as details.
_DETAIL_ATTRIBUTES = ("expected", "actual", "limit", "pixels")


def _domain_handler(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    status = next(code for kind, code in DOMAIN_STATUS.items() if isinstance(exc, kind))
    message = getattr(exc, "message", str(exc))
    details = getattr(exc, "details", None) or {
        name: value for name in _DETAIL_ATTRIBUTES if (value := getattr(exc, name, None)) is not None
    } or None
    code = next((c for kind, c in DOMAIN_CODES.items() if isinstance(exc, kind)), None)
    code = code or str(getattr(exc, "code", "domain_error")).upper()
    headers = None
    if status >= 500:
        log.error("%s: %s", type(exc).__name__, message)
        headers = {"Retry-After": "30"} if status == 503 else None
    return _respond(status, ErrorBody(code, message, details), headers)


def _bytes_missing_handler(request: Request[Any, Any, Any], exc: EvidenceBytesMissing | evidence.BlobNotFound) -> Response[Any]:
    # Data loss an operator must repair: one ERROR line naming the blob, no stack trace.
    if isinstance(exc, evidence.BlobNotFound):
        exc = EvidenceBytesMissing(exc.sha256)
    log.error("stored file missing: blob %s", exc.details["sha256"], extra={"sha256": exc.details["sha256"],
              **{k: v for k, v in exc.details.items() if k != "sha256"}})
    return _api_error_handler(request, exc)


def _raised_decoding_the_body(exc: BaseException) -> bool:
    """Whether ``exc`` came out of Litestar decoding a JSON body. msgspec raises
    UnicodeDecodeError for invalid UTF-8 inside a string and RecursionError for nesting past
    its limit, not its DecodeError, and Litestar passes both on."""
    trace = exc.__traceback__
    while trace is not None:
        if trace.tb_frame.f_code.co_name == "decode_json" and "litestar" in trace.tb_frame.f_code.co_filename:
            return True
        trace = trace.tb_next
    return False


def _internal_handler(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    # Database errors land here too: the ones meaning "out of reach for now" are a 503.
    if database_unavailable(exc):
        return _unavailable_handler(request, exc)
    if isinstance(exc, (UnicodeDecodeError, RecursionError)) and _raised_decoding_the_body(exc):
        why = "it is not valid UTF-8" if isinstance(exc, UnicodeDecodeError) else "it nests too deeply"
        return _respond(400, ErrorBody("MALFORMED_JSON", f"The request body is not valid JSON: {why}."))
    # The trace goes to the log, never to the client.
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return _respond(500, ErrorBody("INTERNAL_ERROR", "An unexpected error occurred; it has been logged."))


exception_handlers: dict[type[Exception] | int, Any] = {
    ApiError: _api_error_handler,
    EvidenceBytesMissing: _bytes_missing_handler,
    evidence.BlobNotFound: _bytes_missing_handler,
    sampling.SamplingError: _domain_handler,
    CatalogError: _document_handler,
    SchemeError: _document_handler,
    InputError: _scoring_input_handler,
    evidence.EvidenceError: _domain_handler,
    ValidationException: _validation_handler,
    HTTPException: _http_handler,
    IntegrityError: _integrity_handler,
    DataError: _data_handler,
    Exception: _internal_handler,
}
