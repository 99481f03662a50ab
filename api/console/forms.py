"""Console forms: read a posted form into the API's own request Struct (so its constraints
apply unchanged) and turn a refusal into a message on the next page."""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec
from litestar import Request
from sqlalchemy.ext.asyncio import AsyncSession

from api.console.i18n import Translator
from api.console.render import error_body, redirect, translator
from api.errors import ErrorBody, ValidationFailed, validation_details

__all__ = ["failed", "form_values", "parse", "succeeded"]

T = TypeVar("T")


async def form_values(request: Request[Any, Any, Any]) -> dict[str, Any]:
    """The posted fields (the CSRF token left out); repeated fields as lists, blanks dropped."""
    form = await request.form()
    values: dict[str, Any] = {}
    for key in form.keys():
        if key == "_csrf_token":
            continue
        items = [v.strip() for v in form.getall(key) if isinstance(v, str) and v.strip()]
        if items:
            values[key] = items if len(items) > 1 or key.endswith("_ids") else items[0]
    return values


def parse(values: dict[str, Any], kind: type[T]) -> T:
    """``values`` as ``kind`` (strings converted: "0.5" is a float); 422 naming the field."""
    try:
        return msgspec.convert(values, kind, strict=False)
    except msgspec.ValidationError as exc:
        raise ValidationFailed(f"Invalid input: {exc}", details=validation_details(exc)) from None


def _message(t: Translator, body: ErrorBody) -> str:
    label = t(f"error.{body.code}") if t.has(f"error.{body.code}") else t("error.other")
    return f"{label}: {body.message}"


async def failed(request: Request[Any, Any, Any], db: AsyncSession, exc: Exception, back: str) -> Any:
    """Undo the transaction and go back with the refusal: the code the API's error table
    gives it (translated) and its message as the API words it."""
    await db.rollback()
    _, body = error_body(request, exc)
    return redirect(back, flash=("error", _message(translator(request), body)))


def succeeded(request: Request[Any, Any, Any], back: str, key: str, **values: Any) -> Any:
    return redirect(back, flash=("ok", translator(request)(key, **values)))
