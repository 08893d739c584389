"""Prometheus metrics: requests by route template, GraphQL outcomes, job runs, and their exposition."""

from __future__ import annotations

import uuid
from pathlib import Path

import dramatiq
import httpx
import pytest
from dramatiq.brokers.stub import StubBroker
from dramatiq.middleware import Retries
from graphql import GraphQLError
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from honeydue.errors import Unauthenticated
from honeydue.metrics import record_bytes_streamed, record_upstream_error
from honeydue.settings import Settings
from schema.metrics import GraphQLMetrics, operation_label, outcome
from tests.conftest import attach_test_services, make_settings
from workers.job_metrics import JobMetrics


def scrape(text: str) -> dict[tuple[str, frozenset], float]:
    """Samples of an exposition: (name, labels) -> value."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_api_requests_are_counted_by_route_and_exposed(settings: Settings) -> None:
    from honeydue.app import create_api_app

    app = create_api_app(settings)
    transport = httpx.ASGITransport(app=app)
    async with attach_test_services(app, settings), \
            httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        before = sample("honeydue_http_requests_total", app="api", route="/graphql", method="POST", status="200")
        assert (await http.post("/graphql", json={"query": "{ __typename }"})).status_code == 200
        assert (await http.get("/healthz")).status_code == 200
        missing = f"/no-such-page/{uuid.uuid4().hex}"
        assert (await http.get(missing)).status_code == 404
        response = await http.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples = scrape(response.text)
    key = frozenset({"app": "api", "route": "/graphql", "method": "POST", "status": "200"}.items())
    assert samples[("honeydue_http_requests_total", key)] == before + 1
    assert ("honeydue_http_requests_total",
            frozenset({"app": "api", "route": "/healthz", "method": "GET", "status": "200"}.items())) in samples
    assert ("honeydue_http_requests_total",
            frozenset({"app": "api", "route": "unmatched", "method": "GET", "status": "404"}.items())) in samples
    assert not any(missing in value for _, labels in samples for _, value in labels), "raw path became a label"
    count = ("honeydue_http_request_duration_seconds_count",
             frozenset({"app": "api", "route": "/graphql"}.items()))
    assert samples[count] >= 1


async def test_gateway_labels_media_by_template_not_key(tmp_path: Path) -> None:
    from gateway.app import create_gateway_app

    settings = make_settings(tmp_path)
    app = create_gateway_app(settings)
    key = f"users/{uuid.uuid4()}/profile/{uuid.uuid4()}.jpg"
    async with attach_test_services(app, settings), \
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver") as http:
        before = sample("honeydue_http_requests_total", app="gateway", route="/media/{key:path}", method="GET",
                        status="403")
        assert (await http.get(f"/media/{key}")).status_code == 403  # neither a signed link nor a token
        exposition = (await http.get("/metrics")).text

    samples = scrape(exposition)
    labels = frozenset({"app": "gateway", "route": "/media/{key:path}", "method": "GET", "status": "403"}.items())
    assert samples[("honeydue_http_requests_total", labels)] == before + 1
    assert key not in exposition


def test_schema_counts_operations() -> None:
    from schema import schema

    assert GraphQLMetrics in schema.extensions, "schema/__init__.py must list schema.metrics.GraphQLMetrics"


LOGIN = """mutation($input: LoginInput!) { login(input: $input) { token userErrors { code } } }"""


async def test_graphql_operation_outcomes(api, make_user) -> None:  # type: ignore[no-untyped-def]
    counted = lambda op, result: sample("honeydue_graphql_operations_total", operation=op, outcome=result)  # noqa: E731
    before = {
        "register ok": counted("register", "ok"),
        "login ok": counted("login", "ok"),
        "login user_error": counted("login", "user_error"),
        "me user_error": counted("me", "user_error"),
        "invalid": counted("invalid", "user_error"),
    }
    email = f"metrics-{uuid.uuid4().hex[:8]}@example.com"
    await make_user(email=email, password="correct horse battery")
    good = await api.execute(LOGIN, {"input": {"email": email, "password": "correct horse battery"}})
    assert good["data"]["login"]["token"]
    bad = await api.execute(LOGIN, {"input": {"email": email, "password": "wrong horse battery"}})
    assert bad["data"]["login"]["userErrors"]
    anonymous = await api.execute("{ me { id } }")
    assert anonymous["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    invalid = await api.execute("{ noSuchField }")
    assert invalid["errors"]

    assert counted("register", "ok") == before["register ok"] + 1
    assert counted("login", "ok") == before["login ok"] + 1
    assert counted("login", "user_error") == before["login user_error"] + 1
    assert counted("me", "user_error") == before["me user_error"] + 1
    assert counted("invalid", "user_error") == before["invalid"] + 1


def test_outcome_and_label_rules() -> None:
    from graphql import parse

    internal = GraphQLError("boom", original_error=RuntimeError("bug"))
    refused = GraphQLError("no", original_error=Unauthenticated())
    assert outcome([internal, refused], None) == "error"
    assert outcome([refused], None) == "user_error"
    assert outcome([], {"login": {"userErrors": [{"code": "X"}]}}) == "user_error"
    assert outcome([], {"login": {"userErrors": []}}) == "ok"

    doc = parse("query A { me { id } } query B { b: residences { id } me { id } ...F } fragment F on Query { x }")
    assert operation_label(doc, "A") == "me"
    assert operation_label(doc, "B") == "me,residences,x"
    assert operation_label(parse("{ a b c d }"), None) == "multiple"
    assert operation_label(parse("{ __schema { types { name } } }"), None) == "introspection"


def test_helpers_count_and_refuse_unbounded_labels() -> None:
    before_bytes = sample("honeydue_gateway_bytes_streamed_total")
    before_errors = sample("honeydue_gateway_upstream_errors_total", kind="timeout")
    record_bytes_streamed(1234)
    record_upstream_error("timeout")
    assert sample("honeydue_gateway_bytes_streamed_total") == before_bytes + 1234
    assert sample("honeydue_gateway_upstream_errors_total", kind="timeout") == before_errors + 1
    with pytest.raises(ValueError):
        record_upstream_error("timeout after GET /media/users/1/profile/x.jpg?sig=abc")


def test_job_middleware_counts_runs_and_failures() -> None:
    broker = StubBroker(middleware=[Retries(max_retries=0), JobMetrics()])
    broker.emit_after("process_boot")
    name = f"job_{uuid.uuid4().hex[:8]}"

    @dramatiq.actor(broker=broker, actor_name=name + "_ok")
    def succeeds() -> None:
        return None

    @dramatiq.actor(broker=broker, actor_name=name + "_fails")
    def fails() -> None:
        raise RuntimeError("job failed on purpose")

    worker = dramatiq.Worker(broker, worker_timeout=100)
    worker.start()
    try:
        succeeds.send()
        succeeds.send()
        fails.send()
        broker.join(succeeds.queue_name, fail_fast=False)
        worker.join()
    finally:
        worker.stop()

    assert sample("honeydue_jobs_total", job=name + "_ok", outcome="ok") == 2
    assert sample("honeydue_jobs_total", job=name + "_fails", outcome="failed") == 1
    assert sample("honeydue_job_duration_seconds_count", job=name + "_ok") == 2
