"""The OpenAPI document states the real contract: our error body, bytes where bytes are sent.

The document is built lazily (api.openapi.document_lazily); these tests check that the
rewrites are applied whichever way it is first read: served, or asked of the app.
"""

from __future__ import annotations

from api.app import create_app

ORIGINAL = "/api/v1/evidence/{evidence_id}/original"


def _check(document: dict) -> None:
    assert document["components"]["schemas"]["ErrorBody"]["required"] == ["code", "message", "details"]
    create = document["paths"]["/api/v1/findings"]["post"]["responses"]
    for status in ("400", "401", "403", "409", "413", "422", "503"):
        assert create[status]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}, status
    # A repeat is a 200 with the stored record; an unchanged task list a bodiless 304.
    assert create["200"]["content"]["application/json"]["schema"] == create["201"]["content"]["application/json"]["schema"]
    assert "200" in document["paths"]["/api/v1/tasks/{task_id}/check-ins"]["post"]["responses"]
    assert "content" not in document["paths"]["/api/v1/me/tasks"]["get"]["responses"]["304"]
    original = document["paths"][ORIGINAL]["get"]["responses"]["200"]["content"]
    assert set(original) == {"image/jpeg", "image/png", "image/webp", "image/heic", "image/heif"}
    assert original["image/jpeg"]["schema"] == {"type": "string", "format": "binary"}


async def test_the_served_document_states_our_error_body_and_binary_answers(client):
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    _check(response.json())


def test_the_document_read_from_the_app_is_rewritten_too(settings):
    app = create_app(settings)
    schema = app.openapi_schema
    assert app.openapi_schema is schema  # built once, then cached
    _check(schema.to_schema())
