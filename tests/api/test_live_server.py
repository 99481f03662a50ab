"""End to end against a real uvicorn process: the API fuzzed from its own OpenAPI schema
as every role (schemathesis, fixed budget and seed), and the operations endpoints."""

from __future__ import annotations

from typing import Iterator

import os

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.meta import TestPhase
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance

from tests.conftest import BACKENDS, POSTGRES_URL
from tests.support.server import LiveServer, live_server

ROLES = ["admin", "chief", "inspector", "unit"]
# tus chunks are raw bytes under their own media type.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]
# CI keeps the budget small (its run must stay under 15 minutes on slow 2-core machines): 2
# examples per operation in the fuzzing phase. Schemathesis's coverage phase (boundary and
# negative cases) ignores this number and always runs. A deeper hunt sets e.g.
# SPOTCHECK_FUZZ_EXAMPLES=150 (docs/reliability.md).
FUZZ_EXAMPLES = int(os.environ.get("SPOTCHECK_FUZZ_EXAMPLES", "2"))
# The coverage phase makes 96 % of the cases (5,233 of 5,429 on 2026-11-22): boundary and
# invalid inputs, which only a role the operation's guard lets through gets to validate. In
# CI each such case is sent once, as such a role (learnt per operation from the guard's 403,
# which names the allowed roles); who may call what is the permission matrix's subject
# (tests/api/test_permissions.py). Every other case goes out anonymously and as every role.
# A deeper hunt (SPOTCHECK_FUZZ_EXAMPLES > 2) sends every case as every role.
EVERY_ROLE_EACH_CASE = FUZZ_EXAMPLES > 2
ADMITTED: dict[tuple[str, str], str] = {}
"""(live server URL, operation) -> the first role of ROLES its role guard admits."""


@pytest.fixture(scope="module", params=BACKENDS)
def live(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    with live_server(request.param, tmp_path_factory.mktemp("live"), postgres_url=POSTGRES_URL, name="live") as server:
        yield server


@pytest.fixture(scope="module")
def tokens(live: LiveServer) -> dict[str, str]:
    return {role: live.token(role) for role in ROLES}


@pytest.fixture(scope="module")
def api_schema(live: LiveServer):
    return schemathesis.openapi.from_url(f"{live.url}/schema/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=FUZZ_EXAMPLES, derandomize=True, deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
def test_fuzz_every_endpoint_as_every_role(case, live, tokens):
    """No request, valid or not, from any role or none, gets a 5xx or an off-schema answer."""
    if case.path == "/api/v1/auth/logout":
        return  # would revoke the shared tokens; covered by tests/api/test_auth.py
    def send(role: str | None) -> dict | None:
        headers = {"Authorization": f"Bearer {tokens[role]}"} if role else {}
        response = case.call_and_validate(base_url=live.url, headers=headers, checks=CHECKS)
        if response.status_code >= 400 and case.method.upper() != "HEAD":  # HEAD answers carry no body
            body = response.json()
            assert set(body) == {"code", "message", "details"}, (role, body)
            return body
        return None

    if EVERY_ROLE_EACH_CASE or case.meta.phase.name != TestPhase.COVERAGE:
        for role in [*ROLES, None]:
            send(role)
        return
    operation = (live.url, case.operation.label)
    refused = send(ADMITTED.get(operation, ROLES[0]))
    if refused and refused["code"] == "FORBIDDEN" and isinstance(refused["details"], dict) and "allowed_roles" in refused["details"]:
        # The role guard's answer names who may call: send the case again as the first of them.
        ADMITTED[operation] = next(r for r in ROLES if r in refused["details"]["allowed_roles"])
        send(ADMITTED[operation])


def test_operations_endpoints_and_workers(live):
    assert httpx.get(f"{live.url}/healthz").json() == {"status": "ok"}
    ready = httpx.get(f"{live.url}/readyz").json()
    assert ready["status"] == "ok" and ready["schema_revision"]
    page = httpx.get(f"{live.url}/schema")
    assert page.status_code == 200 and "<html" in page.text.lower()
    # Tokens issued by one worker are honoured by the other (shared secret, stateless app).
    token = live.token("chief")
    statuses = {httpx.get(f"{live.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code for _ in range(20)}
    assert statuses == {200}
