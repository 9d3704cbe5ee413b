"""The OpenTelemetry Python SDK exports over TLS to every OTLP listener,
configured by environment variables only: an `https://` endpoint and
OTEL_EXPORTER_OTLP_CERTIFICATE naming the private CA that signed
Tracehouse's certificate (made here with openssl). Its spans land in the
token's project. Without the CA the export fails and nothing is stored.
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
import time

import pytest

from tracehouse_process import TracehouseProcess, start_tracehouse

HERE = pathlib.Path(__file__).resolve().parent
TOKEN = "thi_" + secrets.token_hex(32)


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True, timeout=60)


def issue(directory: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path, pathlib.Path]:
    """A CA, and a certificate for localhost and 127.0.0.1 it signed: (ca, cert, key)."""
    ca_key, ca = directory / "ca.key", directory / "ca.pem"
    key, request, cert = directory / "key.pem", directory / "server.csr", directory / "cert.pem"
    openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", str(ca_key), "-out", str(ca), "-days", "2", "-subj", "/CN=Tracehouse e2e CA")
    openssl("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", str(key), "-out", str(request), "-subj", "/CN=localhost")
    extensions = directory / "san.cnf"
    extensions.write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", str(request), "-CA", str(ca), "-CAkey", str(ca_key),
            "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(extensions))
    return ca, cert, key


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory):
    work_dir = tmp_path_factory.mktemp("tracehouse-tls")
    ca, cert, key = issue(work_dir)
    digest = hashlib.sha256(TOKEN.encode()).hexdigest()
    config = work_dir / "tracehouse.toml"
    config.write_text(
        f'tls_cert_file = "{cert}"\ntls_key_file = "{key}"\n\n'
        f'[[auth.ingest_tokens]]\nproject = "payments"\ntoken_sha256 = "{digest}"\n'
    )
    server = start_tracehouse(work_dir, ("--config", str(config)), ca_file=ca)
    yield server, ca
    exit_code = server.stop()
    if exit_code != 0:
        pytest.fail(f"tracehouse exited with {exit_code} after SIGTERM\n{server.log_tail()}")
    shutil.rmtree(server.data_dir, ignore_errors=True)


def export_from_env(transport: str, endpoint: str, ca: pathlib.Path | None) -> dict:
    # requests lets REQUESTS_CA_BUNDLE and CURL_CA_BUNDLE override the CA the
    # exporter sets: drop them, so that only the OTEL_* variables decide.
    overriding = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("OTEL_") and name not in overriding
    }
    environment.update(
        {
            "OTEL_SERVICE_NAME": "checkout",
            "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc" if transport == "grpc" else "http/protobuf",
            "OTEL_EXPORTER_OTLP_HEADERS": f"x-tracehouse-token={TOKEN}",
            "OTEL_EXPORTER_OTLP_TIMEOUT": "5",
        }
    )
    if ca is not None:
        environment["OTEL_EXPORTER_OTLP_CERTIFICATE"] = str(ca)
    completed = subprocess.run(
        [sys.executable, str(HERE / "export_from_env.py"), transport],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    sent = json.loads(completed.stdout.strip().splitlines()[-1])
    sent["stderr"] = completed.stderr[-2000:]
    return sent


def spans(server: TracehouseProcess, trace_id: str, project: str | None = None) -> int:
    where = f"trace_id = unhex('{trace_id}')"
    if project is not None:
        where += f" AND project = '{project}'"
    return server.clickhouse_count(f"SELECT count() FROM spans WHERE {where}")


@pytest.mark.parametrize("transport", ["grpc", "http"])
def test_the_sdk_exports_over_tls_with_the_ca_from_env(tls_server, transport):
    server, ca = tls_server
    endpoint = server.otlp_grpc_url if transport == "grpc" else server.otlp_http_url
    assert endpoint.startswith("https://"), endpoint
    untrusted = export_from_env(transport, endpoint, None)
    assert not untrusted["exported"], untrusted
    sent = export_from_env(transport, endpoint, ca)
    assert sent["exported"], sent
    deadline = time.monotonic() + 20
    while spans(server, sent["trace_id"], "payments") < 1:
        if time.monotonic() > deadline:
            raise TimeoutError(f"trace {sent['trace_id']} not stored\n{server.log_tail()}")
        time.sleep(0.2)
    # Sent before the trusted export, so it would be stored by now.
    assert spans(server, untrusted["trace_id"]) == 0
