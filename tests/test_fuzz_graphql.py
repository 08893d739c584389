"""GraphQL fuzzing of a real ``honeydue serve`` with hypothesis-graphql: valid documents, arbitrary arguments.

Every generated query and mutation is schema-valid (hypothesis-graphql builds them from the exported SDL),
with arbitrary strings, numbers, enums and IDs as arguments, sent anonymously and with a bearer token.
Whatever arrives, the server must answer it as a client error at worst: never a 5xx, never an error with
``extensions.code == "INTERNAL"`` (an unhandled exception), and never hang. The time bound is a hang
detector, not a speed target: it is far above any honest answer on this machine.

The runs are derandomized with a fixed number of examples, so CI tries the same documents every time.
The authenticated mutation run leaves out ``logout``, ``deleteAccount`` and ``changePassword`` (which
would end the session the run depends on); ``register``/``login`` run anonymously, where they belong.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import mutations, nodes, queries

from schema import schema as honeydue_schema
from tests.conftest import ServeProcess

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

HANG_BOUND_SECONDS = 5.0
# Anonymous runs are cheaper to cover (most documents stop at UNAUTHENTICATED) but register/login hash a
# password each: fewer examples there keep the file within its time budget.
EXAMPLES, ANONYMOUS_EXAMPLES = 100, 50
SDL = honeydue_schema.as_str()
SESSION_ENDING = {"logout", "deleteAccount", "changePassword"}
ALL_MUTATIONS = set(honeydue_schema._schema.mutation_type.fields)  # type: ignore[attr-defined]

# Dates and times are sometimes real, sometimes junk: both must be answered without an exception.
CUSTOM_SCALARS = {
    "Date": st.one_of(st.dates().map(lambda d: d.isoformat()), st.text(max_size=12)).map(nodes.String),
    "DateTime": st.one_of(st.datetimes().map(lambda d: d.isoformat() + "Z"), st.text(max_size=30)).map(nodes.String),
}
FUZZ = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                suppress_health_check=list(HealthCheck))
FUZZ_ANONYMOUS = settings(FUZZ, max_examples=ANONYMOUS_EXAMPLES)


@pytest.fixture(scope="module")
def http(honeydue_serve: ServeProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=honeydue_serve.base_url, timeout=HANG_BOUND_SECONDS * 4) as client:
        yield client


@pytest.fixture(scope="module")
def token(http: httpx.Client) -> str:
    """A user with a residence and a task, so authenticated fuzzing reaches past the empty cases."""
    body = http.post("/graphql", json={
        "query": "mutation($i: RegisterInput!) { register(input: $i) { token } }",
        "variables": {"i": {"email": f"fuzz-{uuid.uuid4().hex[:8]}@example.com",
                            "password": "correct horse battery", "displayName": "Fuzz"}}}).json()
    bearer = body["data"]["register"]["token"]
    headers = {"Authorization": f"Bearer {bearer}"}
    rid = http.post("/graphql", headers=headers, json={
        "query": "mutation { createResidence(input: {name: \"Fuzz\"}) { residence { id } } }"}
    ).json()["data"]["createResidence"]["residence"]["id"]
    http.post("/graphql", headers=headers, json={
        "query": "mutation($r: ID!) { createTask(input: {residenceId: $r, title: \"T\", frequency: WEEKLY, "
                 "dueDate: \"2020-01-01\"}) { task { id } } }", "variables": {"r": rid}})
    return bearer


def check(http: httpx.Client, document: str, bearer: str | None) -> None:
    headers = {"Authorization": f"Bearer {bearer}"} if bearer else {}
    started = time.monotonic()
    response = http.post("/graphql", json={"query": document}, headers=headers)
    elapsed = time.monotonic() - started
    assert response.status_code < 500, (document, response.status_code, response.text)
    assert elapsed < HANG_BOUND_SECONDS, (document, elapsed)
    if response.status_code == 200:
        codes = [(e.get("extensions") or {}).get("code") for e in response.json().get("errors") or []]
        assert "INTERNAL" not in codes, (document, response.text)


def test_queries_anonymous(http: httpx.Client) -> None:
    @FUZZ_ANONYMOUS
    @given(queries(SDL, custom_scalars=CUSTOM_SCALARS))
    def run(document: str) -> None:
        check(http, document, None)

    run()


def test_queries_authenticated(http: httpx.Client, token: str) -> None:
    @FUZZ
    @given(queries(SDL, custom_scalars=CUSTOM_SCALARS))
    def run(document: str) -> None:
        check(http, document, token)

    run()


def test_mutations_anonymous(http: httpx.Client) -> None:
    @FUZZ_ANONYMOUS
    @given(mutations(SDL, custom_scalars=CUSTOM_SCALARS))
    def run(document: str) -> None:
        check(http, document, None)

    run()


def test_mutations_authenticated(http: httpx.Client, token: str) -> None:
    @FUZZ
    @given(mutations(SDL, fields=sorted(ALL_MUTATIONS - SESSION_ENDING), custom_scalars=CUSTOM_SCALARS))
    def run(document: str) -> None:
        check(http, document, token)

    run()
    still_valid = http.post("/graphql", json={"query": "{ me { id } }"}, headers={"Authorization": f"Bearer {token}"})
    assert "errors" not in still_valid.json()
