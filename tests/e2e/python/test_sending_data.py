"""The guide docs/sending-data.md, run as printed: its Python snippet, with
each of its variable blocks (OTLP/gRPC and OTLP/HTTP), against a real
Tracehouse. The guide is read here, so a snippet that drifts from what runs
fails this test."""

from __future__ import annotations

import os
import pathlib
import re
import subprocess
import sys
import time

import pytest

GUIDE = pathlib.Path(__file__).resolve().parents[3] / "docs" / "sending-data.md"
WAIT_SECONDS = 30


def guide_block(name: str) -> str:
    """The fenced block after `<!-- tested: NAME -->`."""
    match = re.search(rf"<!-- tested: {re.escape(name)} -->\n```[a-z]*\n(.*?)```", GUIDE.read_text(), re.S)
    assert match, f"no block {name} in {GUIDE}"
    return match.group(1)


def guide_variables(name: str) -> dict[str, str]:
    pairs = (line.removeprefix("export ").split("=", 1) for line in guide_block(name).splitlines() if line.startswith("export "))
    return {key: value for key, value in pairs}


def create_order(tracehouse) -> dict:
    """`create-order` as the function list shows it (zeros when absent)."""
    status, body = tracehouse.get_json("/api/v1/functions?from=now-1h")
    assert status == 200, body
    listed = [function for function in body["functions"] if function["function"] == "create-order"]
    return listed[0] if listed else {"invocations": 0, "cold_starts": 0}


@pytest.mark.parametrize(("block", "default_port"), [("env-grpc", 4317), ("env-http", 4318)])
def test_the_python_snippet_sends_two_invocations(tracehouse, tmp_path, block, default_port):
    variables = guide_variables(block)
    listener = tracehouse.otlp_grpc_url if default_port == 4317 else tracehouse.otlp_http_url
    assert variables["OTEL_EXPORTER_OTLP_ENDPOINT"] == f"http://127.0.0.1:{default_port}"
    variables["OTEL_EXPORTER_OTLP_ENDPOINT"] = listener.rstrip("/")
    environment = {key: value for key, value in os.environ.items() if not key.startswith("OTEL_")}
    before = create_order(tracehouse)

    app = tmp_path / "app.py"
    app.write_text(guide_block("python"))
    run = subprocess.run([sys.executable, str(app)], env=environment | variables, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr

    deadline = time.monotonic() + WAIT_SECONDS
    while (after := create_order(tracehouse))["invocations"] < before["invocations"] + 2:
        assert time.monotonic() < deadline, f"create-order did not gain two invocations: {after}"
        time.sleep(0.2)
    assert after["invocations"] == before["invocations"] + 2, after
    assert after["cold_starts"] == before["cold_starts"] + 1, after
    assert (after["service"], after["provider"], after["region"]) == ("create-order", "aws", "eu-west-1")
    assert (after["arch"], after["memory_mb"]) == ("arm64", 512)
    assert after["cost_usd"] > 0, after
