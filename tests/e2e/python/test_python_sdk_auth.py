"""The OpenTelemetry Python SDK authenticates with an ingest token set only
through OTEL_EXPORTER_OTLP_HEADERS, over OTLP/gRPC and OTLP/HTTP: its spans
land in the token's project. With a wrong token the export fails and
nothing is stored.

Each export runs in a child Python process whose exporter is built without
arguments, so the endpoint, protocol and headers come from the environment
exactly as in a deployed function.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import secrets
import shutil
import subprocess
import sys

import pytest

from tracehouse_process import TracehouseProcess, start_tracehouse

HERE = pathlib.Path(__file__).resolve().parent
PAYMENTS_TOKEN = "thi_" + secrets.token_hex(32)
SEARCH_TOKEN = "thi_" + secrets.token_hex(32)


def token_entry(project: str, token: str) -> str:
    digest = hashlib.sha256(token.encode()).hexdigest()
    return f'[[auth.ingest_tokens]]\nproject = "{project}"\ntoken_sha256 = "{digest}"\n\n'


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> TracehouseProcess:
    work_dir = tmp_path_factory.mktemp("tracehouse-auth")
    config = work_dir / "tracehouse.toml"
    config.write_text(token_entry("payments", PAYMENTS_TOKEN) + token_entry("search", SEARCH_TOKEN))
    server = start_tracehouse(work_dir, ("--config", str(config)))
    yield server
    exit_code = server.stop()
    if exit_code != 0:
        pytest.fail(f"tracehouse exited with {exit_code} after SIGTERM\n{server.log_tail()}")
    shutil.rmtree(server.data_dir, ignore_errors=True)


def export_from_env(transport: str, endpoint: str, headers: str) -> dict:
    environment = {name: value for name, value in os.environ.items() if not name.startswith("OTEL_")}
    environment.update(
        {
            "OTEL_SERVICE_NAME": "checkout",
            "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc" if transport == "grpc" else "http/protobuf",
            "OTEL_EXPORTER_OTLP_HEADERS": headers,
            # A refused export is not retried for long.
            "OTEL_EXPORTER_OTLP_TIMEOUT": "5",
        }
    )
    completed = subprocess.run(
        [sys.executable, str(HERE / "export_from_env.py"), transport],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(completed.stdout.strip().splitlines()[-1])


def spans_in(server: TracehouseProcess, project: str | None, trace_id: str) -> int:
    where = f"trace_id = unhex('{trace_id}')"
    if project is not None:
        where += f" AND project = '{project}'"
    return server.clickhouse_count(f"SELECT count() FROM spans WHERE {where}")


def wait_for_span(server: TracehouseProcess, project: str, trace_id: str) -> None:
    import time

    deadline = time.monotonic() + 20
    while spans_in(server, project, trace_id) < 1:
        if time.monotonic() > deadline:
            raise TimeoutError(f"trace {trace_id} not stored in {project}\n{server.log_tail()}")
        time.sleep(0.2)


# Both header forms a deployment may use: a bearer token (the space
# percent-encoded, as the OTLP exporter specification writes it) and the
# custom header for exporters that cannot set Authorization.
CASES = [
    ("grpc", "payments", f"authorization=Bearer%20{PAYMENTS_TOKEN}"),
    ("grpc", "search", f"x-tracehouse-token={SEARCH_TOKEN}"),
    ("http", "payments", f"x-tracehouse-token={PAYMENTS_TOKEN}"),
    ("http", "search", f"authorization=Bearer%20{SEARCH_TOKEN}"),
]


@pytest.mark.parametrize(("transport", "project", "headers"), CASES)
def test_token_from_env_writes_into_its_project(secured, transport, project, headers):
    endpoint = secured.otlp_grpc_url if transport == "grpc" else secured.otlp_http_url
    sent = export_from_env(transport, endpoint, headers)
    assert sent["exported"], sent
    wait_for_span(secured, project, sent["trace_id"])
    assert spans_in(secured, None, sent["trace_id"]) == spans_in(secured, project, sent["trace_id"])


@pytest.mark.parametrize("transport", ["grpc", "http"])
def test_wrong_token_fails_and_stores_nothing(secured, transport):
    endpoint = secured.otlp_grpc_url if transport == "grpc" else secured.otlp_http_url
    refused = export_from_env(transport, endpoint, "authorization=Bearer%20thi_wrong")
    assert not refused["exported"], refused
    # A valid export after the refused one: once it is stored, the refused
    # one would have been too.
    accepted = export_from_env(transport, endpoint, f"x-tracehouse-token={PAYMENTS_TOKEN}")
    assert accepted["exported"], accepted
    wait_for_span(secured, "payments", accepted["trace_id"])
    assert spans_in(secured, None, refused["trace_id"]) == 0
    label = f'tracehouse_otlp_requests_total{{signal="traces",transport="{transport}",outcome="unauthenticated"}}'
    assert secured.metric(label) >= 1
